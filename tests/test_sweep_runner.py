"""Running sweeps: serial and on two worker processes give one table; a rerun computes only the
missing points; an interrupted sweep leaves a valid partial table; a worker killed mid-sweep
loses nothing. Golden anneals of 10- and 16-node graphs keep every point short."""

from __future__ import annotations

import json
import os
import signal

import pandas
import pytest

from spinemu.config import ConfigError
from spinemu.sweep import TIMING_COLUMNS, parse_spec, results_table, run_sweep
from spinemu.sweep.runner import POINTS_DIR, done_keys

TABLE_FILES = ("results.parquet", "results.csv")


def anneal_spec(graph_dir, seeds: int = 2, sweeps=(20, 60), replicas: int = 4):
    return parse_spec(f"""
[sweep]
name = "tiny"
task = "anneal"
seeds = {seeds}
keep = ["best_cut", "mean_cut", "best_energy"]
data_dir = "{graph_dir}"
[fixed]
replicas = {replicas}
[axes]
graph = ["g10", "g16"]
sweeps = {list(sweeps)}
""")


def untimed(table: pandas.DataFrame) -> pandas.DataFrame:
    return table.drop(columns=list(TIMING_COLUMNS))


def test_serial_table_and_plots(graph_dir, tmp_path):
    spec = anneal_spec(graph_dir)
    run = run_sweep(spec, tmp_path, workers=0)
    assert (run.total, run.skipped, run.computed, run.failed) == (8, 0, 8, [])
    table = pandas.read_parquet(tmp_path / "results.parquet")
    assert list(table.columns[:8]) == ["sweep", "task", "grid", "graph", "sweeps", "seed",
                                       "best_cut", "mean_cut"]
    assert {"version_spinemu", "version_numpy", *TIMING_COLUMNS, "key"} <= set(table.columns)
    assert table[["graph", "sweeps", "seed"]].values.tolist() == [
        ["g10", 20, 0], ["g10", 60, 0], ["g16", 20, 0], ["g16", 60, 0],
        ["g10", 20, 1], ["g10", 60, 1], ["g16", 20, 1], ["g16", 60, 1]]
    assert untimed(pandas.read_csv(tmp_path / "results.csv")).equals(untimed(table))
    assert [path.name for path in run.plots] == ["plot_sweeps.png"]
    assert run.plots[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((tmp_path / POINTS_DIR).glob("*.json"))) == 8


def test_serial_and_two_workers_give_the_same_table(graph_dir, tmp_path, dask_client):
    spec = anneal_spec(graph_dir)
    serial = run_sweep(spec, tmp_path / "serial", workers=0)
    cluster = run_sweep(spec, tmp_path / "cluster", client=dask_client)
    assert serial.computed == cluster.computed == 8
    one, two = (pandas.read_parquet(tmp_path / name / "results.parquet")
                for name in ("serial", "cluster"))
    assert untimed(one).equals(untimed(two))
    assert one["worker"].nunique() == 1
    worker_pids = set(dask_client.run(os.getpid).values())
    assert {int(worker.rsplit(":", 1)[1]) for worker in two["worker"]} <= worker_pids


def test_a_rerun_computes_only_the_missing_points(graph_dir, tmp_path):
    spec = anneal_spec(graph_dir)
    first = run_sweep(spec, tmp_path, workers=0)
    keys = sorted(done_keys(tmp_path))
    before = {key: (tmp_path / POINTS_DIR / f"{key}.json").read_text() for key in keys}
    for key in keys[:3]:
        (tmp_path / POINTS_DIR / f"{key}.json").unlink()
    again = run_sweep(spec, tmp_path, workers=0)
    assert (again.total, again.skipped, again.computed) == (8, 5, 3)
    for key in keys[3:]:   # untouched
        assert (tmp_path / POINTS_DIR / f"{key}.json").read_text() == before[key]
    for key in keys[:3]:   # the same figures again
        assert (json.loads((tmp_path / POINTS_DIR / f"{key}.json").read_text())["figures"]
                == json.loads(before[key])["figures"])
    assert first.computed == 8
    assert run_sweep(spec, tmp_path, workers=0).computed == 0


def test_an_interrupted_sweep_leaves_a_partial_table_and_resumes(graph_dir, tmp_path):
    spec = anneal_spec(graph_dir)

    def interrupt(run, point, record):
        if run.computed == 3:
            raise KeyboardInterrupt

    stopped = run_sweep(spec, tmp_path, workers=0, on_point=interrupt)
    assert stopped.interrupted and (stopped.computed, stopped.complete) == (3, False)
    partial = pandas.read_parquet(tmp_path / "results.parquet")
    assert len(partial) == len(pandas.read_csv(tmp_path / "results.csv")) == 3
    assert partial["key"].tolist() == [p.key for p in spec.points()[:3]]
    resumed = run_sweep(spec, tmp_path, workers=0)
    assert (resumed.skipped, resumed.computed, resumed.complete) == (3, 5, True)
    assert len(results_table(spec, tmp_path)) == 8


def test_a_worker_killed_mid_sweep_loses_nothing(graph_dir, tmp_path, dask_client):
    spec = anneal_spec(graph_dir, seeds=4, sweeps=(2000, 4000), replicas=16)
    killed = []

    def kill_a_worker(run, point, record):
        if not killed:
            pids = dask_client.run(os.getpid)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    run = run_sweep(spec, tmp_path / "killed", client=dask_client, on_point=kill_a_worker)
    assert killed and run.failed == [] and (run.computed, run.total) == (16, 16)
    dask_client.wait_for_workers(2, timeout=30)    # the nanny started a new worker process
    assert killed[0] not in dask_client.run(os.getpid).values()
    table = pandas.read_parquet(tmp_path / "killed" / "results.parquet")
    assert len(table) == 16 and table["key"].is_unique
    assert sorted(table["key"]) == sorted(p.key for p in spec.points())
    assert len(list((tmp_path / "killed" / POINTS_DIR).glob("*.json"))) == 16
    serial = run_sweep(spec, tmp_path / "serial", workers=0)
    assert serial.computed == 16
    assert untimed(table).equals(untimed(pandas.read_parquet(
        tmp_path / "serial" / "results.parquet")))


def test_an_unreachable_scheduler_is_refused_before_anything_is_written(graph_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"^--scheduler = 'tcp://127\.0\.0\.1:9' does not "
                                          r"answer within 0\.5 s \(\w+\); start one with dask "
                                          r"scheduler \(docs/sweeps\.md\)$"):
        run_sweep(anneal_spec(graph_dir), tmp_path / "out", scheduler="tcp://127.0.0.1:9",
                  timeout=0.5)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match=r"^--scheduler = 'localhost' is not a scheduler "
                                          r"address; expected tcp://HOST:PORT$"):
        run_sweep(anneal_spec(graph_dir), tmp_path / "out", scheduler="localhost")
    with pytest.raises(ConfigError, match=r"^--workers = -1 is out of range; allowed 0\.\.1024$"):
        run_sweep(anneal_spec(graph_dir), tmp_path / "out", workers=-1)
