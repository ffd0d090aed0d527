"""CrossbarTile under cocotb on Verilator and Icarus, bit for bit against the golden model.

Twenty configurations drawn from fixed seeds span rows and cols 1..256, every cell, input and ADC
width, signed and unsigned inputs and lanes from 1 to cols; registers and stimuli are random over
their full ranges. Half load weights at run time through the write streams, half from the
memories' initial contents; a third stall every stream at random. A 2048x2048 tile runs on
Verilator under the ``slow`` marker.
"""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import TileConfig
from spinemu.sim.golden import tile_forward
from spinemu.sim.runner import run_tile
from spinemu.sim.stimulus import random_images

from cases import TileCase, random_config, simulator_or_skip

CASES = 20


def coverage_case(index: int) -> TileCase:
    """Case ``index`` of the suite: random, with each width swept across the cases."""
    rng = np.random.default_rng(1000 + index)
    base = random_config(rng, max_rows=256, max_cols=256)
    rows, cols = {0: (1, 1), 1: (256, 256), 2: (1, 256), 3: (256, 3)}.get(
        index, tuple(int(n) for n in rng.integers(2, 257, size=2)))
    lanes = (1, cols, int(rng.integers(1, cols + 1)))[index % 3]
    if rows * -(-cols // lanes) > 4096:  # keep a vector under ~70k cycles for Icarus
        lanes = max(lanes, -(-cols * rows // 4096))
    config = TileConfig(**{
        **base.to_dict(), "rows": rows, "cols": cols, "lanes": lanes,
        "cell_bits": 2 + index % 11, "input_bits": 1 + index % 8,
        "input_signed": bool(index % 2), "adc_bits": 1 + (index * 7) % 16,
    })
    return TileCase(index, config, *random_images(rng, config, batch=6))


def test_cases_span_the_parameter_space():
    configs = [coverage_case(i).config for i in range(CASES)]
    assert {c.cell_bits for c in configs} == set(range(2, 13))
    assert {c.input_bits for c in configs} == set(range(1, 9))
    assert {c.adc_bits for c in configs} == set(range(1, 17))
    assert {c.input_signed for c in configs} == {False, True}
    assert {1, 256} <= {c.rows for c in configs} and {1, 256} <= {c.cols for c in configs}
    assert any(c.rows & (c.rows - 1) and c.cols & (c.cols - 1) for c in configs)
    assert any(c.lanes == 1 < c.cols for c in configs)
    assert any(c.lanes == c.cols > 1 for c in configs)
    assert any(1 < c.lanes < c.cols for c in configs)


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("index", range(CASES))
def test_rtl_matches_golden(simulator, index):
    case = coverage_case(index)
    run = run_tile(case.config, case.g, case.x, case.adc_shift, case.gain, case.offset,
                   simulator=simulator_or_skip(simulator),
                   load=("runtime", "init")[index % 2], stall=(0.0, 0.25)[index % 3 == 2],
                   seed=index)
    expected = tile_forward(case.config, case.g, case.x, case.adc_shift, case.gain, case.offset)
    assert run.z.shape == expected.shape
    mismatches = int((run.z != expected).sum())
    assert mismatches == 0, f"{mismatches} mismatches for {case}\n{run.log}"


@pytest.mark.slow
def test_2048x2048_tile_on_verilator():
    config = TileConfig(rows=2048, cols=2048, cell_bits=12, input_bits=8, input_signed=True,
                        adc_bits=16, gain_bits=12, gain_frac=8, offset_bits=12, out_bits=16,
                        lanes=128)
    rng = np.random.default_rng(2048)
    g, x, adc_shift, gain, offset = random_images(rng, config, batch=2)
    run = run_tile(config, g, x, adc_shift, gain, offset, simulator="verilator", load="runtime")
    assert (run.z == tile_forward(config, g, x, adc_shift, gain, offset)).all(), run.log
