"""The 32-bit Galois LFSR of DESIGN.md 3.3, leaping ``steps`` steps in one clock."""

from __future__ import annotations

from functools import reduce
from operator import xor

from amaranth.hdl import Cat, Module, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from spinemu.numeric import LFSR_BITS, lfsr_leap_matrix

__all__ = ["LFSR", "leap"]


def leap(state: Value, steps: int) -> Value:
    """``steps`` LFSR steps of a 32-bit ``state`` as XOR logic (the GF(2) leap matrix)."""
    matrix = lfsr_leap_matrix(steps)
    return Cat(*(reduce(xor, [state[j] for j in range(LFSR_BITS) if matrix[i, j]], 0)
                 for i in range(LFSR_BITS)))


class LFSR(wiring.Component):
    """One LFSR that draws a signed ``bits``-bit sample per enabled clock.

    Parameters
    ----------
    bits : int
        Sample width b, 1..32: every draw advances the register b steps (one clock).

    Members
    -------
    seed : In(unsigned(32)), load : In(1)
        With ``load`` high the register takes ``seed`` on the next clock (a zero seed is
        replaced by 1: the all-zero state never leaves itself).
    en : In(1)
        Draw: the register leaps b steps on the next clock.
    state : Out(unsigned(32))
        The register.
    sample : Out(signed(bits))
        The low b bits of ``state`` read as two's complement: after a draw, that draw's sample.
        Latency one clock from ``en``; one sample per clock.
    """

    def __init__(self, bits: int):
        if not 1 <= bits <= LFSR_BITS:
            raise ValueError(f"bits = {bits} is out of range; allowed 1..{LFSR_BITS}")
        self._bits = bits
        super().__init__({
            "seed": In(unsigned(LFSR_BITS)), "load": In(1), "en": In(1),
            "state": Out(unsigned(LFSR_BITS), init=1), "sample": Out(signed(bits)),
        })

    @property
    def bits(self) -> int:
        return self._bits

    def elaborate(self, platform):
        m = Module()
        with m.If(self.load):
            m.d.sync += self.state.eq(self.seed | (self.seed == 0))
        with m.Elif(self.en):
            m.d.sync += self.state.eq(leap(self.state, self._bits))
        m.d.comb += self.sample.eq(self.state[: self._bits])
        return m

