"""The crossbar MAC tile (DESIGN.md 3.1) as an Amaranth component."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import TileConfig
from spinemu.numeric import clog2

from .arith import rshift_round, rshift_round_var, sat
from .ports import ReadSignature, serve_read

__all__ = [
    "CrossbarTile", "column_layout", "column_write_layout", "weight_words", "weight_write_layout",
    "weights_from_words",
]


def column_layout(config: TileConfig) -> data.StructLayout:
    """One column's calibration registers, as stored and as written."""
    return data.StructLayout({
        "adc_shift": unsigned(config.shift_bits),
        "gain": unsigned(config.gain_bits),
        "offset": signed(config.offset_bits),
    })


def weight_write_layout(config: TileConfig) -> data.StructLayout:
    """A weight-memory write: ``lanes`` cells of one row of one column group."""
    return data.StructLayout({
        "addr": unsigned(clog2(config.rows * config.groups) or 1),
        "data": data.ArrayLayout(signed(config.cell_bits), config.lanes),
    })


def column_write_layout(config: TileConfig) -> data.StructLayout:
    return data.StructLayout({
        "col": unsigned(clog2(config.cols) or 1),
        "regs": column_layout(config),
    })


def weight_words(config: TileConfig, g) -> np.ndarray:
    """The weight memory image ``[rows * groups, lanes]`` of a weight image ``g[rows, cols]``.

    Word ``k * rows + r`` holds ``g[r, k*lanes : (k+1)*lanes]``; columns past ``cols`` are zero.
    """
    g = config.check_weights(g)
    padded = np.zeros((config.rows, config.groups * config.lanes), dtype=np.int64)
    padded[:, : config.cols] = g
    return padded.reshape(config.rows, config.groups, config.lanes).transpose(1, 0, 2).reshape(
        config.rows * config.groups, config.lanes
    )


def weights_from_words(config: TileConfig, words) -> np.ndarray:
    """The weight image ``g[rows, cols]`` held by a weight memory image (inverse of
    :func:`weight_words`)."""
    words = np.asarray(words, dtype=np.int64).reshape(config.groups, config.rows, config.lanes)
    return words.transpose(1, 0, 2).reshape(config.rows, -1)[:, : config.cols]


