"""Simulation speed of the rtl backend before and after a change, measured in one run.

Run ``python -m bench.simspeed [--baseline COMMIT] [--tile-vectors N] [--g14-sweeps N]
[--load G:U:K ...] [--baseline-load] [-o FILE]``. The baseline is ``COMMIT`` of this
repository, exported (``git archive``) into a temporary folder; every probe runs in a process of
its own with ``PYTHONPATH`` on that tree ("before") and then on this one ("after"), so the
simulator subprocesses import the same side as their host, and each side builds (or takes from
the simulator cache) its own Verilator executable. The probes, all through
:class:`spinemu.Emulator` on the ``"rtl"`` backend (Verilator), as users see it:

``tile``
    A 256x256 tile (default widths, 8 lanes, as ``bench/tile.py``), programmed, warmed with a
    2-vector ``vmm``, then ``--tile-vectors`` vectors three times: device clocks (``status()``
    before and after) per host second of each ``vmm``; outputs compared with the golden backend.
``g14``
    G14 (800 p-bits) at U = 16: the program load timed, then a recorded anneal of
    ``--g14-sweeps`` sweeps (B = 64, then 128): device clocks per host second, states and
    energies compared with the golden backend.
``stream``
    (with ``--only stream``) The tile's stream testbench without the host link
    (``runner.run_tile``), 256x256, ``--stream-vectors`` vectors: simulated cycles per host
    second of the clocked part, as the issue's first tile figures were measured. Judged against
    the tile's target for information; the rtl backend is what ``bench/tile.py`` now measures.
``load``
    A large p-bit core (``--load``, default G1 at U = 800): ``program()`` (couplings, biases,
    seeds, state through the link's write regions, as on a board) timed, then one recorded sweep
    compared with the golden backend, which shows the load was right. Before-side runs of these
    take very long on the old code (G1 at U = 800: about 14 minutes of load); they run only
    with ``--baseline-load``.

Issue 12 targets: ``tile`` at least 1.0 M clocks/s, ``g14`` at least 0.5 M clocks/s, ``load``
under 120 s. Writes ``bench/results/simspeed.json`` (layout in ``bench/README.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = "fc7d201"
TARGETS = {"tile": ("clocks_per_second", ">=", 1.0e6), "g14": ("clocks_per_second", ">=", 0.5e6),
           "load": ("load_seconds", "<", 120.0), "stream": ("clocks_per_second", ">=", 1.0e6)}
#: The tree's packages the editable install maps to other folders (pyproject package-dir).
_MAPPED = ("sim", "hdl", "gateware", "boards")
SEED = 1


# Probes: run in a process of their own on one side's tree ---------------------------------


def _status_clocks(emulator, run) -> tuple[float, int, object]:
    """Host seconds and device clocks of ``run()``, and what it returned."""
    before = emulator.status()["clocks"]
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    return seconds, (emulator.status()["clocks"] - before) % (1 << 32), result


def probe_tile(vectors: int) -> dict:
    import numpy as np

    from bench.tile import random_inputs, random_weights, tile_config
    from spinemu import Emulator

    rng = np.random.default_rng(SEED)
    config = tile_config(256, wide=False)
    g = random_weights(config, rng)
    started = time.perf_counter()
    with Emulator(config) as golden, Emulator(config, "rtl", timeout=60.0) as emulator:
        opened = time.perf_counter()
        golden.program(g)
        emulator.program(g)
        loaded = time.perf_counter()
        emulator.vmm(random_inputs(config, 2, rng))
        runs, match = [], True
        for _ in range(3):
            x = random_inputs(config, vectors, rng)
            seconds, clocks, z = _status_clocks(emulator, lambda x=x: emulator.vmm(x))
            match &= bool(np.array_equal(z, golden.vmm(x)))
            runs.append({"seconds": seconds, "clocks": clocks,
                         "clocks_per_second": clocks / seconds})
    rates = sorted(r["clocks_per_second"] for r in runs)
    return {"open_seconds": opened - started, "load_seconds": loaded - opened,
            "vectors": vectors, "runs": runs, "clocks_per_second": rates[1], "match": match}


def probe_stream(vectors: int) -> dict:
    """The tile's stream testbench (``runner.run_tile``: no host link, cocotb stream drivers a
    beat at a time), 256x256, weights written through the streams: simulated cycles per host
    second of the clocked part, as the issue's first figures (0.51 M) were measured."""
    import numpy as np

    from bench.tile import random_inputs, random_weights, tile_config
    from spinemu import Emulator
    from spinemu.sim.runner import run_tile

    rng = np.random.default_rng(SEED)
    config = tile_config(256, wide=False)
    g = random_weights(config, rng)
    x = random_inputs(config, vectors, rng)
    started = time.perf_counter()
    run = run_tile(config, g, x)
    wall = time.perf_counter() - started
    with Emulator(config) as golden:
        golden.program(g)
        match = bool(np.array_equal(run.z, golden.vmm(x)))
    return {"vectors": vectors, "cycles": run.cycles, "sim_seconds": run.sim_seconds,
            "run_seconds": wall, "clocks_per_second": run.cycles_per_second, "match": match}


