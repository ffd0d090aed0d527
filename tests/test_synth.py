"""The default tile synthesises for iCE40 UP5K and ECP5 with its weight memory in block RAM."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from spinemu.config import ConfigError, TileConfig
from spinemu.gateware.synth import DEVICES, format_reports, synthesize
from spinemu.gateware.toolchain import TOOLS, ToolchainError, toolchain_env
from spinemu.numeric import signed_range


def weight_bits(config: TileConfig) -> int:
    """Bits of the weight memory: rows * groups words of lanes cells."""
    return config.rows * config.groups * config.lanes * config.cell_bits


@pytest.fixture(scope="module")
def default_reports():
    return {target: synthesize(TileConfig(), target) for target in DEVICES}


def assert_weights_in_bram(report):
    bits = weight_bits(report.config)
    assert "w_mem" in report.bram_memories, report.memories
    assert report.brams >= math.ceil(bits / report.device.bram_bits), report.cells
    # A memory built from flip-flops needs one per bit.
    assert report.ffs < bits // 4, report.cells


@pytest.mark.parametrize("target", sorted(DEVICES))
def test_default_tile_fits_with_weights_in_bram(default_reports, target):
    report = default_reports[target]
    assert_weights_in_bram(report)
    usage = report.usage()
    assert usage["luts"][0] <= usage["luts"][1]
    assert usage["dsps"][0] <= usage["dsps"][1]
    assert report.fits(), format_reports([report])


@pytest.mark.parametrize("target", sorted(DEVICES))
def test_initialised_weights_stay_in_bram(target):
    config = TileConfig()
    rng = np.random.default_rng(1)
    g = rng.integers(*signed_range(config.cell_bits), size=(config.rows, config.cols),
                     endpoint=True)
    assert_weights_in_bram(synthesize(config, target, weights=g))


def test_reports_serialise_and_tabulate(default_reports):
    reports = list(default_reports.values())
    for report in reports:
        values = json.loads(json.dumps(report.to_dict()))
        assert values["capacity"] == report.device.capacity
        assert TileConfig.from_dict(values["config"]) == report.config
        assert values["cells"] == report.cells
    lines = format_reports(reports).splitlines()
    assert len(lines) == 1 + len(reports)
    assert lines[0].split()[0] == "target"


@pytest.mark.parametrize("target, message", [
    ("xc7", r"^target = 'xc7' is not supported; allowed \['ecp5', 'ice40'\]$"),
    ("ICE40", r"^target = 'ICE40' is not supported; allowed \['ecp5', 'ice40'\]$"),
])
def test_bad_target_is_refused(target, message):
    with pytest.raises(ConfigError, match=message):
        synthesize(TileConfig(), target)


def test_toolchain_env_points_at_yowasp():
    env = toolchain_env()
    assert env["AMARANTH_USE_YOSYS"] == "builtin"
    for var, (executable, _package) in TOOLS.items():
        assert Path(env[var]).name == executable
        assert os.access(env[var], os.X_OK)


def test_yosys_failure_is_reported(monkeypatch):
    broken = dataclasses.replace(DEVICES["ice40"], script="synth_nowhere")
    monkeypatch.setitem(DEVICES, "ice40", broken)
    with pytest.raises(ToolchainError,
                       match=r"^yosys synth_nowhere failed for target = 'ice40' \(exit 1\):\n"
                             r"(.|\n)*synth_nowhere"):
        synthesize(TileConfig(rows=4, cols=4, lanes=4), "ice40")
