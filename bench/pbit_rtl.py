"""p-bit core RTL throughput: updates per clock on G1 and cocotb wall time for G14.

Run ``python -m bench.pbit_rtl [--units ...] [--measure ...] [--gset DIR] [-o FILE.json]``.
For G1 (800 p-bits, 19176 edges) it reports the clocks per sweep of the p-bit core and the
updates per clock for each of ``--units`` (default U = N = 800, 64 and 8) from
:func:`cycles_per_sweep` (the tests check that formula against simulation clock for clock), and
measures the U listed in ``--measure`` (default 64 and 8) on Verilator over 3 recorded sweeps.
U = 800 is a 40 MB Verilog design: about 7 minutes to build and 15 to simulate, most of it
loading the 19,176 couplings, so it is measured only when asked (``--measure 800 64 8``; the
results in ``bench/results/pbit_rtl.json`` were). For G14 (800 p-bits, 4694 edges) it runs 100
sweeps at U = 16 under cocotb on Verilator and records the simulator's wall time. Every RTL run
is compared with the golden model, states and energies after every sweep.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.machine import machine_info
from spinemu.config import PBitConfig
from spinemu.hdl.pbit import cycles_per_sweep
from spinemu.ising import colour, quantize, read_gset
from spinemu.sim.golden.pbit import PBitModel, replica_seeds
from spinemu.sim.runner import run_pbit

REPO = Path(__file__).resolve().parents[1]


def problem(path: Path, units: int):
    """Topology, config and integer couplings of a G-set graph as an Ising problem."""
    ising = read_gset(path).to_ising()
    topology = colour(ising.n, ising.edges)
    config = PBitConfig(update_units=units)
    q = quantize(ising, config)
    return topology, config, q.J, q.h


def rtl_run(topology, config, J, h, schedule, simulator="verilator") -> dict:
    seeds = replica_seeds(1, 1, topology.n)[0]
    state0 = np.random.default_rng(0).integers(0, 2, topology.n).astype(np.uint8)
    run = run_pbit(config, topology, J, h, seeds, state0, schedule, simulator=simulator)
    golden = PBitModel(config, topology, J, h).run(schedule, seeds[None], state0[None],
                                                   record=True)
    sweeps = sum(s for _, s in schedule)
    return {
        "sweeps": sweeps, "cycles": run.cycles, "cycles_per_sweep": run.cycles / sweeps,
        "sim_seconds": round(run.sim_seconds, 3), "wall_seconds": round(run.wall_seconds, 2),
        "match": bool((run.states == golden.trajectory[:, 0]).all()
                      and (run.energies == golden.energies[:, 0]).all()),
    }


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
        topology, config, J, h = problem(args.gset / "G1.txt", units)
        per_sweep = cycles_per_sweep(topology, units)
        row = {"units": units, "colours": topology.num_colours, "cycles_per_sweep": per_sweep,
               "updates_per_clock": topology.n / per_sweep}
        if units in args.measure:
            with console.status(f"G1 on Verilator, U = {units}"):
                measured = rtl_run(topology, config, J, h, [(64, 3)])
            # A recorded sweep costs one clock more; the first one also waits for its step.
            row["measured"] = measured
        results["G1"].append(row)
        measured = row.get("measured")
        table.add_row(str(units), str(topology.num_colours), str(per_sweep),
                      f"{row['updates_per_clock']:.3f}",
                      f"{measured['cycles_per_sweep']:.1f}" if measured else "-",
                      ("yes" if measured["match"] else "NO") if measured else "-")
    console.print(table)

    topology, config, J, h = problem(args.gset / "G14.txt", 16)
    with console.status("G14: 100 sweeps on Verilator, U = 16"):
        results["G14"] = {"units": 16, **rtl_run(topology, config, J, h, [(64, 50), (128, 50)])}
    g14 = results["G14"]
    console.print(f"G14, U = 16: 100 sweeps in {g14['cycles']} clocks; cocotb wall time "
                  f"{g14['sim_seconds']:.2f} s clocked, {g14['wall_seconds']:.2f} s with "
                  f"start-up; RTL == golden: {g14['match']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
