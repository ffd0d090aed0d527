"""The integer helpers of spinemu.numeric that every other module uses: code ranges, two's
complement, round-half-up shifts and the two float roundings (the LFSR helpers are in
``test_lfsr_numeric.py``, their Amaranth twins in ``test_arith.py``).

Each helper is compared with its definition written with other operators (``%``, ``//``,
:class:`fractions.Fraction`), on every value of small widths and on random values of wide ones,
for Python ints and for numpy arrays of the dtypes the callers pass.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from spinemu.numeric import (
    code_range,
    round_half_away,
    round_half_up,
    rshift_round,
    sat,
    signed_range,
    to_signed,
    to_unsigned,
    unsigned_range,
    usat,
)

WIDTHS = [1, 2, 3, 4, 7, 8, 12, 16]


def signed_definition(word: int, bits: int) -> int:
    low = word % 2**bits
    return low - 2**bits if low >= 2**(bits - 1) else low


# --- Code ranges --------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [1, 2, 5, 8, 16, 32, 63, 64, 100])
def test_ranges_are_the_n_bit_codes(bits):
    assert signed_range(bits) == (-2**(bits - 1), 2**(bits - 1) - 1)
    assert unsigned_range(bits) == (0, 2**bits - 1)
    assert code_range(bits, True) == signed_range(bits)
    assert code_range(bits, False) == unsigned_range(bits)


@pytest.mark.parametrize("bits", WIDTHS)
def test_ranges_hold_exactly_the_values_of_bits_bits(bits):
    """Both ranges have 2**bits values, and a value is in the signed range exactly when its
    two's-complement word reads back as itself."""
    for signed in (True, False):
        lo, hi = code_range(bits, signed)
        assert hi - lo + 1 == 2**bits
    lo, hi = signed_range(bits)
    values = range(lo - 3, hi + 4)
    assert [lo <= v <= hi for v in values] == [to_signed(to_unsigned(v, bits), bits) == v
                                               for v in values]


# --- Two's complement ---------------------------------------------------------------------------

@pytest.mark.parametrize("bits", WIDTHS)
def test_twos_complement_round_trips_every_code(bits):
    lo, hi = signed_range(bits)
    for v in range(lo, hi + 1):
        word = to_unsigned(v, bits)
        assert word == v % 2**bits and 0 <= word <= unsigned_range(bits)[1]
        assert to_signed(word, bits) == v
    for word in range(2**bits):
        assert to_signed(word, bits) == signed_definition(word, bits)
        assert to_unsigned(to_signed(word, bits), bits) == word


@pytest.mark.parametrize("bits", [1, 5, 31, 32, 33, 64, 90])
def test_twos_complement_drops_the_higher_bits(bits):
    rng = np.random.default_rng(bits)
    for _ in range(200):
        word = int(rng.integers(0, 2**62)) << int(rng.integers(0, 40))
        high = int(rng.integers(-1000, 1000)) << bits
        assert to_unsigned(word + high, bits) == word % 2**bits
        assert to_signed(word + high, bits) == signed_definition(word, bits)


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64, np.int64])
@pytest.mark.parametrize("bits", [1, 3, 14, 16, 31, 32])
def test_twos_complement_of_arrays_equals_that_of_ints(dtype, bits):
    """Arrays as the callers pass them: LFSR states (uint32, uint64), codes and words (int64)."""
    top = min(np.iinfo(dtype).max, 2**40)
    words = np.random.default_rng(bits).integers(0, top, size=500, dtype=dtype, endpoint=True)
    words[:2] = [0, top]
    signed = to_signed(words, bits)
    assert signed.dtype == np.int64
    assert signed.tolist() == [signed_definition(int(w), bits) for w in words]
    unsigned = to_unsigned(words, bits)
    assert unsigned.dtype == dtype
    assert unsigned.tolist() == [int(w) % 2**bits for w in words]


def test_to_signed_of_numpy_scalars_is_an_int():
    # A uint32 scalar kept its dtype would wrap the subtraction instead of going negative.
    got = to_signed(np.uint32(0xFFFF_FFFF), 32)
    assert type(got) is int and got == -1
    assert to_signed(np.int64(0x80), 8) == -128


# --- Rounding -----------------------------------------------------------------------------------

def test_rshift_round_is_floor_of_value_plus_half():
    rng = np.random.default_rng(5)
    v = rng.integers(-2**40, 2**40, size=2000)
    s = rng.integers(0, 20, size=2000)
    expected = [math.floor(Fraction(int(a), 2**int(b)) + Fraction(1, 2)) if b else int(a)
                for a, b in zip(v, s, strict=True)]
    assert rshift_round(v, s).tolist() == expected
    assert [rshift_round(int(a), int(b)) for a, b in zip(v, s, strict=True)] == expected
    out = v.copy()
    assert rshift_round(out, s, out=out) is out and out.tolist() == expected


def test_round_half_up_is_rshift_round_on_floats():
    """The mapper's float rounding is the hardware's: ``round_half_up(v / 2**s)`` equals
    ``rshift_round(v, s)`` whenever ``v / 2**s`` is exact."""
    rng = np.random.default_rng(6)
    v = rng.integers(-2**30, 2**30, size=2000)
    v[:8] = [-5, -3, -1, 1, 3, 5, -2, 2]   # ties at s = 1
    for s in (0, 1, 2, 7):
        got = round_half_up(v / 2**s)
        assert got.dtype == np.float64
        assert (got == rshift_round(v, s)).all()


@pytest.mark.parametrize("value, up, away", [
    (0.5, 1, 1), (-0.5, 0, -1), (1.5, 2, 2), (-1.5, -1, -2), (2.5, 3, 3), (-2.5, -2, -3),
    (0.4, 0, 0), (-0.4, 0, 0), (1.4, 1, 1), (-1.6, -2, -2),
    (0.0, 0, 0), (-0.0, 0, 0), (1e15 + 0.5, 1e15 + 1, 1e15 + 1),
])
def test_roundings_differ_only_on_negative_ties(value, up, away):
    assert round_half_up(value) == up
    assert round_half_away(value) == away
    assert type(round_half_away(value)) is int


def test_round_half_away_of_arrays_equals_that_of_floats():
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(scale=100, size=1000),
                             rng.integers(-200, 200, size=200) + 0.5,
                             rng.integers(-200, 200, size=200).astype(np.float64)])
    got = round_half_away(values)
    assert got.dtype == np.int64 and got.shape == values.shape
    assert got.tolist() == [round_half_away(float(v)) for v in values]
    assert (np.abs(got - values) <= 0.5).all()
    ties = values % 1 == 0.5
    assert ties.any() and (np.abs(got[ties]) > np.abs(values[ties])).all()
    assert round_half_away(values.reshape(40, 35)).shape == (40, 35)


# --- Saturation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [1, 3, 8])
def test_saturation_clamps_to_the_code_ranges(bits):
    values = np.arange(-3 * 2**bits, 3 * 2**bits)
    for clamp, (lo, hi) in ((sat, signed_range(bits)), (usat, unsigned_range(bits))):
        expected = [min(max(int(v), lo), hi) for v in values]
        assert clamp(values, bits).tolist() == expected
        assert [clamp(int(v), bits) for v in values] == expected
