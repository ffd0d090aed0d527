# amaranth: UnusedElaboratable=no
"""The UART in amaranth.sim: bytes through transmitter and receiver, framing errors, overruns."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from spinemu.hdl.uart import UARTRx, UARTTx, baud_divisor
from spinemu.sim.testbench import random_pause, stream_get, stream_put


class Loop(wiring.Component):
    """A transmitter wired to a receiver."""

    def __init__(self, divisor):
        self.tx, self.rx = UARTTx(divisor), UARTRx(divisor)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx, m.submodules.rx = self.tx, self.rx
        m.d.comb += self.rx.rx.eq(self.tx.tx)
        return m


@pytest.mark.parametrize("divisor", [4, 5, 8, 13])
def test_bytes_pass_at_every_divisor(divisor):
    rng = np.random.default_rng(divisor)
    sent = [int(b) for b in rng.integers(0, 256, size=40)]
    dut = Loop(divisor)
    got = {}

    async def drive(ctx):
        await stream_put(ctx, dut.tx.i, sent, random_pause(rng, 0.3))

    async def check(ctx):
        got["bytes"] = await stream_get(ctx, dut.rx.o, len(sent))
        got["errors"] = (ctx.get(dut.rx.framing_errors), ctx.get(dut.rx.overruns))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(check)
    sim.run()
    assert got["bytes"] == sent
    assert got["errors"] == (0, 0)


def _bits(byte, stop=1):
    return [0] + [(byte >> k) & 1 for k in range(8)] + [stop]


def test_framing_error_and_overrun_are_counted():
    divisor = 6
    dut = UARTRx(divisor)
    got = {}

    async def bench(ctx):
        async def line(bits):
            for bit in bits:
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(divisor)

        await line([1, 1] + _bits(0x5A, stop=0) + [1, 1])   # stop bit low: dropped, counted
        await line(_bits(0x11) + _bits(0x22) + [1, 1])      # nobody reads: 0x22 overruns
        got["counts"] = (ctx.get(dut.framing_errors), ctx.get(dut.overruns))
        got["byte"] = (ctx.get(dut.o.valid), ctx.get(dut.o.payload))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got["counts"] == (1, 1)
    assert got["byte"] == (1, 0x11)


def test_baud_divisor():
    assert baud_divisor(12_000_000, 115_200) == 104
    assert baud_divisor(25_000_000, 1_000_000) == 25
    with pytest.raises(ValueError, match=r"^baud = 4000000 is too fast for a 12000000 Hz clock"):
        baud_divisor(12_000_000, 4_000_000)
    with pytest.raises(ValueError, match=r"^baud = 2500000 is 4\.0% off at 12000000 Hz"):
        baud_divisor(12_000_000, 2_500_000)
