"""Crossbar tile benchmark: golden-model throughput against BLAS, RTL simulation speed.

Run as ``python -m bench.tile [--quick] [--golden-only | --rtl-only] [-o FILE]``. One run
measures

1. the MAC/s of ``Emulator(config).vmm`` (the golden backend) on square tiles with a batch of
   64 vectors, for the default widths and a wide config, as a ratio to a float32 numpy matmul of
   the same shapes timed in the same run, interleaved (golden, matmul, golden, matmul, ...),
   with BLAS held to 2 and to 1 thread (threadpoolctl);
2. the device clocks per second of ``Emulator(config, "rtl")`` (the tile behind the host link,
   under cocotb on Verilator and, when ``iverilog`` is on PATH, on Icarus), timed by the
   device's own ``clocks`` counter, with every output checked against the golden backend.

It prints progress and a table, and writes JSON (layout in ``bench/README.md``): every timed
figure as median, min and max over its repeats, plus the machine it ran on. ``--golden-only``
skips the RTL part and writes ``bench/results/tile_golden.json`` unless ``-o`` says otherwise;
``--rtl-only`` skips the golden part.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from bench.machine import machine_info, summary
from spinemu import Emulator, TileConfig
from spinemu.numeric import signed_range
from spinemu.sim.golden.tile import sum_plan
from spinemu.sim.runner import SIMULATORS, available_simulators

BATCH = 64
#: Least median ratio (golden MAC/s over float32 matmul MAC/s) per config (issue 12).
TARGETS = {"default": 0.8, "wide": 0.45}
#: BLAS thread counts every case runs with (when threadpoolctl is installed).
BLAS_LIMITS = (2, 1)
SEED = 2024
WIDE = {"cell_bits": 12, "input_bits": 8, "input_signed": True, "adc_bits": 16}
REPO = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Plan:
    """Sizes and repeat counts of one run.

    Attributes
    ----------
    golden_sizes : tuple of int
        Square tile sizes for the golden model.
    golden_repeats : int
        Interleaved (golden, matmul) sample pairs per case.
    sample_seconds : float
        Least duration of one timing sample; short calls are repeated within a sample.
    rtl_sizes : tuple of int
        Square tile sizes for the RTL simulations.
    rtl_repeats : int
        Timed simulations per (simulator, size), after one warm-up run.
    rtl_seconds : float
        Wanted duration of the clocked part of each timed simulation.
    """

    golden_sizes: tuple[int, ...]
    golden_repeats: int
    sample_seconds: float
    rtl_sizes: tuple[int, ...]
    rtl_repeats: int
    rtl_seconds: float


FULL = Plan((256, 1024, 2048), 15, 0.1, (64, 256), 3, 3.0)
QUICK = Plan((64, 256), 5, 0.02, (16, 64), 2, 0.5)


# Helpers ------------------------------------------------------------------------------------


def random_weights(config: TileConfig, rng) -> np.ndarray:
    """Weights ``g[rows, cols]`` over the full signed ``cell_bits`` range."""
    return rng.integers(*signed_range(config.cell_bits), endpoint=True,
                        size=(config.rows, config.cols))


def random_inputs(config: TileConfig, batch: int, rng) -> np.ndarray:
    """Input codes ``x[batch, rows]`` over the full input range."""
    return rng.integers(*config.input_range, endpoint=True, size=(batch, config.rows))


def tile_config(size: int, wide: bool) -> TileConfig:
    """A ``size`` x ``size`` tile, 8 lanes, default widths or :data:`WIDE`."""
    return TileConfig(rows=size, cols=size, lanes=8, **(WIDE if wide else {}))


# Golden model against BLAS ------------------------------------------------------------------


def seconds_per_call(fn, calls: int) -> float:
    """Mean wall time of ``calls`` back-to-back calls of ``fn``."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def calls_per_sample(fn, least_seconds: float) -> int:
    """Calls of ``fn`` that take at least ``least_seconds`` together (doubling; warms ``fn``)."""
    calls = 1
    while seconds_per_call(fn, calls) * calls < least_seconds:
        calls *= 2
    return calls


