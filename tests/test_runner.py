"""spinemu.sim.runner: simulator builds and their cache (the Verilator runtime kept once)."""

from __future__ import annotations

import fcntl
import os
import re
import time

import numpy as np
import pytest

from spinemu.config import ConfigError, TileConfig
from spinemu.gateware.convert import to_verilog
from spinemu.hdl.tile import CrossbarTile
from spinemu.sim import runner
from spinemu.sim.golden import tile_forward
from spinemu.sim.stimulus import random_images

from cases import random_config


def test_verilator_builds_of_a_kind_compile_the_runtime_once(cache_without_ccache):
    """Without ccache, the first Verilator build compiles Verilator's runtime and its headers
    and keeps them under ``verilator-runtime/``; the next design of the same kind compiles none
    of it, links the kept objects, compiles its model against the kept headers, and its
    simulation still equals golden bit for bit."""
    tmp_path = cache_without_ccache
    rng = np.random.default_rng(7)
    logs = []
    for rows, cols in [(8, 96), (6, 96)]:   # big enough for Verilator to split the model
        config = TileConfig(**{**random_config(rng, max_rows=8, max_cols=8).to_dict(),
                               "rows": rows, "cols": cols, "lanes": cols})
        g, x, shift, gain, offset = random_images(rng, config, batch=3)
        run = runner.run_tile(config, g, x, shift, gain, offset, simulator="verilator")
        assert (run.z == tile_forward(config, g, x, shift, gain, offset)).all(), run.log
        logs += [path.read_text() for path in tmp_path.glob("sim/verilator/*/build.log")
                 if path.read_text() not in logs]
    assert len(logs) == 2
    compiled = ["-o verilated.o" in log or "-o verilated_vpi.o" in log for log in logs]
    assert sorted(compiled) == [False, True]
    kept = {path.name for path in tmp_path.glob("verilator-runtime/*/verilated*.o")}
    assert {"verilated.o", "verilated_vpi.o"} <= kept
    headers = [log.count("c++-header") for log in logs]     # a precompiled header compiled
    assert sorted(headers) == [0, 2]
    kind, = tmp_path.glob("verilator-runtime/*")
    assert {f"{runner.PCH_HEADER}.{o}.gch" for o in ("fast", "slow")} <= {
        path.name for path in kind.iterdir()}
    second = logs[headers.index(0)]     # its model and cocotb's main against the kept headers
    kept_header = re.escape(str(kind / runner.PCH_HEADER))
    assert re.search(rf"-include{kept_header}\.fast -c Vtop___024root__0\.cpp", second), \
        second[-2000:]
    assert re.search(rf"-include{kept_header}\.fast .*-c -o verilator\.o ", second), \
        second[-2000:]


def test_prune_cache_removes_least_recently_used_builds_first(tmp_path):
    """Finished builds (a ``.built`` file) go oldest use first until the cache fits; a build in
    progress (no ``.built``, or its lock held), ``keep`` and a build used again stay."""
    now = time.time()

    def build(kind: str, name: str, age: float, built: bool = True):
        folder = tmp_path / kind / name
        folder.mkdir(parents=True)
        (folder / "model.o").write_bytes(b"x" * 400)
        if built:
            (folder / ".built").touch()
            os.utime(folder / ".built", (now - age, now - age))
        return folder

    a, b = build("sim/verilator", "a", 500), build("sim/icarus", "b", 400)
    c, d = build("vboard", "c", 300), build("sim/verilator", "d", 200)
    e, f = build("sim/verilator", "e", 100), build("sim/icarus", "f", 600, built=False)
    runner.used_build(b)  # b is now the most recently used
    with open(c / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # c is being built again elsewhere
        assert runner.prune_cache(tmp_path, limit=1300, keep=d) == [a, e]
    assert all(folder.exists() for folder in (b, c, d, f))
    assert not a.exists() and not e.exists()
    assert runner.prune_cache(tmp_path, limit=10**6) == []
    assert runner.prune_cache(tmp_path, limit=0) == [c, d, b]
    assert f.exists()


def test_optimisation_level_comes_from_the_environment(monkeypatch):
    """A build made to run fast compiles at ``-O$SPINEMU_VERILATOR_OPT`` (-O2 unset), which is in
    its make flags and so in its cache key; one made to build fast at -O0 whatever it says."""
    monkeypatch.delenv(runner.OPT_VARIABLE, raising=False)
    assert runner.fast_level() == runner.OPT_DEFAULT == "2"
    assert "OPT_FAST=-O2" in runner.verilator_env(optimise=True)["MAKEFLAGS"]
    monkeypatch.setenv(runner.OPT_VARIABLE, "1")
    assert "OPT_FAST=-O1" in runner.verilator_env(optimise=True)["MAKEFLAGS"]
    assert "OPT_FAST=-O0" in runner.verilator_env(optimise=False)["MAKEFLAGS"]
    for text in ("fast", "-O2", "4"):
        monkeypatch.setenv(runner.OPT_VARIABLE, text)
        with pytest.raises(ConfigError, match=rf"^SPINEMU_VERILATOR_OPT = {re.escape(repr(text))} "
                                              r"is not understood; allowed one of 0, 1, 2, 3, s"):
            runner.verilator_env(optimise=True)


def test_simulator_processes_start_without_pytest_plugins(tmp_path, monkeypatch):
    """The pytest that cocotb imports into a simulator process loads no plugins (xdist is
    installed with the suite): a probe test module run on a built tile reports what it saw."""
    (tmp_path / "probe_tb.py").write_text(
        "import os, sys, numpy as np, cocotb\n\n"
        "@cocotb.test()\n"
        "async def probe(dut):\n"
        "    np.savez(os.environ['SPINEMU_RESULT'], xdist=np.array('xdist' in sys.modules),\n"
        "             pytest=np.array('pytest' in sys.modules))\n")
    monkeypatch.syspath_prepend(tmp_path)   # cocotb's runner gives the simulator sys.path
    build_dir = runner.build(to_verilog(CrossbarTile(TileConfig(rows=2, cols=2, lanes=2)),
                                        "crossbar_tile"), "crossbar_tile", "verilator")
    out = runner.run_test(build_dir, "crossbar_tile", "verilator", "probe_tb", {})
    assert bool(out["pytest"]) and not bool(out["xdist"])


def test_cache_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("SPINEMU_CACHE_GB", raising=False)
    assert runner.cache_limit() == int(runner.CACHE_GB * 1e9)
    monkeypatch.setenv("SPINEMU_CACHE_GB", "2.5")
    assert runner.cache_limit() == 2_500_000_000
    for text in ("0", "-1", "many", "nan"):
        monkeypatch.setenv("SPINEMU_CACHE_GB", text)
        with pytest.raises(ConfigError, match=rf"^SPINEMU_CACHE_GB = {re.escape(repr(text))} "
                                              r"is out of range; allowed a positive number"):
            runner.cache_limit()
