# amaranth: UnusedElaboratable=no
"""p-bit core RTL throughput: clocks per sweep and updates per clock on G1, wall time on G14.

Run ``python -m bench.pbit_rtl [--units ...] [--measure ...] [--gset DIR] [-o FILE.json]``.
Everything runs through :class:`spinemu.Emulator`. For G1 (800 p-bits, 19176 edges) it reports
the clocks per sweep of the p-bit core and the updates per clock for each of ``--units``
(default U = N = 800, 64 and 8) from ``PBitFabric.cycles_per_sweep`` (the tests check that
formula against simulation clock for clock), and measures the U listed in ``--measure``
(default 64 and 8) on the rtl backend (Verilator): the couplings loaded through the host link,
then an unrecorded anneal of :data:`G1_SWEEPS` sweeps timed by the device's ``busy_clocks``
counter (clocks per sweep as the core runs them, start and finish included) and a recorded
anneal compared with the golden backend (states and energies after every sweep). U = 800 is a
40 MB Verilog design, measured only when asked. For G14 (800 p-bits, 4694 edges) it runs 100
recorded sweeps at U = 16 and records the host time of the anneal and of opening the backend.
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
from spinemu.ising import colour, quantize, read_gset
from spinemu.numeric import derive_seeds

REPO = Path(__file__).resolve().parents[1]
SEED = 0
#: Sweeps of the timed (unrecorded) anneal on G1.
G1_SWEEPS = 3


def problem(path: Path, units: int):
    """The p-bit fabric of a G-set graph and its program (couplings, biases, seeds, state)."""
    ising = read_gset(path).to_ising()
    topology = colour(ising.n, ising.edges)
    config = PBitConfig(update_units=units)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gset", type=Path, default=REPO.parent / "shared" / "data" / "gset")
    parser.add_argument("--units", type=int, nargs="+", default=[800, 64, 8])
    parser.add_argument("--measure", type=int, nargs="+", default=[64, 8],
                        help="unit counts to simulate on G1 (the others are computed)")
    parser.add_argument("-o", "--output", type=Path,
                        default=REPO / "bench/results/pbit_rtl.json")
    args = parser.parse_args()
    console = Console()
    results = {"bench": "pbit_rtl", "machine": machine_info(), "G1": [], "G14": {}}

    table = Table(title="G1: PBitCore clocks per sweep (800 updates)")
    for column in ("U", "colours", "clocks/sweep", "updates/clock", "measured clocks/sweep",
                   "RTL == golden"):
        table.add_column(column, justify="right")
    for units in args.units:
        fabric, program = problem(args.gset / "G1.txt", units)
        per_sweep = fabric.cycles_per_sweep
        row = {"units": units, "colours": fabric.topology.num_colours,
               "cycles_per_sweep": per_sweep, "updates_per_clock": fabric.topology.n / per_sweep}
        if units in args.measure:
            with console.status(f"G1 on Verilator, U = {units}"):
                row["measured"] = rtl_run(fabric, program, [(64, 3)], timed_sweeps=G1_SWEEPS)
        results["G1"].append(row)
        measured = row.get("measured")
        table.add_row(str(units), str(fabric.topology.num_colours), str(per_sweep),
                      f"{row['updates_per_clock']:.3f}",
                      f"{measured['clocks_per_sweep']:.1f}" if measured else "-",
                      ("yes" if measured["match"] else "NO") if measured else "-")
    console.print(table)

    fabric, program = problem(args.gset / "G14.txt", 16)
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
