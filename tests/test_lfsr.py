# amaranth: UnusedElaboratable=no
"""The LFSR component against the numeric definition (DESIGN 3.3)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from spinemu.hdl.lfsr import LFSR
from spinemu.numeric import lfsr_sample


@pytest.mark.parametrize("bits", [1, 2, 7, 14, 24, 32])
def test_samples_and_states_match_numeric(bits):
    seed = int(np.random.default_rng(bits).integers(1, 2**32))
    dut = LFSR(bits)
    got = []

    async def bench(ctx):
        ctx.set(dut.seed, seed)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        for draw in range(40):
            ctx.set(dut.en, draw % 3 != 2)  # idle clocks must not advance it
            await ctx.tick()
            if draw % 3 != 2:
                got.append((ctx.get(dut.state), ctx.get(dut.sample)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    state, expected = seed, []
    for _ in got:
        state, sample = lfsr_sample(state, bits)
        expected.append((state, sample))
    assert got == expected


def test_zero_seed_becomes_one():
    dut = LFSR(8)

    async def bench(ctx):
        ctx.set(dut.load, 1)
        await ctx.tick()
        assert ctx.get(dut.state) == 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_bad_width_is_refused():
    with pytest.raises(ValueError, match=r"^bits = 33 is out of range; allowed 1\.\.32$"):
        LFSR(33)
