"""``spinemu sweep``: a sweep spec run serially, on a LocalCluster or on a dask scheduler.

Registered on the main group by :mod:`spinemu.cli`. The spec is read and checked whole, and the
scheduler reached, before any point runs; errors are :class:`ConfigError` (one line, status 2).
The work is :func:`spinemu.sweep.run_sweep`.
"""

from __future__ import annotations

import os
import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from spinemu.cli_common import console, out, rows_table
from spinemu.config import ConfigError

__all__ = ["sweep_command"]


@click.command("sweep")
@click.argument("spec_file", metavar="SPEC.toml", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Folder of the results: points/ (one file per finished point), "
                   "results.parquet, results.csv, the plots. A rerun skips the points in it.")
@click.option("--scheduler", help="A running dask scheduler, tcp://HOST:PORT (docs/sweeps.md); "
                                  "default: a LocalCluster on this machine.")
@click.option("--workers", type=int, default=None,
              help="Worker processes of the LocalCluster; 0 runs serially, without dask. "
                   "[default: the CPU count]")
@click.option("--serial", is_flag=True, help="Run every point in this process (--workers 0).")
@click.option("--connect-timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for --scheduler to answer and to have a worker.")
def sweep_command(spec_file, out_dir, scheduler, workers, serial, connect_timeout):
    """Run the points of SPEC.toml (a task, its axes, seeds and figures) and write one table
    of every point (Parquet and CSV) and the task's plots into -o DIR."""
    from spinemu.sweep import load_spec, run_sweep
    from spinemu.sweep.runner import check_scheduler

    spec = load_spec(spec_file)
    if serial and workers not in (None, 0):
        raise ConfigError(f"--serial with --workers {workers}; --serial is --workers 0")
    if scheduler is not None:
        check_scheduler(scheduler)
        if serial or workers is not None:
            raise ConfigError("--scheduler takes its workers from the scheduler; give no "
                              "--workers or --serial with it")
    workers = 0 if serial else (os.cpu_count() or 1) if workers is None else workers

    # The bar starts once the sweep does, so that a refusal prints as nothing but its line.
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console)
    bar = None

    def started(run, todo):
        nonlocal bar
        where = "serial, in this process" if run.where == "serial" else run.where
        console.print(f"{spec.name}: {run.total} points, {run.skipped} already in {out_dir}, "
                      f"{todo} to run" + (f" ({where})" if todo else ""))
        if run.dashboard:
            console.print(f"dashboard: {run.dashboard}")
        progress.start()
        bar = progress.add_task(f"{spec.task.name} points", total=todo)

    def finished(run, point, record):
        progress.advance(bar)

    try:
        run = run_sweep(spec, out_dir, workers=workers, scheduler=scheduler,
                        timeout=connect_timeout, on_start=started, on_point=finished)
    finally:
        if bar is not None:
            progress.stop()
    rows = [("points", f"{run.total} ({run.skipped} reused, {run.computed} computed, "
                       f"{len(run.failed)} failed)"),
            ("wall time", f"{run.wall_seconds:.1f} s"),
            ("table", ", ".join(str(p) for p in run.tables)),
            ("plots", ", ".join(str(p) for p in run.plots) or "none")]
    mismatches = 0
    if spec.task.name == "rtl":
        from spinemu.sweep import results_table

        table = results_table(spec, out_dir)
        mismatches = int(table["mismatches"].sum())
        rows.insert(1, ("mismatches", f"{mismatches} in {len(table)} points (must be 0)"))
    out.print(rows_table(f"sweep {spec.name} ({spec.task.name})", rows))
    for point, message in run.failed[:5]:
        out.print(f"failed: grid {point.grid} seed {point.seed} {point.axes}: {message}")
    if run.interrupted:
        out.print(f"interrupted: {run.skipped + run.computed} of {run.total} points in "
                  f"{out_dir}; run the same command again to compute the rest")
        sys.exit(130)
    if run.failed or mismatches:
        sys.exit(1)
