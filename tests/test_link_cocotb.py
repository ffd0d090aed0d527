"""The tile fabric behind its UART pins, driven bit by bit by cocotbext-uart under cocotb.

The host driver (Link + TileClient over a cocotb bridge transport) programs weights and
calibration, reads everything back, runs vectors and reads the status registers; every result
is compared with the golden model. Random tile configurations, on Verilator and Icarus.
"""

from __future__ import annotations

import json
import shutil

import pytest

from spinemu.sim.golden import tile_forward
from spinemu.sim.runner import run_tile_link

from cases import random_tile_case


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("seed", [21, 22])
def test_tile_over_uart_pins_equals_golden(simulator, seed):
    if simulator == "icarus" and not shutil.which("iverilog"):
        pytest.skip("iverilog is not installed")
    case = random_tile_case(seed, max_rows=10, max_cols=7, batch=3)
    cfg = case.config
    out = run_tile_link(cfg, case.g, case.x, case.adc_shift, case.gain, case.offset,
                        simulator=simulator, divisor=4 + seed % 5)
    assert (out["g"] == case.g).all(), case
    assert (out["adc_shift"] == case.adc_shift).all(), case
    assert (out["gain"] == case.gain).all() and (out["offset"] == case.offset).all(), case
    expected = tile_forward(cfg, case.g, case.x, case.adc_shift, case.gain, case.offset)
    assert (out["z"] == expected).all(), case
    status = json.loads(str(out["status"]))
    assert status["framing_errors"] == 0 and status["bad_crc"] == 0, status
    assert status["idle"] == 1
