"""p-bit core RTL throughput: clocks per sweep and updates per clock on G1 and G48, wall time on
G14.

Run ``python -m bench.pbit_rtl [--pairs U:K ...] [--measure U:K ...] [--measure-g48 U:K ...]
[--gset DIR] [-o FILE]``.
Everything runs through :class:`spinemu.Emulator`. For G1 (800 p-bits, 19176 edges) it reports
the clocks per sweep and updates per clock of the p-bit core for each (update units U, update
lanes K) of ``--pairs`` (default :data:`G1_PAIRS`) from ``cycles_per_sweep`` (the
tests check that formula against simulation clock for clock), and measures the pairs of
``--measure`` (default :data:`G1_MEASURED`) on the rtl backend (Verilator): the couplings
loaded through the host link, then an unrecorded anneal of :data:`G1_SWEEPS` sweeps timed by the
device's ``busy_clocks`` counter (clocks per sweep as the core runs them, start and finish
included) and a recorded anneal compared with the golden backend (states and energies after
every sweep). For G48 (3,000 p-bits, 6,000 edges, 2 colours) it computes :data:`G48_PAIRS`
and measures the pairs of ``--measure-g48`` (none by default: a Verilator model of 3,000 p-bits
is slow to build) as it measures G1's; its state reaches the host as 12 slices of 256 bits
(docs/link.md). For G14 (800 p-bits, 4694 edges) it runs 100 recorded sweeps at U = 16
and records the host time of the anneal and of opening the backend.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.machine import machine_info
from spinemu import Emulator, PBitConfig
from spinemu.gateware.pbit_fabric import PBitFabric
from spinemu.hdl.pbit import cycles_per_sweep
from spinemu.ising import colour, quantize, read_gset
from spinemu.numeric import derive_seeds

REPO = Path(__file__).resolve().parents[1]
SEED = 0
#: Sweeps of the timed (unrecorded) anneal on G1.
G1_SWEEPS = 3
#: (U, K) of G1 computed and simulated by default; of G48, computed.
G1_PAIRS = ((800, 1), (64, 1), (8, 1), (128, 4), (128, 8), (128, 16), (128, 32))
G1_MEASURED = ((64, 1), (8, 1), (64, 8))
G48_PAIRS = ((64, 4), (128, 4), (256, 4))


def graph(path: Path):
    """A G-set graph as an Ising problem and its coloured topology (DSATUR)."""
    ising = read_gset(path).to_ising()
    return ising, colour(ising.n, ising.edges)


def problem(ising, topology, units: int, lanes: int = 1):
    """The p-bit fabric of a graph and its program (couplings, biases, seeds, state)."""
    config = PBitConfig(update_units=units, update_lanes=lanes)
    q = quantize(ising, config)
    state0 = np.random.default_rng(SEED).integers(0, 2, topology.n).astype(np.uint8)
    return PBitFabric(config, topology), (q.J, q.h, derive_seeds(SEED, topology.n), state0)


def busy_clocks(emulator: Emulator, run) -> tuple[int, object]:
    """Device clocks in which the fabric was busy during ``run()``, and what it returned."""
    before = emulator.status()["busy_clocks"]
    result = run()
    return (emulator.status()["busy_clocks"] - before) % (1 << 32), result


def rtl_run(fabric: PBitFabric, program, schedule, *, timed_sweeps: int = 0) -> dict:
    """Program the rtl backend; optionally time ``timed_sweeps`` unrecorded sweeps in device
    clocks; then anneal through ``schedule`` recording every sweep, against the golden backend
    given the same program."""
    started = time.perf_counter()
    with Emulator(fabric, "rtl", timeout=60.0) as emulator, Emulator(fabric) as golden:
        opened = time.perf_counter()
        for target in (emulator, golden):
            target.program(*program)
        loaded = time.perf_counter()
        out = {"open_seconds": round(opened - started, 2),
               "load_seconds": round(loaded - opened, 2)}
        if timed_sweeps:
            beta = schedule[0][0]
            clocks, _ = busy_clocks(emulator, lambda: emulator.anneal([(beta, timed_sweeps)]))
            golden.anneal([(beta, timed_sweeps)])
            out.update(timed_sweeps=timed_sweeps, busy_clocks=clocks,
                       clocks_per_sweep=clocks / timed_sweeps)
        began = time.perf_counter()
        run = emulator.anneal(schedule, record_every=1)
        out["anneal_seconds"] = round(time.perf_counter() - began, 2)
        differ = run.differences(golden.anneal(schedule, record_every=1))
    out.update(sweeps=sum(s for _, s in schedule), match=not differ, differ=differ)
    return out


def pair(text: str) -> tuple[int, int]:
    """``"U:K"`` (or ``"U"``, K = 1) as ``(U, K)``."""
    units, _, lanes = text.partition(":")
    return int(units), int(lanes or 1)


def computed(topology, units: int, lanes: int) -> dict:
    """The clocks per sweep and updates per clock of a core of ``units`` and ``lanes``."""
    per_sweep = cycles_per_sweep(topology, units, lanes)
    return {"units": units, "lanes": lanes, "colours": topology.num_colours,
            "cycles_per_sweep": per_sweep, "updates_per_clock": topology.n / per_sweep}


def add_row(table: Table, graph: str, row: dict) -> None:
    measured = row.get("measured")
    table.add_row(graph, str(row["units"]), str(row["lanes"]), str(row["colours"]),
                  str(row["cycles_per_sweep"]), f"{row['updates_per_clock']:.3f}",
                  f"{measured['clocks_per_sweep']:.1f}" if measured else "-",
                  ("yes" if measured["match"] else "NO") if measured else "-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gset", type=Path, default=REPO.parent / "shared" / "data" / "gset")
    parser.add_argument("--pairs", type=pair, nargs="+", default=list(G1_PAIRS),
                        help="U:K (update units and lanes) of G1 to compute")
    parser.add_argument("--measure", type=pair, nargs="+", default=list(G1_MEASURED),
                        help="U:K of G1 to simulate (the others are computed)")
    parser.add_argument("--measure-g48", type=pair, nargs="+", default=[],
                        help="U:K of G48 to simulate (G48_PAIRS and these are computed)")
    parser.add_argument("-o", "--output", type=Path,
                        default=REPO / "bench/results/pbit_rtl.json")
    args = parser.parse_args()
    console = Console()
    results = {"bench": "pbit_rtl", "machine": machine_info(), "G1": [], "G48": [], "G14": {}}

    table = Table(title="PBitCore clocks per sweep (N updates)")
    for column in ("graph", "U", "K", "colours", "clocks/sweep", "updates/clock",
                   "measured clocks/sweep", "RTL == golden"):
        table.add_column(column, justify="right")
    g1 = graph(args.gset / "G1.txt")
    for units, lanes in sorted(set(args.pairs) | set(args.measure)):
        row = computed(g1[1], units, lanes)
        if (units, lanes) in args.measure:
            fabric, program = problem(*g1, units, lanes)
            with console.status(f"G1 on Verilator, U = {units}, K = {lanes}"):
                row["measured"] = rtl_run(fabric, program, [(64, 3)], timed_sweeps=G1_SWEEPS)
        results["G1"].append(row)
        add_row(table, "G1", row)
    g48 = graph(args.gset / "G48.txt")
    for units, lanes in sorted(set(G48_PAIRS) | set(args.measure_g48)):
        row = computed(g48[1], units, lanes)
        if (units, lanes) in args.measure_g48:
            fabric, program = problem(*g48, units, lanes)
            with console.status(f"G48 on Verilator, U = {units}, K = {lanes}"):
                row["measured"] = rtl_run(fabric, program, [(64, 3)], timed_sweeps=G1_SWEEPS)
        results["G48"].append(row)
        add_row(table, "G48", row)
    console.print(table)

    fabric, program = problem(*graph(args.gset / "G14.txt"), 16)
    with console.status("G14: 100 sweeps on Verilator, U = 16"):
        results["G14"] = {"units": 16, **rtl_run(fabric, program, [(64, 50), (128, 50)])}
    g14 = results["G14"]
    console.print(f"G14, U = 16: {g14['sweeps']} recorded sweeps in {g14['anneal_seconds']:.2f} s "
                  f"(open {g14['open_seconds']:.1f} s, load {g14['load_seconds']:.1f} s); "
                  f"RTL == golden: {g14['match']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
