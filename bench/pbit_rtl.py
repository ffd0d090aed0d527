"""p-bit core RTL throughput: clocks per sweep and updates per clock on G1 and G48 beside their
FPGA resources and Fmax, wall time on G14.

Run ``python -m bench.pbit_rtl [--pairs G:U:K ...] [--measure G:U:K ...] [--builds FILE ...]
[--coupling-bits B] [--bias-bits B] [--colouring S] [--reuse FILE] [--gset DIR] [-o FILE]``.
Everything runs through :class:`spinemu.Emulator`. For G1 (800 p-bits, 19,176 edges, 15 DSATUR
colours, 13 with ``--colouring tabu``) and G48 (3,000 p-bits, 6,000 edges, 2 colours) it reports
the clocks per sweep and updates per clock of the p-bit core for each (update units U, update lanes
K) of ``--pairs`` (default :data:`PAIRS`) from ``cycles_per_sweep`` (the tests check that formula
against simulation clock for clock), and measures the pairs of ``--measure`` (default
:data:`MEASURED`) on the rtl backend (Verilator): the program loaded through the host link, then an
unrecorded anneal of :data:`TIMED_SWEEPS` sweeps timed by the device's ``busy_clocks`` counter
(clocks per sweep as the core runs them, start and finish included) and a recorded anneal compared
with the golden backend (states and energies after every sweep). Each row takes its resources and
Fmax from the bench/build records of ``--builds`` (``python -m bench.build --sections pbit``;
default ``bench/results/build.json``) with the same graph, U and K on the ECP5 85F:
LUT/FF/BRAM/DSP, whether it fits, the routed Fmax (or nextpnr's placement estimate when routing did
not finish, marked), and flips per ns = Fmax in GHz x updates per clock. For G14 (800 p-bits, 4694
edges) it runs 100 recorded sweeps at U = 16 and records the host time of the anneal and of opening
the backend.
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
from spinemu.ising import STRATEGIES, colour, quantize, read_gset
from spinemu.numeric import derive_seeds

REPO = Path(__file__).resolve().parents[1]
SEED = 0
#: Sweeps of the timed (unrecorded) anneal.
TIMED_SWEEPS = 3
#: (graph, U, K) computed by default.
PAIRS = (("G1", 800, 1), ("G1", 64, 1), ("G1", 8, 1), ("G1", 64, 8), ("G1", 64, 16),
         ("G1", 64, 32), ("G1", 128, 32), ("G1", 64, 66),
         ("G48", 64, 4), ("G48", 128, 4), ("G48", 256, 4))
#: (graph, U, K) simulated by default (besides being computed).
MEASURED = (("G1", 64, 8), ("G1", 64, 32), ("G48", 128, 4))
#: The device the resources are read for.
BUILD_BOARD = "ulx3s-85f"


def graph(path: Path, strategy: str = "DSATUR"):
    """A G-set graph as an Ising problem and its coloured topology (a ``strategy`` colouring,
    :data:`spinemu.ising.STRATEGIES`)."""
    ising = read_gset(path).to_ising()
    return ising, colour(ising.n, ising.edges, strategy)


def problem(ising, topology, units: int, lanes: int = 1, widths: dict | None = None):
    """The p-bit fabric of a graph and its program (couplings, biases, seeds, state);
    ``widths``: PBitConfig number formats (``coupling_bits``, ``bias_bits``, ...)."""
    config = PBitConfig(update_units=units, update_lanes=lanes, **(widths or {}))
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


def triple(text: str) -> tuple[str, int, int]:
    """``"G:U:K"`` (or ``"G:U"``, K = 1) as ``(graph, U, K)``."""
    name, units, *lanes = text.split(":")
    return name, int(units), int(lanes[0]) if lanes else 1


def computed(topology, units: int, lanes: int) -> dict:
    """The clocks per sweep and updates per clock of a core of ``units`` and ``lanes``."""
    per_sweep = cycles_per_sweep(topology, units, lanes)
    return {"units": units, "lanes": lanes, "colours": topology.num_colours,
            "cycles_per_sweep": per_sweep, "updates_per_clock": topology.n / per_sweep}


def builds(paths, widths: dict, strategy: str = "DSATUR") -> dict:
    """bench/build p-bit records on :data:`BUILD_BOARD` of the number formats ``widths`` and
    the colouring ``strategy`` by ``(graph, U, K)`` (later files win)."""
    found = {}
    for path in paths:
        if path.exists():
            for record in json.loads(path.read_text()).get("pbit", []):
                config = record.get("pbit_config", {})
                if (record.get("board") == BUILD_BOARD and record.get("resources")
                        and record.get("colouring", "DSATUR") == strategy
                        and all(config.get(k, v) == v for k, v in widths.items())):
                    key = (record["graph"], record["units"], record.get("update_lanes", 1))
                    found[key] = record
    return found


def reused(path: Path | None, widths: dict, strategy: str = "DSATUR") -> dict:
    """The measured runs of an earlier output of this bench with the same ``widths`` and
    colouring, by ``(graph, U, K)``."""
    if path is None:
        return {}
    earlier = json.loads(path.read_text())
    if earlier.get("widths", {}) != widths or earlier.get("colouring", "DSATUR") != strategy:
        return {}
    return {(g, row["units"], row["lanes"]): row["measured"]
            for g in ("G1", "G48") for row in earlier.get(g, []) if row.get("measured")}


def fpga(record: dict | None, updates_per_clock: float) -> dict | None:
    """Resources, fit, Fmax (routed, else nextpnr's placement estimate) and flips per ns of a
    build record."""
    if record is None:
        return None
    routed = record.get("fmax_mhz")
    fmax = routed or record.get("placement_fmax_mhz")
    return {"resources": {name: r["used"] for name, r in record["resources"].items()},
            "fits": record.get("fits"), "status": record.get("status"),
            "error": record.get("error"), "fmax_mhz": fmax, "fmax_routed": bool(routed),
            "flips_per_ns": fmax / 1000 * updates_per_clock if fmax else None}


def add_row(table: Table, graph: str, row: dict) -> None:
    measured, build = row.get("measured"), row.get("fpga")
    used = build["resources"] if build else {}
    fmax = (f"{build['fmax_mhz']:.1f}{'' if build['fmax_routed'] else ' (placed)'}"
            if build and build["fmax_mhz"] else "-")
    flips = f"{build['flips_per_ns']:.3f}" if build and build["flips_per_ns"] else "-"
    table.add_row(graph, str(row["units"]), str(row["lanes"]), str(row["colours"]),
                  str(row["cycles_per_sweep"]), f"{row['updates_per_clock']:.2f}",
                  f"{measured['clocks_per_sweep']:.1f}" if measured else "-",
                  ("yes" if measured["match"] else "NO") if measured else "-",
                  *(str(used.get(name, "-")) for name in ("LUT", "FF", "BRAM", "DSP")),
                  ("yes" if build["fits"] else "no") if build else "-", fmax, flips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gset", type=Path, default=REPO.parent / "shared" / "data" / "gset")
    parser.add_argument("--pairs", type=triple, nargs="+", default=list(PAIRS),
                        help="G:U:K (graph, update units and lanes) to compute")
    parser.add_argument("--measure", type=triple, nargs="+", default=list(MEASURED),
                        help="G:U:K to simulate as well")
    parser.add_argument("--builds", type=Path, nargs="+",
                        default=[REPO / "bench/results/build.json"],
                        help="bench/build JSON files to take resources and Fmax from")
    parser.add_argument("--no-g14", action="store_true", help="skip the G14 wall-time run")
    parser.add_argument("--coupling-bits", type=int, default=8,
                        help="coupling_bits of the cores measured and of the builds read "
                             "(default 8; the G-set's +-1 couplings need 2)")
    parser.add_argument("--bias-bits", type=int, default=12,
                        help="bias_bits, likewise (default 12; Max-Cut has no bias: 2)")
    parser.add_argument("--colouring", choices=STRATEGIES, default="DSATUR",
                        help="colouring of G1 and G48 (tabu: fewer colours than DSATUR on G1)")
    parser.add_argument("--reuse", type=Path,
                        help="an earlier output of this bench: its measured runs of the same "
                             "widths and colouring are kept instead of simulated again")
    parser.add_argument("-o", "--output", type=Path,
                        default=REPO / "bench/results/pbit_rtl.json")
    args = parser.parse_args()
    console = Console()
    widths = {"coupling_bits": args.coupling_bits, "bias_bits": args.bias_bits}
    results = {"bench": "pbit_rtl", "machine": machine_info(), "widths": widths,
               "colouring": args.colouring, "G1": [], "G48": [], "G14": {}}
    found = builds(args.builds, widths, args.colouring)
    earlier = reused(args.reuse, widths, args.colouring)

    table = Table(title="PBitCore clocks per sweep (N updates) and the ECP5 85F")
    for column in ("graph", "U", "K", "colours", "clocks/sweep", "updates/clock",
                   "measured clocks/sweep", "RTL == golden", "LUT", "FF", "BRAM", "DSP",
                   "fits", "Fmax MHz", "flips/ns"):
        table.add_column(column, justify="right")
    graphs = {}
    for name, units, lanes in sorted(set(args.pairs) | set(args.measure)):
        if name not in graphs:
            graphs[name] = graph(args.gset / f"{name}.txt", args.colouring)
        row = computed(graphs[name][1], units, lanes)
        row["fpga"] = fpga(found.get((name, units, lanes)), row["updates_per_clock"])
        if (name, units, lanes) in earlier:
            row["measured"] = {**earlier[name, units, lanes], "reused": str(args.reuse)}
        elif (name, units, lanes) in args.measure:
            fabric, program = problem(*graphs[name], units, lanes, widths)
            with console.status(f"{name} on Verilator, U = {units}, K = {lanes}"):
                row["measured"] = rtl_run(fabric, program, [(64, 3)], timed_sweeps=TIMED_SWEEPS)
        results.setdefault(name, []).append(row)
        add_row(table, name, row)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2))
    console.print(table)

    if not args.no_g14:
        fabric, program = problem(*graph(args.gset / "G14.txt"), 16, widths=widths)
        with console.status("G14: 100 sweeps on Verilator, U = 16"):
            results["G14"] = {"units": 16, **rtl_run(fabric, program, [(64, 50), (128, 50)])}
        g14 = results["G14"]
        console.print(f"G14, U = 16: {g14['sweeps']} recorded sweeps in "
                      f"{g14['anneal_seconds']:.2f} s (open {g14['open_seconds']:.1f} s, load "
                      f"{g14['load_seconds']:.1f} s); RTL == golden: {g14['match']}")
    args.output.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
