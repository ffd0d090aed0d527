"""The golden tile model against a plain-loop reference and the numeric contract (DESIGN 3.1)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spinemu.config import ConfigError, TileConfig
from spinemu.numeric import rshift_round, sat, signed_range
from spinemu.sim.golden import CrossbarTileModel, spec, tile, tile_forward
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


# --- The fast engine: split weights, compiled epilogue ----------------------------------------

def wide_config(rng, rows: int) -> TileConfig:
    """A tile of ``rows`` rows and wide random formats, every calibration field random."""
    gain_bits = int(rng.integers(1, 17))
    cols = int(rng.integers(1, 5))
    return TileConfig(
        rows=rows, cols=cols, cell_bits=int(rng.integers(9, 13)),
        input_bits=int(rng.integers(6, 9)), input_signed=bool(rng.integers(2)),
        adc_bits=int(rng.integers(1, 17)), gain_bits=gain_bits,
        gain_frac=int(rng.integers(0, gain_bits)), offset_bits=int(rng.integers(1, 17)),
        out_bits=int(rng.integers(1, 33)), lanes=1)


def extreme_images(rng, config: TileConfig, batch: int):
    """:func:`random_images` with some rows of inputs and weights pinned to the ends of their
    ranges (the largest sums of either sign: saturation of ADC and output)."""
    g, x, adc_shift, gain, offset = random_images(rng, config, batch)
    g_lo, g_hi = signed_range(config.cell_bits)
    x_lo, x_hi = config.input_range
    g[:, 0] = g_lo
    if config.cols > 1:
        g[:, 1] = g_hi
    x[0] = x_lo
    if batch > 1:
        x[1] = x_hi
    return g, x, adc_shift, gain, offset


@pytest.mark.parametrize("seed", range(12))
def test_every_sum_plan_matches_the_literal_spec(seed):
    """Rows chosen so that the sums need one float32 part, two float32 parts or float64 (the
    last case has the widest cells and inputs); every seed covers all three."""
    rng = np.random.default_rng(seed)
    plans = set()
    for rows in (int(rng.integers(1, 33)), int(rng.integers(256, 1025)), 2048, 4096):
        config = wide_config(rng, rows)
        if rows == 4096:
            config = dataclasses.replace(config, cell_bits=12, input_bits=8)
        g, x, adc_shift, gain, offset = extreme_images(rng, config, 3)
        plan = tile.sum_plan(config)
        plans.add(plan[:2])
        got = CrossbarTileModel(config, g, adc_shift, gain, offset)(x)
        expected = spec.tile_outputs(config, g, x, adc_shift, gain, offset)
        assert (got == expected).all(), (seed, config, plan)
    assert {(np.float32, 1), (np.float32, 2), (np.float64, 1)} == plans, plans


@pytest.mark.parametrize("seed", range(20))
def test_weight_splits_are_exact(seed):
    """Every part of a float32 split keeps rows * max|x| * max|part| <= 2**24 (so BLAS adds
    whole numbers exactly) and the parts add back up to the weights."""
    rng = np.random.default_rng(100 + seed)
    config = wide_config(rng, int(rng.choice([1, 63, 256, 1000, 2048, 4096])))
    dtype, parts, shift = tile.sum_plan(config)
    g = rng.integers(*signed_range(config.cell_bits), endpoint=True, size=(config.rows, 3))
    g[0] = signed_range(config.cell_bits)[0]
    split = tile.split_weights(g, parts, shift).reshape(config.rows, parts, 3)
    assert (sum(split[:, k] << (k * shift) for k in range(parts)) == g).all()
    if dtype is np.float32:
        reach = config.rows * max(-config.input_range[0], config.input_range[1])
        largest = [(1 << shift) - 1] * (parts - 1) + [
            -signed_range(config.cell_bits - (parts - 1) * shift)[0]]
        assert max(largest) * reach <= tile.FLOAT32_EXACT
        assert all(np.abs(split[:, k]).max() <= largest[k] for k in range(parts))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64,
                                   np.float64])
def test_inputs_of_any_integer_type(dtype):
    config = TileConfig(rows=40, cols=6, input_bits=7, input_signed=dtype not in (np.uint8,
                                                                                 np.uint32),
                        lanes=1)
    g, x, adc_shift, gain, offset = random_images(np.random.default_rng(5), config, 4)
    model = CrossbarTileModel(config, g, adc_shift, gain, offset)
    expected = spec.tile_outputs(config, g, x, adc_shift, gain, offset)
    assert (model(x.astype(dtype)) == expected).all()
    wide = np.zeros((4, 2 * config.rows), dtype=dtype)
    wide[:, ::2] = x
    assert (model(wide[:, ::2]) == expected).all()  # not contiguous
    bad = x.astype(dtype)
    bad[2, 7] = 64 if config.input_signed else 128
    with pytest.raises(ConfigError, match=r"^inputs\[2, 7\] = \d+ is out of range; allowed "):
        model(bad)