def golden_case(size: int, wide: bool, plan: Plan, rng) -> dict:
    """Golden model against ``x @ g`` in float32, one case, samples interleaved."""
    config = tile_config(size, wide)
    g, x = random_weights(config, rng), random_inputs(config, BATCH, rng)
    emulator = Emulator(config)
    emulator.program(g)
    xf, gf = x.astype(np.float32), g.astype(np.float32)
    pair = (lambda: emulator.vmm(x)), (lambda: xf @ gf)
    calls = [calls_per_sample(fn, plan.sample_seconds) for fn in pair]
    times = np.array([[seconds_per_call(fn, n) for fn, n in zip(pair, calls, strict=True)]
                      for _ in range(plan.golden_repeats)])
    macs = BATCH * size * size
    ratio = summary(times[:, 1] / times[:, 0])
    name = "wide" if wide else "default"
    plan_dtype, parts, shift = sum_plan(config)
    return {
        "config": name, "rows": size, "cols": size,
        "sum_plan": {"dtype": np.dtype(plan_dtype).name, "parts": parts, "shift": shift},
        "tile_config": config.to_dict(), "macs_per_call": macs,
        "calls_per_sample": {"golden": calls[0], "float32_matmul": calls[1]},
        "golden_macs_per_second": summary(macs / times[:, 0]),
        "float32_macs_per_second": summary(macs / times[:, 1]),
        "ratio": ratio, "target_ratio": TARGETS[name], "met": ratio["median"] >= TARGETS[name],
    }


def blas_threads() -> int | None:
    """Threads the BLAS library uses now (threadpoolctl), or None when that cannot be told."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return next((pool["num_threads"] for pool in threadpool_info()
                 if pool["user_api"] == "blas"), None)


def limited_blas(limit: int | None):
    """A context that holds BLAS to ``limit`` threads; None leaves it as configured."""
    if limit is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=limit, user_api="blas")


def golden_bench(plan: Plan, progress: Progress, rng) -> dict:
    """Every case with BLAS held to each of :data:`BLAS_LIMITS` threads (as configured when
    threadpoolctl is missing).

    A multithreaded GEMM waits for its slowest worker: on a machine where other processes keep a
    CPU busy, a worker loses whole scheduler slices and a 0.1 ms GEMM takes 16 ms, for the golden
    model and the reference alike. One thread is immune to that, so both are measured.
    """
    limits = list(BLAS_LIMITS) if blas_threads() is not None else [None]
    cases = [(size, wide) for wide in (False, True) for size in plan.golden_sizes]
    task = progress.add_task("golden vs float32 matmul", total=len(limits) * len(cases))
    results, met = [], {}
    for limit in limits:
        with limited_blas(limit):
            threads = blas_threads()
            for size, wide in cases:
                name = f"golden {'wide' if wide else 'default'} {size}x{size}, {threads} thr"
                progress.update(task, description=name)
                results.append({"blas_threads": threads, **golden_case(size, wide, plan, rng)})
                progress.advance(task)
        met[str(threads)] = all(case["met"] for case in results[-len(cases):])
    return {"batch": BATCH, "target_ratio": TARGETS, "met": all(met.values()),
            "met_by_blas_threads": met, "cases": results}


# RTL simulation -----------------------------------------------------------------------------


def timed_vmm(emulator: Emulator, golden: Emulator, x) -> dict:
    """One ``vmm(x)`` on the rtl backend, timed in host seconds and in device clocks
    (``status()`` read before and after), its outputs compared with the golden backend's."""
    before = emulator.status()
    started = time.perf_counter()
    z = emulator.vmm(x)
    seconds = time.perf_counter() - started
    after = emulator.status()
    clocks, busy = ((after[k] - before[k]) % (1 << 32) for k in ("clocks", "busy_clocks"))
    return {"vectors": len(x), "clocks": clocks, "busy_clocks": busy, "seconds": seconds,
            "clocks_per_second": clocks / seconds,
            "match": bool(np.array_equal(z, golden.vmm(x)))}


def rtl_case(simulator: str, size: int, plan: Plan, rng, progress: Progress, task) -> dict:
    """Open the rtl backend (build, unless cached, and start), program it, one warm-up ``vmm``
    that sizes the batch, then ``rtl_repeats`` timed ones, all in one simulation."""
    config = tile_config(size, wide=False)
    g = random_weights(config, rng)
    started = time.perf_counter()
    with Emulator(config) as golden, \
            Emulator(config, "rtl", simulator=simulator, timeout=60.0) as emulator:
        open_seconds = time.perf_counter() - started
        formula = emulator.fabric.cycles_per_vector
        golden.program(g)
        emulator.program(g)
        warm = timed_vmm(emulator, golden, random_inputs(config, 4, rng))
        progress.advance(task)
        clocks_per_vector = warm["clocks"] / warm["vectors"]
        vectors = max(1, round(plan.rtl_seconds * warm["clocks_per_second"] / clocks_per_vector))
        x = random_inputs(config, vectors, rng)
        runs = []
        for _ in range(plan.rtl_repeats):
            runs.append(timed_vmm(emulator, golden, x))
            progress.advance(task)
    return {
        "simulator": simulator, "rows": size, "cols": size, "tile_config": config.to_dict(),
        "vectors": vectors, "clocks": runs[0]["clocks"],
        "clocks_per_vector": runs[0]["clocks"] / vectors,
        "busy_clocks_per_vector": runs[0]["busy_clocks"] / vectors,
        "cycles_per_vector_formula": formula,
        **{key: summary([r[key] for r in runs]) for key in ("clocks_per_second", "seconds")},
        "open_seconds": open_seconds, "warmup": warm,
        "match": warm["match"] and all(r["match"] for r in runs),
    }