def _pbit(name: str, units: int, lanes: int):
    from bench.pbit_rtl import graph, problem

    gset = REPO.parent / "shared" / "data" / "gset"
    return problem(*graph(gset / f"{name}.txt"), units, lanes,
                   {"coupling_bits": 8, "bias_bits": 12})


def probe_pbit(name: str, units: int, lanes: int, sweeps: int) -> dict:
    from spinemu import Emulator

    fabric, program = _pbit(name, units, lanes)
    schedule = [(64, sweeps - sweeps // 2), (128, sweeps // 2)] if sweeps > 1 else [(64, 1)]
    started = time.perf_counter()
    with Emulator(fabric, "rtl", timeout=120.0) as emulator, Emulator(fabric) as golden:
        opened = time.perf_counter()
        emulator.program(*program)
        loaded = time.perf_counter()
        golden.program(*program)
        seconds, clocks, run = _status_clocks(
            emulator, lambda: emulator.anneal(schedule, record_every=1))
        differ = run.differences(golden.anneal(schedule, record_every=1))
    return {"graph": name, "units": units, "lanes": lanes, "open_seconds": opened - started,
            "load_seconds": loaded - opened, "sweeps": sweeps, "anneal_seconds": seconds,
            "clocks": clocks, "clocks_per_second": clocks / seconds, "match": not differ,
            "differ": differ}


def probe(args: list[str]) -> dict:
    kind, *rest = args
    if kind == "tile":
        return probe_tile(int(rest[0]))
    if kind == "stream":
        return probe_stream(int(rest[0]))
    name, units, lanes, sweeps = rest
    return probe_pbit(name, int(units), int(lanes), int(sweeps))


# The run: both sides, probe by probe --------------------------------------------------------


def export_baseline(commit: str, folder: Path) -> Path:
    """``commit`` of this repository as a plain tree in ``folder``, its mapped packages linked
    under ``spinemu/`` so that they, not this checkout's (the editable install's mapping), are
    imported with ``PYTHONPATH`` on it."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    for package in _MAPPED:
        (folder / "spinemu" / package).symlink_to(Path("..") / package)
    return folder


def run_probe(tree: Path, args: list[str]) -> dict:
    """One probe on ``tree`` in a fresh interpreter; its JSON (or the error it ended with)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--probe", *args],
                          cwd=tree, env=env, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"error": (done.stderr or done.stdout)[-3000:],
                "wall_seconds": time.perf_counter() - started}
    return {**json.loads(lines[-1]), "wall_seconds": time.perf_counter() - started}


def judge(kind: str, after: dict) -> bool:
    key, relation, value = TARGETS[kind]
    if "error" in after or not after.get("match"):
        return False
    return after[key] >= value if relation == ">=" else after[key] < value


def triple(text: str) -> tuple[str, int, int]:
    name, units, *lanes = text.split(":")
    return name, int(units), int(lanes[0]) if lanes else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", default=BASELINE, help="commit measured as 'before'")
    parser.add_argument("--tile-vectors", type=int, default=20)
    parser.add_argument("--g14-sweeps", type=int, default=20)
    parser.add_argument("--load", type=triple, nargs="*", default=[("G1", 800, 1)],
                        help="G:U:K of the large cores whose load is timed")
    parser.add_argument("--baseline-load", action="store_true",
                        help="time the large cores' load on the baseline too (slow)")
    parser.add_argument("--stream-vectors", type=int, default=200)
    parser.add_argument("--only", nargs="+", choices=("tile", "g14", "load", "stream"),
                        default=["tile", "g14", "load"])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results/simspeed.json")
    parser.add_argument("--table", type=Path, help="print the table of an earlier output, run none")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    if args.probe:  # run as a script: its folder (bench/) is no place to import from
        here = Path(__file__).resolve().parent
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
        print(json.dumps(probe(args.probe)))
        return

    from bench.machine import machine_info

    cases = []
    if "tile" in args.only:
        cases.append(("tile", ["tile", str(args.tile_vectors)], True))
    if "g14" in args.only:
        cases.append(("g14", ["g14", "G14", "16", "1", str(args.g14_sweeps)], True))
    if "stream" in args.only:
        cases.append(("stream", ["stream", str(args.stream_vectors)], True))
    if "load" in args.only:
        cases += [("load", ["load", name, str(units), str(lanes), "1"], args.baseline_load)
                  for name, units, lanes in args.load]
    result = {"bench": "simspeed", "machine": machine_info(), "baseline": args.baseline,
              "targets": TARGETS, "cases": []}
    with tempfile.TemporaryDirectory(prefix="spinemu-baseline-") as folder:
        before_tree = export_baseline(args.baseline, Path(folder))
        for kind, probe_args, with_before in cases:
            case = {"kind": kind, "probe": probe_args}
            if with_before:
                print(f"{kind}: before ({args.baseline}) ...", flush=True)
                case["before"] = run_probe(before_tree, probe_args)
            print(f"{kind}: after ...", flush=True)
            case["after"] = run_probe(REPO, probe_args)
            key = TARGETS[kind][0]
            if "before" in case and key in case["before"] and key in case["after"]:
                case["ratio"] = case["after"][key] / case["before"][key]
            case["met"] = judge(kind, case["after"])
            result["cases"].append(case)
            print(json.dumps({k: v for k, v in case.items() if k not in ("probe",)}), flush=True)
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(result, indent=2) + "\n")
    result["machine"]["load_average_end"] = os.getloadavg()
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"wrote {args.output}")


def table(result: dict) -> str:
    """The before/after figures as a Markdown table: the target's figure, and the program load
    of every probe that also timed one."""
    rows = ["| probe | figure | before | after | after/before | target | met |",
            "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for case in result["cases"]:
        key, relation, value = TARGETS[case["kind"]]
        before, after = case.get("before", {}), case["after"]
        name = " ".join(case["probe"])
        figures = [key] + (["load_seconds"] if key != "load_seconds"
                           and any("load_seconds" in side for side in (before, after)) else [])
        for figure in figures:
            shown = [("error" if "error" in side else
                      f"{side[figure]:,.1f}" if figure in side else "-")
                     for side in (before, after)]
            ratio = (f"{after[figure] / before[figure]:.3g}"
                     if figure in before and figure in after else "-")
            target = (f"{relation} {value:g}", "yes" if case["met"] else "no") \
                if figure == key else ("", "")
            rows.append(f"| {name} | {figure} | {shown[0]} | {shown[1]} | {ratio} | "
                        f"{target[0]} | {target[1]} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
