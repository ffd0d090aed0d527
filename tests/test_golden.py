"""The golden tile model against a plain-loop reference and the numeric contract (DESIGN 3.1)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spinemu.config import ConfigError, TileConfig
from spinemu.numeric import rshift_round, sat, signed_range
from spinemu.sim.golden import CrossbarTileModel, spec, tile_forward
from spinemu.sim.stimulus import random_images

from cases import tile_configs


@settings(max_examples=150, deadline=None)
@given(config=tile_configs(), seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 4))
def test_matches_the_literal_spec(config, seed, batch):
    g, x, adc_shift, gain, offset = random_images(np.random.default_rng(seed), config, batch)
    got = tile_forward(config, g, x, adc_shift, gain, offset)
    assert (got == spec.tile_outputs(config, g, x, adc_shift, gain, offset)).all()


@settings(max_examples=150, deadline=None)
@given(config=tile_configs(), seed=st.integers(0, 2**32 - 1))
def test_outputs_inside_saturation_bounds(config, seed):
    g, x, adc_shift, gain, offset = random_images(np.random.default_rng(seed), config, 3)
    z = tile_forward(config, g, x, adc_shift, gain, offset)
    lo, hi = signed_range(config.out_bits)
    assert z.dtype == np.int64 and z.shape == (3, config.cols)
    assert ((z >= lo) & (z <= hi)).all()


@given(v=st.integers(-(2**40), 2**40), s=st.integers(0, 30))
def test_rshift_round_is_division_rounding_half_up(v, s):
    expected = math.floor(Fraction(v, 2**s) + Fraction(1, 2)) if s else v
    assert rshift_round(v, s) == expected
    assert int(rshift_round(np.array([v]), np.array([s]))[0]) == expected


@given(v=st.integers(-(2**40), 2**40), bits=st.integers(1, 40))
def test_sat_bounds(v, bits):
    lo, hi = signed_range(bits)
    assert sat(v, bits) == min(max(v, lo), hi)
    assert int(sat(np.array([v]), bits)[0]) == sat(v, bits)


def test_extreme_widths_are_exact():
    """Largest sums of the parameter space (4096 rows, 8-bit signed inputs, 12-bit cells) stay
    exact: all inputs and cells at the most negative code give the largest positive sum."""
    config = TileConfig(rows=4096, cols=2, cell_bits=12, input_bits=8, input_signed=True,
                        adc_bits=16, gain_bits=1, gain_frac=0, out_bits=32, lanes=1)
    g = np.full((4096, 2), -2048)
    x = np.full((1, 4096), -128)
    z = tile_forward(config, g, x, np.zeros(2, int), np.ones(2, int), np.zeros(2, int))
    assert z.tolist() == [[sat(4096 * 128 * 2048, 16)] * 2]
    shift = config.acc_bits - 16
    z = tile_forward(config, g, x, np.full(2, shift), np.ones(2, int), np.zeros(2, int))
    assert z[0, 0] == sat(rshift_round(4096 * 128 * 2048, shift), 16)


@pytest.mark.parametrize("name, build, message", [
    ("weights", lambda c: (np.full((c.rows, c.cols), 8), None),
     r"^weights\[0, 0\] = 8 is out of range; allowed -8\.\.7 \(\d+ element\(s\) outside\)$"),
    ("weights shape", lambda c: (np.zeros((c.rows + 1, c.cols), int), None),
     r"^weights has shape \(65, 64\); expected \(64, 64\)$"),
    ("fractional weights", lambda c: (np.full((c.rows, c.cols), 0.5), None),
     r"^weights must hold integers, got dtype float64$"),
    ("inputs", lambda c: (np.zeros((c.rows, c.cols), int), np.full((2, c.rows), 16)),
     r"^inputs\[0, 0\] = 16 is out of range; allowed 0\.\.15"),
    ("negative unsigned input", lambda c: (np.zeros((c.rows, c.cols), int),
                                           np.full((1, c.rows), -1)),
     r"^inputs\[0, 0\] = -1 is out of range; allowed 0\.\.15"),
])
def test_bad_images_are_refused(name, build, message):
    config = TileConfig()
    g, x = build(config)
    with pytest.raises(ConfigError, match=message):
        CrossbarTileModel(config, g)(np.zeros((1, config.rows), int) if x is None else x)


@pytest.mark.parametrize("field, value, message", [
    ("adc_shift", 15, r"^adc_shift\[3\] = 15 is out of range; allowed 0\.\.14"),  # acc_bits 14
    ("gain", 256, r"^gain\[3\] = 256 is out of range; allowed 0\.\.255"),
    ("offset", -129, r"^offset\[3\] = -129 is out of range; allowed -128\.\.127"),
])
def test_bad_calibration_is_refused(field, value, message):
    config = TileConfig()
    names = ("adc_shift", "gain", "offset")
    registers = dict(zip(names, config.default_calibration(), strict=True))
    registers[field][3] = value
    with pytest.raises(ConfigError, match=message):
        CrossbarTileModel(config, np.zeros((64, 64), int), **registers)


def test_model_uses_an_exact_fast_path():
    """Sums just above float32's exact range must still come out exact."""
    config = TileConfig(rows=1024, cols=4, cell_bits=8, input_bits=8, input_signed=False,
                        adc_bits=16, out_bits=32, gain_bits=1, gain_frac=0, lanes=1)
    g = np.full((1024, 4), -128)
    g[0] = -127  # an odd sum that float32 would round
    x = np.full((1, 1024), 255)
    exact = -1023 * 255 * 128 - 255 * 127
    assert abs(exact) > 2**24
    for shift in (0, 5):
        z = tile_forward(config, g, x, np.full(4, shift), np.ones(4, int), np.zeros(4, int))
        assert (z == sat(rshift_round(exact, shift), 16)).all()
