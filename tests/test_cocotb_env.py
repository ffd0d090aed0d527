"""The os.environ adapter of spinemu.sim.cocotb_env: its guard, what a build sees, the restore."""

from __future__ import annotations

import os
import subprocess

import pytest
from cocotb_tools import runner as cocotb_runner

from spinemu.sim import cocotb_env
from spinemu.sim.cocotb_env import cocotb_env_adapter_applies, runner_environment
from spinemu.sim.runner import VERILATOR_ARGS, available_simulators, build, verilator_env

PROBE = "SPINEMU_TEST_PROBE"


def test_the_adapter_applies_to_the_installed_cocotb():
    """Fails when cocotb leaves the series the adapter was written for: check whether
    Runner.build() has gained an environment parameter (then pass it there and drop the
    adapter) and update COCOTB_SERIES."""
    assert cocotb_env_adapter_applies()


def test_a_verilator_build_sees_the_variables(tmp_path, monkeypatch):
    """The assumption the adapter rests on: Runner.build() hands os.environ, as it is during the
    call, to the commands it runs. The commands are recorded, not run."""
    commands = []

    def record(cmd, **kwargs):
        commands.append((cmd, kwargs["env"]))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(cocotb_runner.subprocess, "run", record)
    source = tmp_path / "top.v"
    source.write_text("module top(input clk); endmodule\n")
    env = {**verilator_env(optimise=False), PROBE: "1"}
    with runner_environment(env):
        cocotb_runner.get_runner("verilator").build(
            sources=[source], hdl_toplevel="top", build_dir=tmp_path / "build",
            build_args=VERILATOR_ARGS, timescale=("1ns", "1ps"))
    (verilator, verilator_env_seen), (make, make_env) = commands
    assert os.path.dirname(verilator[0]) in env["PATH"].split(os.pathsep)
    assert make[0] == "make"
    for seen in (verilator_env_seen, make_env):
        assert seen[PROBE] == "1" and seen["MAKEFLAGS"] == env["MAKEFLAGS"]
        assert seen["PATH"].startswith(env["PATH"])
    assert "CFG_CXXFLAGS_PCH_I=-include" in env["MAKEFLAGS"].split()
    assert "OPT_FAST=-O0" in env["MAKEFLAGS"].split()


def test_os_environ_is_restored_after_the_block_and_after_an_error(monkeypatch):
    monkeypatch.setenv("MAKEFLAGS", "-s")
    monkeypatch.delenv(PROBE, raising=False)
    path = os.environ["PATH"]
    with runner_environment({"MAKEFLAGS": "-j1", PROBE: "1", "PATH": "/nowhere"}):
        assert (os.environ["MAKEFLAGS"], os.environ[PROBE]) == ("-j1", "1")
    assert (os.environ["MAKEFLAGS"], os.environ["PATH"]) == ("-s", path)
    assert PROBE not in os.environ
    with pytest.raises(RuntimeError, match=r"^build failed$"):
        with runner_environment({PROBE: "2"}):
            raise RuntimeError("build failed")
    assert PROBE not in os.environ


def test_an_unknown_cocotb_is_warned_about(monkeypatch):
    monkeypatch.setattr(cocotb_env.metadata, "version", lambda name: "3.0.0")
    assert not cocotb_env_adapter_applies()
    with pytest.warns(RuntimeWarning, match=r"^cocotb 3\.0\.0 is not the 2\.x series "):
        with runner_environment({PROBE: "1"}):
            pass
    assert PROBE not in os.environ


def test_a_simulator_build_leaves_os_environ_as_it_was(tmp_path):
    """The runner's build goes through the adapter (and into the cache root it is given)."""
    if "icarus" not in available_simulators():
        pytest.skip("needs iverilog")
    before = dict(os.environ)
    build_dir = build("module top(input clk); endmodule\n", "top", "icarus", cache_dir=tmp_path)
    assert build_dir.parent.parent.parent == tmp_path and (build_dir / ".built").exists()
    assert dict(os.environ) == before
