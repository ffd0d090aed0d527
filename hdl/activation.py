"""The p-bit activation pipeline (DESIGN.md 3.4): from a p-bit's coupling sum to its new state.

One :class:`Activation` serves an :class:`~spinemu.hdl.pbit_unit.UpdateUnit` (the sum of its
couplings) and the :class:`~spinemu.hdl.hybrid.HybridCore` (a crossbar tile's output): both hand
it a sum and a tag, and read the bias and LFSR word of the tagged p-bit from their memories a
clock later.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import PBitConfig
from spinemu.numeric import LFSR_BITS

from .arith import rshift_round, sat
from .lfsr import leap

__all__ = ["ACTIVATION_LATENCY", "Activation"]

#: Clocks from ``start`` to ``write_back`` (stages B1, B2, B3, C, D): ``delta`` is one later.
ACTIVATION_LATENCY = 5


class Activation(wiring.Component):
    """Field, argument, tanh ROM read, LFSR leap and compare of one p-bit update per clock.

    Parameters
    ----------
    config : PBitConfig
        Number formats: ``bias_bits``, ``beta_bits``, ``beta_frac``, ``lut_bits``,
        ``rng_bits``.
    field_bits : int
        Signed width F of the sum and of the field ``I = sum + h`` (the caller makes it wide
        enough: ``I`` is kept modulo 2^F).
    tag_bits : int
        Width of the tag that travels with an update (the p-bit's slot), >= 1.

    Members
    -------
    start : In(Signature({valid: 1, tag: unsigned(tag_bits), sum: signed(F)}))
        While ``valid``: update p-bit ``tag`` from the coupling sum ``sum``.
    h : In(signed(bias_bits)); lfsr : In(unsigned(32))
        The p-bit's bias and LFSR state, the clock after ``start`` (the words of memories the
        caller addressed with the ``start`` clock's tag).
    beta : In(unsigned(beta_bits))
        Inverse-temperature code ``B``; held while ``busy``.
    lut_addr : Out(unsigned(lut_bits)); lut_data : In(signed(rng_bits))
        A read port of the tanh ROM (synchronous: ``lut_data`` is ``T[lut_addr]`` a clock
        later).
    old : In(1)
        The state bit of p-bit ``write_back.tag`` (combinational, read while ``write_back``
        is valid): the old state of a flip.
    write_back : Out(Signature({valid: 1, tag: unsigned(tag_bits), up: 1, lfsr: unsigned(32)}))
        While ``valid``: p-bit ``tag`` takes the state ``up`` and the LFSR state ``lfsr``; the
        owner of the state and LFSR memories applies them at that clock edge.
    delta : Out(signed(F + 2))
        Energy change of the write-back of the clock before, ``-(m_new - m_old) * I`` (0 when
        there was none): registered.
    busy : Out(1)
        An update is in one of the stages B1..D.

    Latency and throughput
    ----------------------
    One update per clock. B1 registers the sum and tag of ``start``; B2 registers
    ``I = sum + h`` and the LFSR word; B3 the product ``I * B`` and the leap of ``rng_bits``
    LFSR steps; ``a = sat(rshift_round(I * B, beta_frac), lut_bits)`` goes to ``lut_addr``
    during B3; C registers the ROM word ``T[a]``; D compares ``T[a] > r`` (r the low
    ``rng_bits`` of the leapt LFSR, signed): ``write_back`` is valid
    :data:`ACTIVATION_LATENCY` (5) clocks after ``start``, ``delta`` 6 clocks after.
    """

    def __init__(self, config: PBitConfig, *, field_bits: int, tag_bits: int):
        if not isinstance(config, PBitConfig):
            raise TypeError(f"config must be a PBitConfig, not {type(config).__name__}")
        if field_bits < 2:
            raise ValueError(f"field_bits = {field_bits} is out of range; allowed >= 2")
        if tag_bits < 1:
            raise ValueError(f"tag_bits = {tag_bits} is out of range; allowed >= 1")
        self._config, self._field_bits, self._tag_bits = config, field_bits, tag_bits
        tag, field = unsigned(tag_bits), signed(field_bits)
        super().__init__({
            "start": In(wiring.Signature({"valid": Out(1), "tag": Out(tag), "sum": Out(field)})),
            "h": In(signed(config.bias_bits)),
            "lfsr": In(unsigned(LFSR_BITS)),
            "beta": In(unsigned(config.beta_bits)),
            "lut_addr": Out(unsigned(config.lut_bits)),
            "lut_data": In(signed(config.rng_bits)),
            "old": In(1),
            "write_back": Out(wiring.Signature({
                "valid": Out(1), "tag": Out(tag), "up": Out(1),
                "lfsr": Out(unsigned(LFSR_BITS))})),
            "delta": Out(signed(field_bits + 2)),
            "busy": Out(1),
        })

    @property
    def config(self) -> PBitConfig:
        return self._config

    @property
    def field_bits(self) -> int:
        return self._field_bits

    @property
    def tag_bits(self) -> int:
        return self._tag_bits

    def elaborate(self, platform):
        cfg, field, tag = self._config, signed(self._field_bits), unsigned(self._tag_bits)
        m = Module()
        b1_valid, b1_sum, b1_tag = Signal(), Signal(field), Signal(tag)
        m.d.sync += b1_valid.eq(self.start.valid)
        with m.If(self.start.valid):
            m.d.sync += [b1_sum.eq(self.start.sum), b1_tag.eq(self.start.tag)]
        b2_valid, b2_field, b2_tag, b2_lfsr = Signal(), Signal(field), Signal(tag), Signal(32)
        m.d.sync += b2_valid.eq(b1_valid)
        with m.If(b1_valid):
            m.d.sync += [b2_field.eq(b1_sum + self.h), b2_tag.eq(b1_tag), b2_lfsr.eq(self.lfsr)]
        product = b2_field * self.beta
        b3_valid, b3_field, b3_product = Signal(), Signal(field), Signal.like(product)
        b3_tag, b3_lfsr = Signal(tag), Signal(LFSR_BITS)
        m.d.sync += b3_valid.eq(b2_valid)
        with m.If(b2_valid):  # (a load enable: the simulator then skips the leap when idle)
            m.d.sync += [b3_field.eq(b2_field), b3_product.eq(product), b3_tag.eq(b2_tag),
                         b3_lfsr.eq(leap(b2_lfsr, cfg.rng_bits))]
        argument = sat(rshift_round(b3_product, cfg.beta_frac), cfg.lut_bits)
        m.d.comb += self.lut_addr.eq(argument[: cfg.lut_bits])
        c_valid, c_field, c_tag, c_lfsr = Signal(), Signal(field), Signal(tag), Signal(LFSR_BITS)
        m.d.sync += c_valid.eq(b3_valid)
        with m.If(b3_valid):
            m.d.sync += [c_field.eq(b3_field), c_tag.eq(b3_tag), c_lfsr.eq(b3_lfsr)]
        d_valid, d_field, d_tag, d_lfsr = Signal(), Signal(field), Signal(tag), Signal(LFSR_BITS)
        d_t = Signal(signed(cfg.rng_bits))
        m.d.sync += d_valid.eq(c_valid)
        with m.If(c_valid):
            m.d.sync += [d_field.eq(c_field), d_tag.eq(c_tag), d_lfsr.eq(c_lfsr),
                         d_t.eq(self.lut_data)]

        # Stage D: s = T[a] > r; the change of energy is registered (the anneal controller adds
        # it a clock later and reads the energy no earlier than two clocks after a write-back).
        up = Signal()
        m.d.comb += [up.eq(d_t > d_lfsr[: cfg.rng_bits].as_signed()),
                     self.write_back.valid.eq(d_valid), self.write_back.tag.eq(d_tag),
                     self.write_back.up.eq(up), self.write_back.lfsr.eq(d_lfsr),
                     self.busy.eq(b1_valid | b2_valid | b3_valid | c_valid | d_valid)]
        m.d.sync += self.delta.eq(0)
        with m.If(d_valid & (up != self.old)):
            m.d.sync += self.delta.eq(Mux(up, -2 * d_field, 2 * d_field))
        return m
