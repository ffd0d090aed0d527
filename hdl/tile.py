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
    "CrossbarTile", "TileMac", "TileOutput", "column_layout", "column_write_layout",
    "input_shape", "sums_layout", "weight_words", "weight_write_layout", "weights_from_words",
]


#: Tiles with at most this many columns keep their calibration registers in distributed
#: (LUT) RAM on an ECP5: a block RAM's output arrives about 5.6 ns after the clock there, and
#: the ADC shift it feeds was the ULX3S default fabric's longest path (45.9 MHz routed with
#: block RAM, 64.2 MHz with LUT RAM).
DISTRIBUTED_CALIBRATION_COLS = 256

#: Device families (Amaranth platform ``family``) whose calibration memories go to LUT RAM.
#: iCE40 has no LUT RAM (the memory would become flip-flops); Gowin's is left to the tools
#: (the Tang Nano 9K default tile meets its clock with block RAM).
LUT_RAM_FAMILIES = frozenset({"ecp5"})


def calibration_memory_attrs(cols: int, platform=None) -> dict[str, str]:
    """Synthesis attributes of a tile's calibration memory of ``cols`` words (yosys
    ``ram_style``) on ``platform`` (an Amaranth platform, or None in simulation): distributed
    RAM up to :data:`DISTRIBUTED_CALIBRATION_COLS` columns on :data:`LUT_RAM_FAMILIES`, the
    tools' choice otherwise."""
    family = getattr(platform, "family", None)
    if cols <= DISTRIBUTED_CALIBRATION_COLS and family in LUT_RAM_FAMILIES:
        return {"ram_style": "distributed"}
    return {}


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


def input_shape(config: TileConfig):
    """Shape of one input code: ``signed(I)`` or ``unsigned(I)`` as ``config.input_signed``."""
    return signed(config.input_bits) if config.input_signed else unsigned(config.input_bits)


def sums_layout(config: TileConfig) -> data.ArrayLayout:
    """One column group's sums as the MAC hands them to the output stage: L signed W-bit
    sums, lane ``l`` being column ``k*L + l`` of group ``k``."""
    return data.ArrayLayout(signed(config.acc_bits), config.lanes)


