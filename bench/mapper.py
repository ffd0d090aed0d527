"""Mapper benchmark: golden throughput of the mapped bundled networks, and their RTL cycles.

Run as ``python -m bench.mapper [--quick] [-o bench/results/mapper.json]``. For each bundled model
(``digits``, ``digits32``, ``digits_cnn``) it maps the model with the default
:class:`MapSettings` (128x128 tiles, 4-bit weights and inputs, 8-bit ADC, ideal device), then
times the golden
:class:`~spinemu.sim.golden.network.NetworkModel` on the held-out inputs' codes:

- ``batch_1``: one input per call (latency-bound, as a host would stream them);
- ``batch_all``: the whole held-out split (540 inputs) in one call.

RTL cycles per inference: :func:`rtl_cycles_per_inference` runs the first 32 held-out inputs
(``--quick``: 4) through the whole network's RTL on Verilator with
``spinemu.sim.network_runner.run_network`` and checks the outputs against the golden model;
``--no-rtl`` skips it. JSON layout in
``docs/mapper.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from threadpoolctl import threadpool_limits

from bench.machine import machine_info, summary
from spinemu.mapper import map_model
from spinemu.models import BUNDLED, load_dataset

REPO = Path(__file__).resolve().parent.parent
SINGLE_CALLS = 100
FULL_REPEATS, QUICK_REPEATS = 15, 3
FULL_RTL_VECTORS, QUICK_RTL_VECTORS = 32, 4


def rtl_cycles_per_inference(plan, x_codes: np.ndarray, simulator: str = "verilator") -> dict:
    """RTL simulated clock cycles per inference of ``plan`` on input codes ``x_codes``.

    Runs the codes through the whole network's RTL with
    ``spinemu.sim.network_runner.run_network`` at full rate (no stalls) and checks its output
    codes against ``plan.model()``. ``cycles_per_inference`` is None, and ``status`` says why,
    when there are no vectors, the runner is not there,
    or the simulation fails.
    """
    entry = {"cycles_per_inference": None, "vectors": len(x_codes), "simulator": simulator}
    if not len(x_codes):
        return {**entry, "status": "skipped"}
    try:
        from spinemu.sim.network_runner import run_network
    except ImportError:
        return {**entry, "status": "spinemu.sim.network_runner.run_network is not available"}
    try:
        run = run_network(plan, x_codes, simulator=simulator)
    except Exception as error:  # a bench records a failed simulation and goes on
        return {**entry, "status": f"failed: {type(error).__name__}: {error}"}
    return {**entry, "status": "ok", "cycles": run.cycles,
            "cycles_per_inference": run.cycles / len(x_codes),
            "match": bool((run.a == plan.model()(x_codes)).all()),
            "sim_seconds": run.sim_seconds, "wall_seconds": run.wall_seconds}


def inferences_per_second(model, x: np.ndarray, batch: int, repeats: int) -> list[float]:
    """Samples of inferences/s of ``model`` on ``x``, ``batch`` inputs per call."""
    samples = []
    for _ in range(repeats):
        if batch == 1:
            rows = x[:SINGLE_CALLS]
            started = time.perf_counter()
            for row in rows:
                model(row[None, :])
            samples.append(len(rows) / (time.perf_counter() - started))
        else:
            started = time.perf_counter()
            model(x[:batch])
            samples.append(batch / (time.perf_counter() - started))
    return samples


def golden_bench(model, codes: np.ndarray, repeats: int, threads: str) -> dict:
    """Both batch sizes with BLAS as configured (``"default"``) or on one thread (``"1"``).

    Where other processes keep the CPUs busy a multithreaded BLAS call waits for its slowest
    worker; the one-thread figures do not (see ``bench/README.md``, tile.py).
    """
    limit = threadpool_limits(limits=1) if threads == "1" else contextlib.nullcontext()
    with limit:
        return {
            "batch_1": {"batch": 1, "calls_per_sample": min(SINGLE_CALLS, len(codes)),
                        "inferences_per_second": summary(
                            inferences_per_second(model, codes, 1, repeats))},
            "batch_all": {"batch": len(codes), "inferences_per_second": summary(
                inferences_per_second(model, codes, len(codes), repeats))},
        }


def bench_model(name: str, repeats: int, rtl_vectors: int) -> dict:
    """Map bundled model ``name``, time its golden network, and run ``rtl_vectors`` held-out
    inputs through its RTL."""
    data = load_dataset(BUNDLED[name])
    started = time.perf_counter()
    result = map_model(name, data.calibration(256), data.test_x, data.test_y)
    map_seconds = time.perf_counter() - started
    plan, report = result.plan, result.report
    codes = result.mapping.input_codes(data.test_x)
    model = plan.model()
    model(codes[:1])  # warm-up: BLAS thread start, first-call allocations
    return {
        "model": name,
        "layers": [{"in_features": layer.in_features, "out_features": layer.out_features,
                    "row_tiles": layer.row_tiles, "col_tiles": layer.col_tiles}
                   for layer in plan.config.layers],
        "settings": result.mapping.settings.to_dict(),
        "map_seconds": map_seconds,
        "accuracy": {"float": report.float_metric, "emulated": report.emulated_metric,
                     "drop_points": 100 * report.drop},
        "golden": {threads: golden_bench(model, codes, repeats, threads)
                   for threads in ("default", "1")},
        "rtl": rtl_cycles_per_inference(plan, codes[:rtl_vectors]),
    }


def table(models: list[dict]) -> Table:
    out = Table(title="mapped bundled models: golden network throughput (median), RTL cycles")
    for column in ("model", "accuracy float/emul. %", "BLAS threads", "inf/s, batch 1",
                   "inf/s, batch all", "RTL cycles/inf"):
        out.add_column(column, justify="right", no_wrap=True)
    for entry in models:
        rtl = entry["rtl"]["cycles_per_inference"]
        accuracy = entry["accuracy"]
        for threads, golden in entry["golden"].items():
            out.add_row(
                entry["model"], f"{100 * accuracy['float']:.2f}/{100 * accuracy['emulated']:.2f}",
                threads, f"{golden['batch_1']['inferences_per_second']['median']:,.0f}",
                f"{golden['batch_all']['inferences_per_second']['median']:,.0f}",
                "-" if rtl is None else f"{rtl:,.0f}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats and vectors (smoke)")
    parser.add_argument("--no-rtl", action="store_true", help="golden only, no RTL simulation")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results/mapper.json",
                        help="JSON file to write (default: %(default)s)")
    args = parser.parse_args(argv)
    repeats = QUICK_REPEATS if args.quick else FULL_REPEATS
    vectors = QUICK_RTL_VECTORS if args.quick else FULL_RTL_VECTORS
    if args.no_rtl:
        vectors = 0
    console = Console(width=None if sys.stdout.isatty() else 120)
    started = time.perf_counter()
    result = {"bench": "mapper", "quick": args.quick, "repeats": repeats,
              "machine": machine_info(), "models": []}
    with Progress(console=console) as progress:
        task = progress.add_task("mapping and timing", total=len(BUNDLED))
        for name in BUNDLED:
            result["models"].append(bench_model(name, repeats, vectors))
            progress.advance(task)
    result["machine"]["load_average_end"] = os.getloadavg()
    result["wall_seconds"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    console.print(table(result["models"]))
    console.print(f"{result['wall_seconds']:.0f} s; wrote {args.output}")


if __name__ == "__main__":
    main()