def rtl_bench(plan: Plan, progress: Progress, rng) -> dict:
    """Every (simulator, size) case on the rtl backend."""
    simulators = available_simulators()
    cases = [(sim, size) for sim in simulators for size in plan.rtl_sizes]
    task = progress.add_task("RTL", total=len(cases) * (1 + plan.rtl_repeats))
    results = []
    for simulator, size in cases:
        progress.update(task, description=f"RTL {simulator} {size}x{size}")
        results.append(rtl_case(simulator, size, plan, rng, progress, task))
    return {"target_sim_seconds": plan.rtl_seconds,
            "skipped": [s for s in SIMULATORS if s not in simulators],
            "match": all(case["match"] for case in results), "cases": results}


# Report -------------------------------------------------------------------------------------


def _spread(stats: dict, scale: float, fmt: str) -> str:
    median, low, high = (stats[k] / scale for k in ("median", "min", "max"))
    return f"{median:{fmt}} [{low:{fmt}}..{high:{fmt}}]"


def golden_table(golden: dict) -> Table:
    table = Table(title=Text(f"Golden model, batch {golden['batch']}: median [min..max]"))
    for name in ("BLAS threads", "config", "tile", "sums", "golden GMAC/s", "f32 matmul GMAC/s",
                 "ratio", "target"):
        table.add_column(name, justify="right")
    for case in golden["cases"]:
        sums = case["sum_plan"]
        table.add_row(str(case["blas_threads"]), case["config"], f"{case['rows']}x{case['cols']}",
                      f"{sums['dtype']} x{sums['parts']}",
                      _spread(case["golden_macs_per_second"], 1e9, ".2f"),
                      _spread(case["float32_macs_per_second"], 1e9, ".2f"),
                      _spread(case["ratio"], 1, ".3f"),
                      f">= {case['target_ratio']}: {'yes' if case['met'] else 'NO'}")
    return table


def rtl_table(rtl: dict) -> Table:
    table = Table(title=Text("RTL backend (cocotb, host link), default widths, 8 lanes: "
                             "median [min..max]"))
    for name in ("simulator", "tile", "vectors", "clocks/vector", "busy/vector", "formula",
                 "kclocks/s", "vmm s", "open s", "match"):
        table.add_column(name, justify="right")
    for case in rtl["cases"]:
        table.add_row(case["simulator"], f"{case['rows']}x{case['cols']}", str(case["vectors"]),
                      f"{case['clocks_per_vector']:.0f}", f"{case['busy_clocks_per_vector']:.0f}",
                      str(case["cycles_per_vector_formula"]),
                      _spread(case["clocks_per_second"], 1e3, ".1f"),
                      f"{case['seconds']['median']:.2f}", f"{case['open_seconds']:.1f}",
                      "yes" if case["match"] else "NO")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--golden-only", action="store_true",
                      help="the golden model against BLAS only, no RTL simulation")
    only.add_argument("--rtl-only", action="store_true",
                      help="the RTL simulations only, no golden model against BLAS")
    parser.add_argument("-o", "--output", type=Path,
                        help="JSON file to write (default: bench/results/tile.json, with "
                             "--golden-only bench/results/tile_golden.json)")
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = REPO / "bench/results" / ("tile_golden.json" if args.golden_only
                                                else "tile.json")
    plan = QUICK if args.quick else FULL
    # Off a terminal rich assumes 80 columns, which folds every cell of the tables.
    console = Console(width=None if sys.stdout.isatty() else 120)
    started = time.perf_counter()
    result = {"bench": "tile", "quick": args.quick, "golden_only": args.golden_only,
              "rtl_only": args.rtl_only,
              "plan": dataclasses.asdict(plan), "machine": machine_info()}
    rng = np.random.default_rng(SEED)
    with Progress(console=console) as progress:
        if not args.rtl_only:
            result["golden"] = golden_bench(plan, progress, rng)
        if not args.golden_only:
            result["rtl"] = rtl_bench(plan, progress, rng)
    result["machine"]["load_average_end"] = os.getloadavg()
    result["wall_seconds"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    if "golden" in result:
        console.print(golden_table(result["golden"]))
    if "rtl" in result:
        console.print(rtl_table(result["rtl"]))
    rtl = f"RTL matches golden: {result['rtl']['match']}; " if "rtl" in result else ""
    golden = (f"golden ratio targets {TARGETS} met: {result['golden']['met']} "
              f"{result['golden']['met_by_blas_threads']}; " if "golden" in result else "")
    console.print(f"{golden}{rtl}{result['wall_seconds']:.0f} s; wrote {args.output}")


if __name__ == "__main__":
    main()