class TileMac(wiring.Component):
    """Input buffer, weight memory and multiply-accumulate lanes of a tile (DESIGN.md 3.1).

    Parameters
    ----------
    config : TileConfig
        R = rows, L = lanes, K = groups, I = input_bits, G = cell_bits, W = acc_bits.
    words : array [R*K, L], optional
        Initial weight memory (:func:`weight_words`); zero when omitted.

    Members
    -------
    x : In(stream.Signature(input_shape(config)))
        Input codes, row 0 first; R transfers make one vector. Ready only while loading.
    sums : Out(stream.Signature(sums_layout(config)))
        The W-bit sums ``sum_r x[r] * g[r, k*L + l]`` of group k in lane l, groups 0..K-1 in
        order: K transfers per vector. The payload is a register, held until taken.
    weight_wr : In(stream.Signature(weight_write_layout(config)))
        As :attr:`CrossbarTile.weight_wr`: ready exactly while ``idle``; addresses ``>= R*K``
        are taken and ignored.
    weight_rd : In(ReadSignature(addr, ArrayLayout(signed(G), L)))
        Read-back of a weight word, served while ``idle`` (latency 1, :func:`serve_read`).
    idle : In(1)
        The whole tile is idle (from :attr:`waiting` and the output stage): the weight memory
        may be written and read back.
    waiting : Out(1)
        No vector is partly loaded or being computed (combinational).

    Timing
    ------
    R cycles load a vector; then per group the weight read port streams R words into L
    multipliers (one register stage each for the memory read, the products and the
    accumulators), and the L sums are put into ``sums`` 3 cycles after the group's last word
    is read, or later while ``sums`` still holds the previous group. After the last group the
    next vector loads.
    """

    def __init__(self, config: TileConfig, words=None):
        self._config = config
        self._words = words
        super().__init__({
            "x": In(stream.Signature(input_shape(config))),
            "sums": Out(stream.Signature(sums_layout(config))),
            "weight_wr": In(stream.Signature(weight_write_layout(config))),
            "weight_rd": In(ReadSignature(weight_write_layout(config)["addr"].shape,
                                          weight_write_layout(config)["data"].shape)),
            "idle": In(1),
            "waiting": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._config
        R, L, K = cfg.rows, cfg.lanes, cfg.groups
        m = Module()
        m.submodules.x_mem = x_mem = memory.Memory(shape=self.x.payload.shape(), depth=R, init=[])
        m.submodules.w_mem = w_mem = memory.Memory(
            shape=data.ArrayLayout(signed(cfg.cell_bits), L), depth=R * K,
            init=[] if self._words is None else self._words.tolist())
        x_wr, x_rd = x_mem.write_port(), x_mem.read_port()
        w_wr, w_rd = w_mem.write_port(), w_mem.read_port()

        load_row = Signal(range(R))
        m.d.comb += [x_wr.addr.eq(load_row), x_wr.data.eq(self.x.payload)]

        row = Signal(range(R))
        group = Signal(range(K))
        base = Signal(range(R * K))  # group * R
        a_valid, a_first = Signal(), Signal()  # read issued last cycle
        b_valid, b_first = Signal(), Signal()  # products registered
        prods = Signal(data.ArrayLayout(signed(cfg.input_bits + cfg.cell_bits), L))
        acc = Signal(sums_layout(cfg))
        put = Signal()

        computing = Signal()   # the weight read port streams a group; else it serves read-back
        m.d.comb += [x_rd.addr.eq(row), w_rd.addr.eq(Mux(computing, base + row,
                                                         self.weight_rd.addr.payload))]
        m.d.sync += [a_valid.eq(0), b_valid.eq(a_valid), b_first.eq(a_first)]
        for lane in range(L):
            m.d.sync += prods[lane].eq(x_rd.data * w_rd.data[lane])
            with m.If(b_valid):
                m.d.sync += acc[lane].eq(Mux(b_first, prods[lane], acc[lane] + prods[lane]))
        m.d.sync += self.sums.valid.eq(put | (self.sums.valid & ~self.sums.ready))

        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += [self.x.ready.eq(1), x_wr.en.eq(self.x.valid),
                             self.waiting.eq(load_row == 0)]
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
                with m.If(~a_valid & ~b_valid & (~self.sums.valid | self.sums.ready)):
                    m.d.comb += put.eq(1)
                    m.d.sync += self.sums.payload.eq(acc)
                    with m.If(group == K - 1):
                        m.next = "LOAD"
                    with m.Else():
                        m.d.sync += [group.eq(group + 1), base.eq(base + R)]
                        m.next = "COMPUTE"

        wr = self.weight_wr
        m.d.comb += [
            wr.ready.eq(self.idle),
            w_wr.addr.eq(wr.payload.addr),
            w_wr.data.eq(wr.payload.data),
            w_wr.en.eq(wr.valid & self.idle & (wr.payload.addr < R * K)),
        ]
        serve_read(m, self.idle, w_rd, self.weight_rd)
        return m


class TileOutput(wiring.Component):
    """Output stage of a tile: column serialiser, ADC and calibration (DESIGN.md 3.1).

    Parameters
    ----------
    config : TileConfig
        C = cols, L = lanes, W = acc_bits, A = adc_bits, Z = out_bits.
    adc_shift, gain, offset : array [C], optional
        Initial calibration registers; :meth:`TileConfig.default_calibration` when omitted.

    Members
    -------
    i : In(stream.Signature(sums_layout(config)))
        One group's L sums per transfer, group 0 first; taken once its last real column
        (lane L-1, or column C-1) enters the pipeline.
    z : Out(stream.Signature(signed(Z)))
        ``sat(rshift_round(adc(sum, adc_shift) * gain, gain_frac) + offset, Z)`` per column,
        column 0 first, C transfers per vector; ``adc`` is ``sat(rshift_round(sum, adc_shift),
        A)``.
    column_wr : In(stream.Signature(column_write_layout(config)))
        As :attr:`CrossbarTile.column_wr`: ready exactly while ``idle``; columns ``>= C`` and
        shifts above W are taken and ignored.
    column_rd : In(ReadSignature(col, column_layout(config)))
        Read-back of a column's registers, served while ``idle`` (latency 1).
    idle : In(1)
        The whole tile is idle: the calibration memory may be written and read back.
    empty : Out(1)
        No sum waits in ``i`` or in the pipeline, and ``z`` is empty (combinational).

    Timing
    ------
    One column per clock through 4 register stages: the sum (with the column's registers read
    from a C-word memory), the ADC, the gain product, and the offset and saturation in ``z``.
    Every stage advances while ``z`` is empty or taken: latency 4, one column per clock.
    """

    def __init__(self, config: TileConfig, adc_shift=None, gain=None, offset=None):
        self._config = config
        self._calibration = config.calibration(adc_shift, gain, offset)
        super().__init__({
            "i": In(stream.Signature(sums_layout(config))),
            "z": Out(stream.Signature(signed(config.out_bits))),
            "column_wr": In(stream.Signature(column_write_layout(config))),
            "column_rd": In(ReadSignature(column_write_layout(config)["col"].shape,
                                          column_layout(config))),
            "idle": In(1),
            "empty": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._config
        C, L, W = cfg.cols, cfg.lanes, cfg.acc_bits
        m = Module()
        m.submodules.c_mem = c_mem = memory.Memory(
            shape=column_layout(cfg), depth=C, attrs=calibration_memory_attrs(C, platform),
            init=[{"adc_shift": int(s), "gain": int(g), "offset": int(o)}
                  for s, g, o in zip(*self._calibration, strict=True)])
        c_wr, c_rd = c_mem.write_port(), c_mem.read_port()

        advance = ~self.z.valid | self.z.ready
        lane = Signal(range(L))
        col = Signal(range(C))
        s1_valid, s1_acc = Signal(), Signal(signed(W))
        s2_valid, s2_q = Signal(), Signal(signed(cfg.adc_bits))
        s2_gain, s2_offset = Signal(unsigned(cfg.gain_bits)), Signal(signed(cfg.offset_bits))
        s3_valid = Signal()
        s3_prod = Signal(signed(cfg.adc_bits + cfg.gain_bits))
        s3_offset = Signal(signed(cfg.offset_bits))

        m.d.comb += [c_rd.addr.eq(Mux(self.idle, self.column_rd.addr.payload, col)),
                     c_rd.en.eq(advance)]
        with m.If(advance):
            m.d.sync += [s1_valid.eq(self.i.valid), s1_acc.eq(self.i.payload[lane])]
            with m.If(self.i.valid):
                m.d.sync += [lane.eq(lane + 1), col.eq(col + 1)]
                with m.If((lane == L - 1) | (col == C - 1)):
                    m.d.comb += self.i.ready.eq(1)
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
        m.d.comb += self.empty.eq(~(self.i.valid | s1_valid | s2_valid | s3_valid
                                    | self.z.valid))

        wr = self.column_wr
        m.d.comb += [
            wr.ready.eq(self.idle),
            c_wr.addr.eq(wr.payload.col),
            c_wr.data.eq(wr.payload.regs),
            c_wr.en.eq(wr.valid & self.idle & (wr.payload.col < C)
                       & (wr.payload.regs.adc_shift <= cfg.max_adc_shift)),
        ]
        serve_read(m, self.idle, c_rd, self.column_rd)
        return m


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

    Architecture and timing
    -----------------------
    A :class:`TileMac` holds the weights in one memory of R*K words of L*G bits (block RAM on
    FPGAs) and the inputs in an R-word buffer; a :class:`TileOutput` holds the calibration
    registers in a C-word memory. Per vector the tile loads R inputs (R cycles), then for each
    group streams R weight words through L multipliers (R cycles, 3 more to flush and hand the
    L sums to the output stage), so with ``z`` always ready a vector takes ``R + K * (R + 3)``
    cycles when ``L <= R + 3`` (:meth:`cycles_per_vector` has the general form). The output
    stage turns one sum per clock into ``z`` through a 4-stage pipeline (calibration read, ADC,
    gain multiply, offset/saturate) while the next group computes; the next vector loads while
    the last group drains. Latency from the last input transfer to the first ``z`` is R + 8
    cycles.
    """

    def __init__(self, config: TileConfig, weights=None, adc_shift=None, gain=None, offset=None):
        if not isinstance(config, TileConfig):
            raise TypeError(f"config must be a TileConfig, not {type(config).__name__}")
        self._config = config
        self._weights = None if weights is None else weight_words(config, weights)
        self._calibration = config.calibration(adc_shift, gain, offset)
        super().__init__({
            "x": In(stream.Signature(input_shape(config))),
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
    def cycles_per_vector(config: TileConfig, *, input_wait: int = 0) -> int:
        """Clock cycles per vector in steady state with inputs always valid and ``z`` ready.

        A group's sums are handed to the output stage ``R + 3`` cycles after the previous
        group's (``2R + 3`` across a vector boundary, which includes loading), but no sooner
        than the output stage has taken the previous group's lanes, one per cycle.
        ``input_wait`` cycles between the tile being ready for a vector and its first input
        (a :class:`~spinemu.hdl.layer.TiledLayer` has some) add to the vector boundary.
        """
        R, L, K = config.rows, config.lanes, config.groups
        last_lanes = config.cols - (K - 1) * L
        return max(2 * R + 3 + input_wait, last_lanes) + (K - 1) * max(R + 3, L)

    @staticmethod
    def output_clocks(config: TileConfig) -> list[int]:
        """Clock of each column's ``z`` transfer, counted from the clock of the first input
        transfer of a vector, for a tile idle before it, inputs on consecutive clocks and ``z``
        always ready: column ``c = k*L + l`` at ``2R + 7 + k * max(R + 3, L) + l`` (group k's
        sums reach the output stage ``2R + 3 + k * max(R + 3, L)`` clocks after, one column per
        clock through its 4 stages). The tile is idle again the clock after the last."""
        R, L = config.rows, config.lanes
        return [2 * R + 7 + (c // L) * max(R + 3, L) + c % L for c in range(config.cols)]

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac = mac = TileMac(self._config, self._weights)
        m.submodules.output = output = TileOutput(self._config, *self._calibration)
        wiring.connect(m, wiring.flipped(self.x), mac.x)
        wiring.connect(m, mac.sums, output.i)
        wiring.connect(m, output.z, wiring.flipped(self.z))
        wiring.connect(m, wiring.flipped(self.weight_wr), mac.weight_wr)
        wiring.connect(m, wiring.flipped(self.weight_rd), mac.weight_rd)
        wiring.connect(m, wiring.flipped(self.column_wr), output.column_wr)
        wiring.connect(m, wiring.flipped(self.column_rd), output.column_rd)
        # idle: nothing loaded, computed or drained, so writes and reads may go ahead
        idle = mac.waiting & output.empty
        m.d.comb += [mac.idle.eq(idle), output.idle.eq(idle), self.busy.eq(~idle)]
        return m