class CrossbarTile(wiring.Component):
    """Quantized crossbar MAC tile: ``z = calibrate(adc(x @ g))`` per DESIGN.md 3.1.

    Parameters
    ----------
    config : TileConfig
        Sizes and widths; R = rows, C = cols, L = lanes, K = ceil(C / L) column groups,
        I = input_bits, G = cell_bits, A = adc_bits, Z = out_bits, W = acc_bits = I + G + clog2 R.
    weights : array [R, C], optional
        Initial weight image (signed G-bit codes); zero when omitted.
    adc_shift, gain, offset : array [C], optional
        Initial calibration registers; :meth:`TileConfig.default_calibration` when omitted.

    Members
    -------
    x : In(stream.Signature(signed(I) or unsigned(I)))
        Input codes, one per transfer, row 0 first; R transfers make one vector.
    z : Out(stream.Signature(signed(Z)))
        Outputs, one per transfer, column 0 first; C transfers per vector. Back-pressure through
        ``z.ready`` stalls the tile; nothing is dropped.
    weight_wr : In(stream.Signature(weight_write_layout(config)))
        Writes L cells (``data[l]`` is column ``k*L + l``) of row ``r`` of group ``k`` at
        ``addr = k*R + r``, one word per clock. Addresses ``>= R*K`` are ignored.
    column_wr : In(stream.Signature(column_write_layout(config)))
        Writes the ``adc_shift`` (0..W), ``gain`` and ``offset`` registers of column ``col``.
        Columns ``>= C`` and shifts above W are ignored (nothing is stored).
    weight_rd, column_rd : In(ReadSignature(addr, word))
        Read-back of a weight word (address as ``weight_wr``) and of a column's registers. An
        address is taken only while ``busy`` is low; its word is on ``data`` the next clock and
        stays until taken. Addresses past the memory read as zero.
    busy : Out(1)
        High while a vector is being loaded, computed or drained. ``weight_wr``, ``column_wr``
        and the read ports are ready exactly when ``busy`` is low, so they never touch a vector
        in flight.

    Timing
    ------
    Weights live in one memory of R*K words of L*G bits (block RAM on FPGAs); inputs in an R-word
    buffer; calibration registers in a C-word memory. Per vector the tile loads R inputs (R
    cycles), then for each group streams R weight words through L multipliers (R cycles, 3 more
    to flush and hand the L sums to the output stage), so with ``z`` always ready a vector takes
    ``R + K * (R + 3)`` cycles when ``L <= R + 3`` (:meth:`cycles_per_vector` has the general
    form). The output stage turns one sum
    per clock into ``z`` through a 4-stage pipeline (calibration read, ADC, gain multiply,
    offset/saturate) while the next group computes; the next vector loads while the last group
    drains. Latency from the last input transfer to the first ``z`` is R + 8 cycles.
    """

    def __init__(self, config: TileConfig, weights=None, adc_shift=None, gain=None, offset=None):
        if not isinstance(config, TileConfig):
            raise TypeError(f"config must be a TileConfig, not {type(config).__name__}")
        self._config = config
        self._weights = None if weights is None else weight_words(config, weights)
        self._calibration = config.calibration(adc_shift, gain, offset)
        x_shape = signed(config.input_bits) if config.input_signed else unsigned(config.input_bits)
        super().__init__({
            "x": In(stream.Signature(x_shape)),
            "z": Out(stream.Signature(signed(config.out_bits))),
            "weight_wr": In(stream.Signature(weight_write_layout(config))),
            "column_wr": In(stream.Signature(column_write_layout(config))),
            "weight_rd": In(ReadSignature(weight_write_layout(config)["addr"].shape,
                                          weight_write_layout(config)["data"].shape)),
            "column_rd": In(ReadSignature(column_write_layout(config)["col"].shape,
                                          column_layout(config))),
            "busy": Out(1),
        })

    @property
    def config(self) -> TileConfig:
        return self._config

    @staticmethod
    def cycles_per_vector(config: TileConfig) -> int:
        """Clock cycles per vector in steady state with inputs always valid and ``z`` ready.

        A group's sums are handed to the output stage ``R + 3`` cycles after the previous
        group's (``2R + 3`` across a vector boundary, which includes loading), but no sooner
        than the output stage has taken the previous group's lanes, one per cycle.
        """
        R, L, K = config.rows, config.lanes, config.groups
        last_lanes = config.cols - (K - 1) * L
        return max(2 * R + 3, last_lanes) + (K - 1) * max(R + 3, L)

    def elaborate(self, platform):
        cfg = self._config
        R, C, L, K = cfg.rows, cfg.cols, cfg.lanes, cfg.groups
        W = cfg.acc_bits
        m = Module()

        m.submodules.x_mem = x_mem = memory.Memory(shape=self.x.payload.shape(), depth=R, init=[])
        m.submodules.w_mem = w_mem = memory.Memory(
            shape=data.ArrayLayout(signed(cfg.cell_bits), L), depth=R * K,
            init=[] if self._weights is None else self._weights.tolist())
        m.submodules.c_mem = c_mem = memory.Memory(
            shape=column_layout(cfg), depth=C,
            init=[{"adc_shift": int(s), "gain": int(g), "offset": int(o)}
                  for s, g, o in zip(*self._calibration, strict=True)])
        x_wr, x_rd = x_mem.write_port(), x_mem.read_port()
        w_wr, w_rd = w_mem.write_port(), w_mem.read_port()
        c_wr, c_rd = c_mem.write_port(), c_mem.read_port()

        idle = Signal()  # nothing loaded, computed or drained: writes and reads may go ahead

        # --- Load: one input code per transfer into the input buffer -------------------------
        load_row = Signal(range(R))
        m.d.comb += [x_wr.addr.eq(load_row), x_wr.data.eq(self.x.payload)]

        # --- Compute: stream R weight words per group through L multipliers -----------------
        row = Signal(range(R))
        group = Signal(range(K))
        base = Signal(range(R * K))  # group * R
        a_valid, a_first = Signal(), Signal()  # read issued last cycle
        b_valid, b_first = Signal(), Signal()  # products registered
        prods = Signal(data.ArrayLayout(signed(cfg.input_bits + cfg.cell_bits), L))
        acc = Signal(data.ArrayLayout(signed(W), L))
        hold = Signal(data.ArrayLayout(signed(W), L))  # sums handed to the output stage
        hold_full, hold_put, hold_take = Signal(), Signal(), Signal()

        computing = Signal()   # the weight read port streams a group; else it serves read-back
        m.d.comb += [x_rd.addr.eq(row), w_rd.addr.eq(Mux(computing, base + row,
                                                         self.weight_rd.addr.payload))]
        m.d.sync += [a_valid.eq(0), b_valid.eq(a_valid), b_first.eq(a_first)]
        for lane in range(L):
            m.d.sync += prods[lane].eq(x_rd.data * w_rd.data[lane])
            with m.If(b_valid):
                m.d.sync += acc[lane].eq(Mux(b_first, prods[lane], acc[lane] + prods[lane]))
        m.d.sync += hold_full.eq(hold_put | (hold_full & ~hold_take))

        out_idle = Signal()
        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += [self.x.ready.eq(1), x_wr.en.eq(self.x.valid),
                             idle.eq((load_row == 0) & out_idle)]
                with m.If(self.x.valid):
                    m.d.sync += load_row.eq(load_row + 1)
                    with m.If(load_row == R - 1):
                        m.d.sync += [load_row.eq(0), row.eq(0), group.eq(0), base.eq(0)]
                        m.next = "COMPUTE"
            with m.State("COMPUTE"):
                m.d.comb += computing.eq(1)
                m.d.sync += [a_valid.eq(1), a_first.eq(row == 0), row.eq(row + 1)]
                with m.If(row == R - 1):
                    m.d.sync += row.eq(0)
                    m.next = "HAND_OFF"
            with m.State("HAND_OFF"):
                with m.If(~a_valid & ~b_valid & (~hold_full | hold_take)):
                    m.d.comb += hold_put.eq(1)
                    m.d.sync += hold.eq(acc)
                    with m.If(group == K - 1):
                        m.next = "LOAD"
                    with m.Else():
                        m.d.sync += [group.eq(group + 1), base.eq(base + R)]
                        m.next = "COMPUTE"

        # --- Output: one column per clock through calibration read, ADC, gain, offset -------
        advance = ~self.z.valid | self.z.ready
        lane = Signal(range(L))
        col = Signal(range(C))
        s1_valid, s1_acc = Signal(), Signal(signed(W))
        s2_valid, s2_q = Signal(), Signal(signed(cfg.adc_bits))
        s2_gain, s2_offset = Signal(unsigned(cfg.gain_bits)), Signal(signed(cfg.offset_bits))
        s3_valid = Signal()
        s3_prod = Signal(signed(cfg.adc_bits + cfg.gain_bits))
        s3_offset = Signal(signed(cfg.offset_bits))

        m.d.comb += [c_rd.addr.eq(Mux(idle, self.column_rd.addr.payload, col)),
                     c_rd.en.eq(advance)]
        with m.If(advance):
            m.d.sync += [s1_valid.eq(hold_full), s1_acc.eq(hold[lane])]
            with m.If(hold_full):
                m.d.sync += [lane.eq(lane + 1), col.eq(col + 1)]
                with m.If((lane == L - 1) | (col == C - 1)):
                    m.d.comb += hold_take.eq(1)
                    m.d.sync += lane.eq(0)
                with m.If(col == C - 1):
                    m.d.sync += col.eq(0)
            regs = c_rd.data
            m.d.sync += [
                s2_valid.eq(s1_valid),
                s2_q.eq(sat(rshift_round_var(s1_acc, regs.adc_shift, cfg.max_adc_shift),
                            cfg.adc_bits)),
                s2_gain.eq(regs.gain),
                s2_offset.eq(regs.offset),
                s3_valid.eq(s2_valid),
                s3_prod.eq(s2_q * s2_gain),
                s3_offset.eq(s2_offset),
                self.z.valid.eq(s3_valid),
                self.z.payload.eq(sat(rshift_round(s3_prod, cfg.gain_frac) + s3_offset,
                                      cfg.out_bits)),
            ]
        m.d.comb += out_idle.eq(~(hold_full | s1_valid | s2_valid | s3_valid | self.z.valid))

        # --- Run-time writes, accepted only while idle ---------------------------------------
        m.d.comb += [
            self.busy.eq(~idle),
            self.weight_wr.ready.eq(idle),
            self.column_wr.ready.eq(idle),
            w_wr.addr.eq(self.weight_wr.payload.addr),
            w_wr.data.eq(self.weight_wr.payload.data),
            w_wr.en.eq(self.weight_wr.valid & idle & (self.weight_wr.payload.addr < R * K)),
            c_wr.addr.eq(self.column_wr.payload.col),
            c_wr.data.eq(self.column_wr.payload.regs),
            c_wr.en.eq(self.column_wr.valid & idle & (self.column_wr.payload.col < C)
                       & (self.column_wr.payload.regs.adc_shift <= cfg.max_adc_shift)),
        ]
        serve_read(m, idle, w_rd, self.weight_rd)
        serve_read(m, idle, c_rd, self.column_rd)
        return m
