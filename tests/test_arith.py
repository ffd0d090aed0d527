"""Amaranth arithmetic helpers equal their numpy twins, exhaustively on small widths."""

from __future__ import annotations

import itertools
import random

import pytest
from amaranth.hdl import Const, Module, signed, unsigned
from amaranth.sim import Simulator

from spinemu.hdl import arith
from spinemu.numeric import rshift_round, sat, signed_range, usat


def evaluate(expressions):
    """Values of constant Amaranth expressions, via the simulator."""
    values = []

    async def bench(ctx):
        values.extend(ctx.get(e) for e in expressions)

    sim = Simulator(Module())
    sim.add_testbench(bench)
    sim.run()
    return values


@pytest.mark.parametrize("width, bits", [(5, 3), (3, 5), (6, 1), (4, 4)])
def test_sat_usat(width, bits):
    lo, hi = signed_range(width)
    values = range(lo, hi + 1)
    got = evaluate([arith.sat(Const(v, signed(width)), bits) for v in values]
                   + [arith.usat(Const(v, signed(width)), bits) for v in values])
    assert got == [sat(v, bits) for v in values] + [usat(v, bits) for v in values]


@pytest.mark.parametrize("width", [1, 4, 7])
def test_rshift_round_constant(width):
    lo, hi = signed_range(width)
    cases = list(itertools.product(range(lo, hi + 1), range(0, width + 3)))
    got = evaluate([arith.rshift_round(Const(v, signed(width)), s) for v, s in cases])
    assert got == [rshift_round(v, s) for v, s in cases]


@pytest.mark.parametrize("width", [1, 3, 6])
def test_rshift_round_variable(width):
    lo, hi = signed_range(width)
    max_shift = width + 1
    shift_shape = unsigned(max_shift.bit_length())
    cases = list(itertools.product(range(lo, hi + 1), range(0, max_shift + 1)))
    got = evaluate([arith.rshift_round_var(Const(v, signed(width)), Const(s, shift_shape),
                                           max_shift) for v, s in cases])
    assert got == [rshift_round(v, s) for v, s in cases]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 2000])
def test_tree_sum(count):
    """Exact for any count (2,000 extreme values would overflow a chain's recursion), with
    signed and unsigned terms mixed, and logarithmic depth."""
    rng = random.Random(count)
    lo, hi = signed_range(6)
    terms = [(rng.choice([lo, hi, rng.randint(lo, hi)]), rng.random() < 0.5)
             for _ in range(count)]
    values = [Const(v, signed(6)) if is_signed else Const(v & 31, unsigned(5))
              for v, is_signed in terms]
    expected = sum(v if is_signed else v & 31 for v, is_signed in terms)
    total = arith.tree_sum(values)
    assert evaluate([total]) == [expected]
    assert total.shape().width <= 6 + 1 + (count - 1).bit_length()
    with pytest.raises(ValueError, match="at least one"):
        arith.tree_sum([])


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 33])
def test_mux_tree_picks_the_indexed_bit(count):
    """Every in-range index of random bits (a list, and a value), and an index too narrow for
    the bits refused."""
    rng = random.Random(count)
    bits = [rng.randint(0, 1) for _ in range(count)]
    width = max((count - 1).bit_length(), 1)
    picked = [arith.mux_tree([Const(b, 1) for b in bits], Const(i, width)) for i in range(count)]
    assert evaluate(picked) == bits
    word = Const(sum(b << i for i, b in enumerate(bits)), count)     # a value: its bits
    assert evaluate([arith.mux_tree(word, Const(i, width)) for i in range(count)]) == bits
    if count > 2:
        with pytest.raises(ValueError, match=f"index of 1 bits cannot select one of {count}"):
            arith.mux_tree([Const(b, 1) for b in bits], Const(0, 1))
    with pytest.raises(ValueError, match="at least one"):
        arith.mux_tree([], Const(0, 1))
