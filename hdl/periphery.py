"""The output periphery of a tiled layer (DESIGN.md 3.2): requantization of the adder-tree
sums into the codes of the next layer."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import LayerConfig, check_image
from spinemu.numeric import clog2, signed_range, unsigned_range

from .arith import rshift_round_var, sat, usat
from .ports import ReadSignature, serve_read

__all__ = ["OutputPeriphery", "act_shape", "periphery_layout"]


def act_shape(layer: LayerConfig):
    """Shape of one output code: ``unsigned(O)`` with relu, else ``signed(O)``."""
    return unsigned(layer.act_bits) if layer.relu else signed(layer.act_bits)


def periphery_layout(layer: LayerConfig) -> data.StructLayout:
    """One output's requantization registers, as stored and as written."""
    return data.StructLayout({
        "bias": signed(layer.bias_bits),
        "mult": unsigned(layer.mult_bits),
        "shift": unsigned(layer.max_shift.bit_length()),
    })



class OutputPeriphery(wiring.Component):
    """Requantization of the adder-tree sums (DESIGN.md 3.2), one output per clock.

    Parameters
    ----------
    layer : LayerConfig
        ``Out = out_features``, Y = ``y_bits``, O = ``act_bits``, widths of the registers.
    bias, mult, shift : array [Out], optional
        Initial registers; identity (0, 1, 0) when omitted.

    Members
    -------
    i : In(stream.Signature(signed(Y)))
        Sums ``y[o]``, output 0 first; ``Out`` transfers per vector.
    o : Out(stream.Signature(unsigned(O) with relu, else signed(O)))
        ``a[o] = usat/sat(rshift_round((relu(y + bias)) * mult, shift), O)``.
    reg_wr : In(stream.Signature(StructLayout({"index": ..., "regs": periphery_layout})))
        Writes the registers of output ``index``; always ready. Indices ``>= Out`` and shifts
        above ``max_shift`` are ignored. Write only while no vector is in flight (the tiled
        layer does).
    reg_rd : In(ReadSignature(index, periphery_layout))
        Read-back of output ``index``'s registers, answered only while no sum is in the
        pipeline (the memory's read port is shared); latency 1.

    Timing
    ------
    Five register stages: the sum (with its output's registers read from a memory of Out
    words), bias and relu, the product, the shifted and rounded product, and the saturated
    code in ``o`` (shift and saturation in one clock were the longest path of the ULX3S
    default fabric's network). All stall together when ``o`` is full and not taken: latency
    5, one output per clock.
    """

    def __init__(self, layer: LayerConfig, bias=None, mult=None, shift=None):
        self._layer = layer
        out = layer.out_features
        self._init = (
            check_image("bias", np.zeros(out, np.int64) if bias is None else bias, (out,),
                        *signed_range(layer.bias_bits)),
            check_image("mult", np.ones(out, np.int64) if mult is None else mult, (out,),
                        *unsigned_range(layer.mult_bits)),
            check_image("shift", np.zeros(out, np.int64) if shift is None else shift, (out,),
                        0, layer.max_shift))
        super().__init__({
            "i": In(stream.Signature(signed(layer.y_bits))),
            "o": Out(stream.Signature(act_shape(layer))),
            "reg_wr": In(stream.Signature(data.StructLayout({
                "index": unsigned(clog2(out) or 1), "regs": periphery_layout(layer)}))),
            "reg_rd": In(ReadSignature(unsigned(clog2(out) or 1), periphery_layout(layer))),
        })

    def elaborate(self, platform):
        layer = self._layer
        out = layer.out_features
        m = Module()
        m.submodules.regs = regs = memory.Memory(
            shape=periphery_layout(layer), depth=out,
            init=[{"bias": int(b), "mult": int(k), "shift": int(s)}
                  for b, k, s in zip(*self._init, strict=True)])
        rd, wr = regs.read_port(), regs.write_port()

        advance = ~self.o.valid | self.o.ready
        index = Signal(range(out))
        idle = Signal()   # no sum in the pipeline: the read port serves read-back
        m.d.comb += [self.i.ready.eq(advance), rd.en.eq(advance),
                     rd.addr.eq(Mux(idle, self.reg_rd.addr.payload, index))]
        with m.If(self.i.valid & advance):
            m.d.sync += index.eq(Mux(index == out - 1, 0, index + 1))

        s1_valid, s1_y = Signal(), Signal(signed(layer.y_bits))
        s2_valid, s2_v = Signal(), Signal(signed(layer.v_bits))
        shift_shape = unsigned(layer.max_shift.bit_length())
        s2_mult, s2_shift = Signal(unsigned(layer.mult_bits)), Signal(shift_shape)
        s3_valid, s3_shift = Signal(), Signal(shift_shape)
        s3_prod = Signal(signed(layer.v_bits + layer.mult_bits + 1))
        v = s1_y + rd.data.bias
        scaled = rshift_round_var(s3_prod, s3_shift, layer.max_shift)
        s4_valid, s4_scaled = Signal(), Signal(scaled.shape())
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(self.i.valid), s1_y.eq(self.i.payload),
                s2_valid.eq(s1_valid), s2_v.eq(Mux(v < 0, 0, v) if layer.relu else v),
                s2_mult.eq(rd.data.mult), s2_shift.eq(rd.data.shift),
                s3_valid.eq(s2_valid), s3_prod.eq(s2_v * s2_mult), s3_shift.eq(s2_shift),
                s4_valid.eq(s3_valid), s4_scaled.eq(scaled),
                self.o.valid.eq(s4_valid),
                self.o.payload.eq(usat(s4_scaled, layer.act_bits) if layer.relu
                                  else sat(s4_scaled, layer.act_bits)),
            ]

        m.d.comb += [
            self.reg_wr.ready.eq(1),
            wr.addr.eq(self.reg_wr.payload.index),
            wr.data.eq(self.reg_wr.payload.regs),
            wr.en.eq(self.reg_wr.valid & (self.reg_wr.payload.index < out)
                     & (self.reg_wr.payload.regs.shift <= layer.max_shift)),
            idle.eq(~(self.i.valid | s1_valid | s2_valid | s3_valid | s4_valid | self.o.valid)),
        ]
        serve_read(m, idle, rd, self.reg_rd)
        return m
