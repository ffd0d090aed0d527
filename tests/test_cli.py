"""The spinemu command line: outputs, dumps another tool can check, and one-line errors.

``sim tile`` and ``sim layer`` run through spinemu.Emulator on ``--backend golden|rtl|board``
(``--streams``: the fabric's own stream testbench); the SMALL tile's rtl build is shared by the
tests that run it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from spinemu.cli import DUMP_KEYS, main
from spinemu.config import TileConfig
from spinemu.sim.golden import spec

SMALL = ["--rows", "9", "--cols", "6", "--lanes", "4", "--cell-bits", "5", "--input-bits", "3",
         "--input-signed", "--adc-bits", "6"]


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_generate_tile_writes_verilog_rtlil_and_config(tmp_path):
    result = run("generate", "tile", *SMALL, "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    verilog = (tmp_path / "crossbar_tile.v").read_text()
    assert "module crossbar_tile(" in verilog and "weight_wr__payload" in verilog
    assert "module \\crossbar_tile" in (tmp_path / "crossbar_tile.il").read_text()
    config = TileConfig.load(tmp_path / "tile.toml")
    assert (config.rows, config.cols, config.lanes, config.input_signed) == (9, 6, 4, True)


def test_config_file_and_overrides(tmp_path):
    (tmp_path / "t.toml").write_text(TileConfig(rows=5, cols=5, lanes=5).to_toml())
    result = run("generate", "tile", "--config", str(tmp_path / "t.toml"), "--lanes", "2",
                 "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert TileConfig.load(tmp_path / "o" / "tile.toml") == TileConfig(rows=5, cols=5, lanes=2)


def check_tile_dump(dump, backend):
    """The dump recomputes with the literal spec, independently of what produced it."""
    with np.load(dump) as data:
        assert set(data.files) == set(DUMP_KEYS)
        assert set(json.loads(str(data["keys"]))) == set(DUMP_KEYS)
        assert str(data["backend"]) == backend
        config = TileConfig.from_json(str(data["config"]))
        expected = spec.tile_outputs(config, data["g"], data["x"], data["adc_shift"], data["gain"],
                                     data["offset"])
        assert data["z_rtl"].shape == (5, 6)
        assert (data["z_rtl"] == expected).all()


@pytest.mark.parametrize("backend", ["golden", "rtl"])
def test_sim_tile_on_the_emulator(tmp_path, backend):
    dump = tmp_path / "d.npz"
    result = run("sim", "tile", *SMALL, "--vectors", "5", "--seed", "3", "--backend", backend,
                 "--dump", str(dump))
    assert result.exit_code == 0, result.output
    where = "verilator" if backend == "rtl" else "golden model"
    assert f"9x6 tile on {where}" in result.output
    assert re.search(r"mismatches\s+│ 0 ", result.output), result.output
    assert re.search(r"read-back of weights and calibration\s+│ equal", result.output)
    assert re.search(r"full-rate cycles\s+│ \d+ per vector", result.output)
    check_tile_dump(dump, backend)


@pytest.mark.parametrize("simulator, waves", [("verilator", "t.vcd"), ("icarus", "t.fst")])
def test_sim_tile_streams_dump_recomputes_independently(tmp_path, simulator, waves):
    if simulator == "icarus" and not shutil.which("iverilog"):
        pytest.skip("iverilog not on PATH")
    dump, trace = tmp_path / "d.npz", tmp_path / waves
    result = run("sim", "tile", *SMALL, "--vectors", "5", "--seed", "3", "--streams",
                 "--stall", "0.2", "--simulator", simulator, "--dump", str(dump),
                 "--waves", str(trace))
    assert result.exit_code == 0, result.output
    assert "mismatches" in result.output and "simulated cycles/s" in result.output
    assert "read-back" not in result.output   # the stream testbench reads nothing back
    assert trace.stat().st_size > 0
    check_tile_dump(dump, "rtl")


def test_sim_layer_on_the_golden_backend(tmp_path):
    from spinemu.checks import NETWORK_DUMP_KEYS
    from spinemu.mapper import map_model
    from spinemu.models import load_dataset

    data = load_dataset("digits")
    mapped = map_model("digits", data.calibration(256), data.test_x, data.test_y)
    mapped.save(tmp_path / "plan")
    dump = tmp_path / "d.npz"
    result = run("sim", "layer", str(tmp_path / "plan"), "--vectors", "3", "--backend",
                 "golden", "--dump", str(dump))
    assert result.exit_code == 0, result.output
    assert "network 64-64-10 on golden model" in result.output
    assert "first 3 held-out inputs of digits" in result.output
    assert re.search(r"read-back of the images\s+│ equal", result.output)
    with np.load(dump) as saved:
        assert set(saved.files) == set(NETWORK_DUMP_KEYS)
        assert str(saved["backend"]) == "golden" and int(saved["cycles"]) == -1
        assert (saved["a_rtl"] == mapped.plan.model()(saved["x"])).all()


def test_a_convolution_plan_runs_on_golden(tmp_path):
    """(The RTL paths run it too: tests/test_layer_cocotb.py.)"""
    from spinemu.mapper import map_model
    from spinemu.models import load_dataset

    data = load_dataset("digits")
    map_model("digits_cnn", data.calibration(64)).save(tmp_path / "plan")
    result = run("sim", "layer", str(tmp_path / "plan"), "--vectors", "3", "--backend",
                 "golden")
    assert result.exit_code == 0, result.output
    assert re.search(r"mismatches\s+│ 0 ", result.output)
    assert "network 64-128-64-10 on golden model" in result.output
    assert re.search(r"steady state\s+│ 142464 cycles per inference \(layers: 142464,\s+│\s+"
                     r"│\s+│ 35616, 2226\)", result.output), result.output


def test_synth_tile_reports_block_ram(tmp_path):
    result = run("synth", "tile", "--rows", "32", "--cols", "32", "--target", "ice40",
                 "--json", str(tmp_path / "s.json"))
    assert result.exit_code == 0, result.output
    assert "weight memory in block RAM: yes" in result.output
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["target"] == "ice40"


def test_demo_checks_rtl_against_golden(tmp_path):
    result = run("demo", "--vectors", "4", "--no-build", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "RTL == golden, bit for bit, everywhere" in result.output
    assert "4 inputs, 0 mismatches" in result.output
    assert "trajectory equals golden after every sweep" in result.output
    assert re.search(r"read-back of weights and calibration\s+│\s+equal", result.output)
    kl = float(re.search(r"KL to exact\s+│\s+([0-9.]+) nats", result.output).group(1))
    assert kl < 0.01
    assert (tmp_path / "crossbar_tile.v").exists() and (tmp_path / "demo_verilator.npz").exists()
    assert (tmp_path / "digits_plan" / "network.toml").exists()


@pytest.mark.parametrize("args, message", [
    (["generate", "tile", "--rows", "0", "-o", "x"],
     r"^error: rows = 0 is out of range; allowed 1\.\.4096$"),
    (["sim", "tile", "--cols", "4", "--lanes", "5"],
     r"^error: lanes = 5 is out of range; allowed 1\.\.4$"),
    (["sim", "tile", "--vectors", "0"], r"^error: vectors = 0 is out of range; allowed >= 1$"),
    (["sim", "tile", "--streams", "--simulator", "icarus", "--waves", "w.vcd"],
     r"^error: waves = '.*w\.vcd': icarus writes fst$"),
    (["sim", "tile", "--streams", "--stall", "1.5"],
     r"^error: stall = 1\.5 is out of range; allowed 0 <= stall < 1$"),
    (["sim", "tile", "--port", "/dev/ttyUSB1"],
     r"^error: --port goes with --backend board; --backend rtl takes none$"),
    (["sim", "layer", "plan", "--backend", "golden", "--simulator", "icarus"],
     r"^error: --simulator goes with --backend rtl; --backend golden takes none$"),
    (["sim", "tile", "--backend", "board"],
     r"^error: port = None with backend 'board'; the board backend takes a port"),
    (["sim", "tile", "--stall", "0.1"],
     r"^error: --stall goes with --streams \(the stream testbench of --backend rtl\)$"),
    (["sim", "layer", "plan", "--backend", "golden", "--streams"],
     r"^error: --streams goes with --backend rtl; --backend golden has no stream testbench$"),
    (["sim", "tile", "--backend", "board", "--port", "/nonexistent/tty"],
     r"^error: port '/nonexistent/tty' does not open: "),
    (["anneal", "g.txt", "--port", "/dev/ttyUSB1"],
     r"^error: --port goes with --backend board; --backend golden takes none$"),
    (["generate", "tile", "--config", "missing.toml", "-o", "x"],
     r"^error: \[Errno 2\] No such file or directory: 'missing\.toml'$"),
])
def test_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "g.txt").write_text("2 1\n1 2 1\n")   # a G-set graph for anneal
    result = subprocess.run(["spinemu", *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.match(message, result.stderr.strip()), result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(["spinemu", "--debug", "generate", "tile", "--rows", "0", "-o", "x"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr


def test_malformed_config_file_is_refused(tmp_path):
    (tmp_path / "bad.toml").write_text("[tile]\ncell_bits = 13\n")
    result = subprocess.run(["spinemu", "generate", "tile", "--config", "bad.toml", "-o", "x"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: cell_bits = 13 is out of range; allowed 2..12"
    assert not (tmp_path / "x").exists()
