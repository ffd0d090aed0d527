"""Tiled layers and networks of layers (DESIGN.md 3.2) as Amaranth components.

A :class:`TiledLayer` runs an ``In x Out`` fully connected layer on a grid of ``P x Q``
:class:`~spinemu.hdl.tile.CrossbarTile` (``P = row_tiles``, ``Q = col_tiles``) and streams one
output code per transfer. A :class:`Network` chains layers into one design with one write port.
The arithmetic is that of :mod:`spinemu.sim.golden.network`; ``docs/layer.md`` describes the
architecture, the write address map and the timing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Array, Cat, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, enum, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import ConfigError, LayerConfig, NetworkConfig, check_image
from spinemu.numeric import clog2, signed_range, unsigned_range

from .arith import rshift_round_var, sat, usat
from .ports import ReadMux, ReadSignature, connect_read, serve_read
from .routing import AdderTree, FanOutTree
from .tile import CrossbarTile, column_layout, weight_words

__all__ = [
    "WriteKind", "WriteMap", "periphery_layout", "layer_addresses", "layer_writes",
    "network_addresses", "network_writes",
    "OutputPeriphery", "TiledLayer", "Network", "MAX_IN_FLIGHT", "REPLAY_WAIT",
]

#: Vectors a layer holds at once (first code taken, last code not yet emitted); the first code
#: of a further vector waits. A guard for the counter behind ``busy``: banks, tiles and queues
#: stop the input earlier (at 6..8 vectors with the output blocked, in the configurations
#: measured), so it never slows a layer down.
MAX_IN_FLIGHT = 15

#: Cycles between a tile asking for inputs and its first input code.
REPLAY_WAIT = 2


def _code_shape(bits: int, is_signed: bool):
    return signed(bits) if is_signed else unsigned(bits)


def periphery_layout(layer: LayerConfig) -> data.StructLayout:
    """One output's requantization registers, as stored and as written."""
    return data.StructLayout({
        "bias": signed(layer.bias_bits),
        "mult": unsigned(layer.mult_bits),
        "shift": unsigned(layer.max_shift.bit_length()),
    })


def _pack(layout: data.StructLayout, values: dict) -> int:
    """``values`` (one int per field) packed as ``layout`` stores them, two's complement."""
    word = 0
    for name, field in layout:
        width = Shape.cast(field.shape).width
        word |= (int(values[name]) & ((1 << width) - 1)) << field.offset
    return word


class WriteKind(enum.Enum, shape=2):
    """What a write to a layer addresses (bits ``kind`` of the write address)."""

    WEIGHTS = 0    #: a weight word of one tile: ``local`` = ``k*R + r``, data = L cells
    COLUMNS = 1    #: one column's ADC/calibration registers of one tile: ``local`` = column
    PERIPHERY = 2  #: one output's bias/mult/shift: ``tile`` = 0, ``local`` = output o


@dataclass(frozen=True)
class WriteMap:
    """Field widths of the write stream shared by every layer of a network.

    A write carries ``addr`` and ``data`` (:meth:`layout`). From the least significant bit::

        addr = local | tile << local_bits | kind << (local_bits + tile_bits)
                     | layer << (local_bits + tile_bits + 2)

    ``tile = p * col_tiles + q`` for tile ``(p, q)``; ``kind`` is a :class:`WriteKind`. The data
    of a weight word holds lane ``l`` (column ``k*L + l``) at bits ``l*G .. l*G + G - 1``; column
    registers and periphery registers are packed as :func:`~spinemu.hdl.tile.column_layout` and
    :func:`periphery_layout` (first field at bit 0). Each field is as wide as the largest layer
    needs; unused high data bits are ignored.
    """

    layers: int
    tile_bits: int
    local_bits: int
    data_bits: int

    @classmethod
    def of(cls, layers: Sequence[LayerConfig]) -> WriteMap:
        tile_bits = max(clog2(layer.row_tiles * layer.col_tiles) for layer in layers)
        local_bits = max(clog2(max(layer.tile.rows * layer.tile.groups, layer.tile.cols,
                                   layer.out_features)) for layer in layers)
        data_bits = max(max(layer.tile.lanes * layer.tile.cell_bits,
                            column_layout(layer.tile).size, periphery_layout(layer).size)
                        for layer in layers)
        return cls(len(layers), tile_bits, local_bits, data_bits)

    @property
    def layer_bits(self) -> int:
        return clog2(self.layers)

    @property
    def layer_addr_bits(self) -> int:
        """Address bits a layer decodes (all but the layer field)."""
        return self.local_bits + self.tile_bits + 2

    @property
    def addr_bits(self) -> int:
        return self.layer_addr_bits + self.layer_bits

    def layer_layout(self) -> data.StructLayout:
        """Payload of a layer's own write port (no layer field)."""
        return data.StructLayout({"addr": unsigned(self.layer_addr_bits),
                                  "data": unsigned(self.data_bits)})

    def layout(self) -> data.StructLayout:
        """Payload of the network's write port."""
        return data.StructLayout({"addr": unsigned(self.addr_bits),
                                  "data": unsigned(self.data_bits)})

    def address(self, layer: int, kind: WriteKind, tile: int, local: int) -> int:
        return (local | tile << self.local_bits | kind.value << (self.local_bits + self.tile_bits)
                | layer << self.layer_addr_bits)


def _tile_images(layer: LayerConfig, images):
    """``images`` checked, and the weights of tile ``(p, q)`` as ``g[p][q]`` (zero padded)."""
    images = images.checked(layer)
    t = layer.tile
    padded = np.zeros((layer.row_tiles * t.rows, layer.col_tiles * t.cols), np.int64)
    padded[: layer.in_features, : layer.out_features] = images.g
    g = [[padded[p * t.rows:(p + 1) * t.rows, q * t.cols:(q + 1) * t.cols]
          for q in range(layer.col_tiles)] for p in range(layer.row_tiles)]
    return images, g


def layer_addresses(layer: LayerConfig, *, write_map: WriteMap | None = None,
                    index: int = 0) -> list[int]:
    """Every address of layer ``index`` that stores something, in the order of
    :func:`layer_writes`: per tile (row-major) its weight words, then its columns' registers;
    then the periphery registers of every output."""
    write_map = write_map or WriteMap.of([layer])
    t = layer.tile
    addresses = []
    for tile in range(layer.row_tiles * layer.col_tiles):
        addresses += [write_map.address(index, WriteKind.WEIGHTS, tile, local)
                      for local in range(t.rows * t.groups)]
        addresses += [write_map.address(index, WriteKind.COLUMNS, tile, col)
                      for col in range(t.cols)]
    return addresses + [write_map.address(index, WriteKind.PERIPHERY, 0, o)
                        for o in range(layer.out_features)]


def layer_writes(layer: LayerConfig, images, *, write_map: WriteMap | None = None,
                 index: int = 0) -> list[tuple[int, int]]:
    """The ``(addr, data)`` writes that load ``images`` (a
    :class:`~spinemu.sim.golden.network.LayerImages`) into layer ``index`` of ``write_map``, at
    the addresses of :func:`layer_addresses`."""
    images, g = _tile_images(layer, images)
    t = layer.tile
    cell_mask = (1 << t.cell_bits) - 1
    columns, periphery = column_layout(t), periphery_layout(layer)
    words = []
    for p in range(layer.row_tiles):
        for q in range(layer.col_tiles):
            words += [sum((cell & cell_mask) << (lane * t.cell_bits)
                          for lane, cell in enumerate(word))
                      for word in weight_words(t, g[p][q]).tolist()]
            words += [_pack(columns, {"adc_shift": images.adc_shift[p, q, col],
                                      "gain": images.gain[p, q, col],
                                      "offset": images.offset[p, q, col]})
                      for col in range(t.cols)]
    words += [_pack(periphery, {"bias": images.bias[o], "mult": images.mult[o],
                                "shift": images.shift[o]})
              for o in range(layer.out_features)]
    return list(zip(layer_addresses(layer, write_map=write_map, index=index), words,
                    strict=True))


def network_writes(config: NetworkConfig, images: Sequence) -> list[tuple[int, int]]:
    """The ``(addr, data)`` writes that load every layer of ``config`` through
    :attr:`Network.write`."""
    if len(images) != len(config.layers):
        raise ConfigError(f"{len(images)} layer images for {len(config.layers)} layers")
    write_map = WriteMap.of(config.layers)
    return [write for index, (layer, image) in enumerate(zip(config.layers, images, strict=True))
            for write in layer_writes(layer, image, write_map=write_map, index=index)]


def network_addresses(config: NetworkConfig) -> list[int]:
    """The addresses of :func:`network_writes`, in its order (they do not depend on images)."""
    write_map = WriteMap.of(config.layers)
    return [addr for index, layer in enumerate(config.layers)
            for addr in layer_addresses(layer, write_map=write_map, index=index)]


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
    Four register stages: the sum (with its output's registers read from a memory of Out
    words), bias and relu, the product, and the shifted, rounded and saturated code in ``o``.
    All stall together when ``o`` is full and not taken: latency 4, one output per clock.
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
            "o": Out(stream.Signature(_code_shape(layer.act_bits, not layer.relu))),
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
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(self.i.valid), s1_y.eq(self.i.payload),
                s2_valid.eq(s1_valid), s2_v.eq(Mux(v < 0, 0, v) if layer.relu else v),
                s2_mult.eq(rd.data.mult), s2_shift.eq(rd.data.shift),
                s3_valid.eq(s2_valid), s3_prod.eq(s2_v * s2_mult), s3_shift.eq(s2_shift),
                self.o.valid.eq(s3_valid),
                self.o.payload.eq(usat(scaled, layer.act_bits) if layer.relu
                                  else sat(scaled, layer.act_bits)),
            ]

        m.d.comb += [
            self.reg_wr.ready.eq(1),
            wr.addr.eq(self.reg_wr.payload.index),
            wr.data.eq(self.reg_wr.payload.regs),
            wr.en.eq(self.reg_wr.valid & (self.reg_wr.payload.index < out)
                     & (self.reg_wr.payload.regs.shift <= layer.max_shift)),
            idle.eq(~(self.i.valid | s1_valid | s2_valid | s3_valid | self.o.valid)),
        ]
        serve_read(m, idle, rd, self.reg_rd)
        return m


class TiledLayer(wiring.Component):
    """A fully connected layer on a grid of crossbar tiles (DESIGN.md 3.2).

    Parameters
    ----------
    layer : LayerConfig
        In = ``in_features``, Out = ``out_features``; tiles of R x C (``layer.tile``), L lanes,
        K = ceil(C / L) column groups; P = ``row_tiles``, Q = ``col_tiles``; I, Z, Y = ``y_bits``
        = Z + ceil(log2 P), O = ``act_bits``.
    images : LayerImages, optional
        Initial contents of every tile and of the periphery (for small layers: memory
        contents are spelt out in the netlist). Without it, tiles hold zero weights and default
        calibration, the periphery identity registers; load them through ``write``.
    write_map : WriteMap, optional
        Field widths of ``write``; :meth:`WriteMap.of` ``([layer])`` when omitted. A
        :class:`Network` passes its own so that all layers share one format.

    Members
    -------
    x : In(stream.Signature(signed(I) or unsigned(I)))
        Input codes, one per transfer, input 0 first; In transfers per vector.
    o : Out(stream.Signature(unsigned(O) with relu, else signed(O)))
        Output codes, one per transfer, output 0 first; Out transfers per vector (padded
        columns are dropped). Back-pressure stalls the layer; nothing is dropped.
    write : In(stream.Signature(write_map.layer_layout()))
        Run-time loading (address map in :class:`WriteMap`). Ready only while ``busy`` is low
        (and the addressed tile is idle), so a write never changes a vector in flight. Writes to
        nothing (a kind, tile, column, output or word address out of range, a shift too large)
        are taken and ignored.
    read : In(ReadSignature(unsigned(write_map.layer_addr_bits), unsigned(write_map.data_bits)))
        Read-back of what ``write`` stores, at the same addresses and packed the same way (a
        weight word, a column's registers, an output's registers; zero above). Answered only
        while ``busy`` is low; addresses of nothing read as 0. Latency 1 or 2 clocks.
    busy : Out(1)
        High from the first input code of a vector until its last output code is taken.

    Architecture
    ------------
    Input codes enter a :class:`FanOutTree` of P leaves (latency ceil(log2 P)) that carries
    each code, with its bank, row and buffer half, to P row banks; bank p keeps inputs
    ``p*R .. p*R+R-1``. The banks are double buffered, so the next vector streams in while the
    tiles work. When a vector has landed and every tile waits for inputs, the banks replay it R
    rows in parallel, row t of bank p (zero for padded rows) going to the Q tiles of row-tile p,
    so all tiles load, compute and emit in lockstep. For each column of tiles q, the ``z`` of
    its P row-tiles enter an :class:`AdderTree` together (latency ceil(log2 P), Y-bit sums);
    the sums of padded columns are dropped, and with Q > 1 each column of tiles queues its sums
    in a FIFO of C entries, read out column of tiles by column of tiles. One
    :class:`OutputPeriphery` (latency 4) turns the sums into output codes.

    Timing
    ------
    With inputs always valid and ``o`` always ready, a vector takes :meth:`cycles_per_vector`
    cycles in steady state: the slowest of taking In codes, emitting Out codes and the tiles'
    own vector time plus 2 cycles of hand-shake. Vectors overlap; an idle layer emits its first
    output code :meth:`latency` cycles after taking the last input code. The tests measure both.
    """

    def __init__(self, layer: LayerConfig, images=None, *, write_map: WriteMap | None = None):
        if not isinstance(layer, LayerConfig):
            raise TypeError(f"layer must be a LayerConfig, not {type(layer).__name__}")
        self._layer = layer
        self._images = None if images is None else _tile_images(layer, images)
        self._write_map = write_map or WriteMap.of([layer])
        t = layer.tile
        super().__init__({
            "x": In(stream.Signature(_code_shape(t.input_bits, t.input_signed))),
            "o": Out(stream.Signature(_code_shape(layer.act_bits, not layer.relu))),
            "write": In(stream.Signature(self._write_map.layer_layout())),
            "read": In(ReadSignature(unsigned(self._write_map.layer_addr_bits),
                                     unsigned(self._write_map.data_bits))),
            "busy": Out(1),
        })

    @property
    def layer(self) -> LayerConfig:
        return self._layer

    @staticmethod
    def cycles_per_vector(layer: LayerConfig) -> int:
        """Clock cycles per vector in steady state, inputs always valid and ``o`` ready.

        The slowest of: taking In input codes, emitting Out output codes, and the tiles. A
        tile's vector (:meth:`CrossbarTile.cycles_per_vector`) stretches by
        :data:`REPLAY_WAIT` cycles: the replay sees a tile waiting for inputs one cycle late
        (a registered AND over all tiles) and the bank read takes one more.
        """
        t = layer.tile
        R, L, K = t.rows, t.lanes, t.groups
        last_lanes = t.cols - (K - 1) * L
        tiles = max(2 * R + 3 + REPLAY_WAIT, last_lanes) + (K - 1) * max(R + 3, L)
        return max(layer.in_features, layer.out_features, tiles)

    @staticmethod
    def latency(layer: LayerConfig) -> int:
        """Cycles from the last input code taken to the first output code, from idle.

        The fan-out and adder trees (``ceil(log2 P)`` each), the row banks (1), loading the tiles
        (R), the tile's own latency (R + 8) and the periphery (4); the FIFOs of Q > 1 add 2.
        """
        depth = clog2(layer.row_tiles)
        return 2 * depth + 2 * layer.tile.rows + 13 + (2 if layer.col_tiles > 1 else 0)

    def _tile(self, p: int, q: int) -> CrossbarTile:
        t = self._layer.tile
        if self._images is None:
            return CrossbarTile(t)
        images, g = self._images
        return CrossbarTile(t, g[p][q], images.adc_shift[p, q], images.gain[p, q],
                            images.offset[p, q])

    def elaborate(self, platform):
        layer, t = self._layer, self._layer.tile
        R, C, P, Q = t.rows, t.cols, layer.row_tiles, layer.col_tiles
        rows_last = layer.in_features - (P - 1) * R    # real rows of the last row-tile
        cols_last = layer.out_features - (Q - 1) * C   # real columns of the last column
        m = Module()
        tiles = [[self._tile(p, q) for q in range(Q)] for p in range(P)]
        for p in range(P):
            for q in range(Q):
                m.submodules[f"tile_{p}_{q}"] = tiles[p][q]

        # --- Vectors in flight: busy, and a bound on them ------------------------------------
        in_flight = Signal(range(MAX_IN_FLIGHT + 1))
        vector_in, vector_out = Signal(), Signal()
        m.d.sync += in_flight.eq(in_flight + vector_in - vector_out)
        m.d.comb += self.busy.eq(in_flight != 0)

        # --- Fill: input code p*R + r, through the fan-out tree, into row r of bank p -------
        # `full` (set when the last code is taken) keeps the fill side off a half not yet
        # replayed; `landed` (set when that code reaches its bank, `latency` cycles later)
        # starts the replay. The replay clears both.
        x_shape = self.x.payload.shape()
        fill_bank, fill_row, fill_half = Signal(range(P)), Signal(range(R)), Signal()
        full, landed = Signal(2), Signal(2)
        first = (fill_bank == 0) & (fill_row == 0)
        last_code = (fill_bank == P - 1) & (fill_row == rows_last - 1)
        m.d.comb += self.x.ready.eq(~full.bit_select(fill_half, 1)
                                    & (~first | (in_flight < MAX_IN_FLIGHT)))
        taken = self.x.valid & self.x.ready
        m.d.comb += vector_in.eq(taken & first)
        with m.If(taken):
            m.d.sync += fill_row.eq(fill_row + 1)
            with m.If(last_code):
                m.d.sync += [fill_bank.eq(0), fill_row.eq(0), fill_half.eq(~fill_half),
                             full.bit_select(fill_half, 1).eq(1)]
            with m.Elif(fill_row == R - 1):
                m.d.sync += [fill_bank.eq(fill_bank + 1), fill_row.eq(0)]

        m.submodules.fan_out = fan = FanOutTree(leaves=P, shape=data.StructLayout({
            "code": x_shape, "bank": unsigned(clog2(P)), "row": unsigned(clog2(R)),
            "half": 1, "last": 1}))
        m.d.comb += [fan.i.valid.eq(taken), fan.i.payload.code.eq(self.x.payload),
                     fan.i.payload.bank.eq(fill_bank), fan.i.payload.row.eq(fill_row),
                     fan.i.payload.half.eq(fill_half), fan.i.payload.last.eq(last_code)]
        banks = []
        for p, leaf in enumerate(fan.o):
            m.submodules[f"bank_{p}"] = bank = memory.Memory(shape=x_shape, depth=2 * R, init=[])
            wr = bank.write_port()
            here = leaf.valid & (leaf.payload.bank == p)
            m.d.comb += [wr.addr.eq(Mux(leaf.payload.half, R, 0) + leaf.payload.row),
                         wr.data.eq(leaf.payload.code), wr.en.eq(here)]
            if p == P - 1:
                with m.If(here & leaf.payload.last):
                    m.d.sync += landed.bit_select(leaf.payload.half, 1).eq(1)
            banks.append(bank.read_port())

        # --- Replay: row t of every bank to its row of tiles, R rows, when every tile waits --
        # all_ready is registered (an AND over every tile); a burst ends with DRAIN until the
        # tiles have taken their last code and left LOAD, so a stale all_ready is never used.
        all_ready = Signal()
        m.d.sync += all_ready.eq(Cat(tile.x.ready for row in tiles for tile in row).all())
        replay_half, replay_row = Signal(), Signal(range(R))
        issue = Signal()
        last_row = replay_row == R - 1
        with m.FSM():
            with m.State("IDLE"):
                with m.If(landed.bit_select(replay_half, 1) & all_ready):
                    m.d.comb += issue.eq(1)
                    m.next = "DRAIN" if R == 1 else "BURST"
            with m.State("BURST"):
                m.d.comb += issue.eq(1)
                with m.If(last_row):
                    m.next = "DRAIN"
            with m.State("DRAIN"):
                with m.If(~all_ready):
                    m.next = "IDLE"
        with m.If(issue):
            m.d.sync += replay_row.eq(replay_row + 1)
            with m.If(last_row):
                m.d.sync += [replay_row.eq(0), replay_half.eq(~replay_half),
                             full.bit_select(replay_half, 1).eq(0),
                             landed.bit_select(replay_half, 1).eq(0)]
        word_valid, word_row = Signal(), Signal(range(R))
        m.d.sync += [word_valid.eq(issue), word_row.eq(replay_row)]
        for p, rd in enumerate(banks):
            code = rd.data
            if p == P - 1 and rows_last < R:
                code = Mux(word_row >= rows_last, 0, rd.data)
            m.d.comb += rd.addr.eq(Mux(replay_half, R, 0) + replay_row)
            for q in range(Q):
                m.d.comb += [tiles[p][q].x.valid.eq(word_valid), tiles[p][q].x.payload.eq(code)]

        # --- Sum the row-tiles of each column of tiles; drop padded columns ------------------
        sums = []
        for q in range(Q):
            m.submodules[f"adder_{q}"] = tree = AdderTree(leaves=P, width=t.out_bits)
            zs = [tiles[p][q].z for p in range(P)]
            all_valid = Cat(z.valid for z in zs).all()
            m.d.comb += tree.i.valid.eq(all_valid)
            for p, z in enumerate(zs):
                m.d.comb += [tree.i.payload[p].eq(z.payload),
                             z.ready.eq(tree.i.ready & all_valid)]
            y = stream.Signature(signed(layer.y_bits)).create(path=(f"y_{q}",))
            if q == Q - 1 and cols_last < C:
                col = Signal(range(C), name="pad_col")
                keep = col < cols_last
                m.d.comb += [y.valid.eq(tree.o.valid & keep), y.payload.eq(tree.o.payload),
                             tree.o.ready.eq(~keep | y.ready)]
                with m.If(tree.o.valid & tree.o.ready):
                    m.d.sync += col.eq(Mux(col == C - 1, 0, col + 1))
            else:
                wiring.connect(m, tree.o, wiring.flipped(y))
            sums.append(y)

        # --- Columns of tiles in order, through one output periphery ------------------------
        images = self._images[0] if self._images is not None else None
        m.submodules.periphery = periphery = OutputPeriphery(
            layer, *((images.bias, images.mult, images.shift) if images is not None else ()))
        if Q == 1:
            wiring.connect(m, sums[0], periphery.i)
        else:
            queues = []
            for q, y in enumerate(sums):
                m.submodules[f"queue_{q}"] = queue = fifo.SyncFIFOBuffered(
                    width=layer.y_bits, depth=C)
                m.d.comb += [queue.w_data.eq(y.payload), queue.w_en.eq(y.valid),
                             y.ready.eq(queue.w_rdy)]
                queues.append(queue)
            select, count = Signal(range(Q)), Signal(range(C))
            m.d.comb += [
                periphery.i.valid.eq(Array(queue.r_rdy for queue in queues)[select]),
                periphery.i.payload.eq(
                    Array(queue.r_data.as_signed() for queue in queues)[select]),
            ]
            for q, queue in enumerate(queues):
                m.d.comb += queue.r_en.eq(periphery.i.ready & (select == q))
            with m.If(periphery.i.valid & periphery.i.ready):
                m.d.sync += count.eq(count + 1)
                with m.If((count == C - 1) | ((select == Q - 1) & (count == cols_last - 1))):
                    m.d.sync += [count.eq(0), select.eq(Mux(select == Q - 1, 0, select + 1))]
        wiring.connect(m, periphery.o, wiring.flipped(self.o))

        out_index = Signal(range(layer.out_features))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += out_index.eq(Mux(out_index == layer.out_features - 1, 0, out_index + 1))
            m.d.comb += vector_out.eq(out_index == layer.out_features - 1)

        # --- Run-time writes, taken only while no vector is in flight -----------------------
        wmap = self._write_map
        addr, payload = self.write.payload.addr, self.write.payload.data
        local = addr[:wmap.local_bits]
        tile_index = addr[wmap.local_bits:wmap.local_bits + wmap.tile_bits]
        kind = addr[wmap.local_bits + wmap.tile_bits:]
        request = self.write.valid & ~self.busy
        target_ready = Signal()
        m.d.comb += target_ready.eq(1)
        words, col_bits = R * t.groups, column_layout(t).size
        for p in range(P):
            for q in range(Q):
                tile, here = tiles[p][q], tile_index == p * Q + q
                weight = here & (kind == WriteKind.WEIGHTS) & (local < words)
                column = here & (kind == WriteKind.COLUMNS) & (local < C)
                m.d.comb += [
                    tile.weight_wr.payload.addr.eq(local),
                    tile.weight_wr.payload.data.eq(payload[:t.lanes * t.cell_bits]),
                    tile.weight_wr.valid.eq(request & weight),
                    tile.column_wr.payload.col.eq(local),
                    tile.column_wr.payload.regs.eq(payload[:col_bits]),
                    tile.column_wr.valid.eq(request & column),
                ]
                with m.If(weight):
                    m.d.comb += target_ready.eq(tile.weight_wr.ready)
                with m.If(column):
                    m.d.comb += target_ready.eq(tile.column_wr.ready)
        m.d.comb += [
            periphery.reg_wr.payload.index.eq(local),
            periphery.reg_wr.payload.regs.eq(payload[:periphery_layout(layer).size]),
            periphery.reg_wr.valid.eq(request & (kind == WriteKind.PERIPHERY) & (tile_index == 0)
                                      & (local < layer.out_features)),
            self.write.ready.eq(~self.busy & target_ready),
        ]
        self._read_back(m, tiles, periphery)
        return m

    def _read_back(self, m, tiles, periphery) -> None:
        """Route ``read`` to the tiles' and the periphery's read ports by its address."""
        layer, t, wmap = self._layer, self._layer.tile, self._write_map
        P, Q = layer.row_tiles, layer.col_tiles
        targets = [port for row in tiles for tile in row
                   for port in (tile.weight_rd, tile.column_rd)] + [periphery.reg_rd]
        m.submodules.read_mux = mux = ReadMux(unsigned(wmap.local_bits), wmap.data_bits,
                                              len(targets))
        addr = self.read.addr.payload
        local = addr[:wmap.local_bits]
        tile_index = addr[wmap.local_bits:wmap.local_bits + wmap.tile_bits]
        kind = addr[wmap.local_bits + wmap.tile_bits:]
        m.d.comb += [mux.i.addr.payload.eq(local),
                     mux.i.addr.valid.eq(self.read.addr.valid & ~self.busy),
                     self.read.addr.ready.eq(mux.i.addr.ready & ~self.busy),
                     self.read.data.payload.eq(mux.i.data.payload),
                     self.read.data.valid.eq(mux.i.data.valid),
                     mux.i.data.ready.eq(self.read.data.ready),
                     mux.select.eq(len(targets))]
        tiled = tile_index < P * Q
        with m.If((kind == WriteKind.WEIGHTS) & tiled & (local < t.rows * t.groups)):
            m.d.comb += mux.select.eq(2 * tile_index)
        with m.Elif((kind == WriteKind.COLUMNS) & tiled & (local < t.cols)):
            m.d.comb += mux.select.eq(2 * tile_index + 1)
        with m.Elif((kind == WriteKind.PERIPHERY) & (tile_index == 0)
                    & (local < layer.out_features)):
            m.d.comb += mux.select.eq(len(targets) - 1)
        for initiator, target in zip(mux.o, targets, strict=True):
            connect_read(m, initiator, target)



class Network(wiring.Component):
    """Layers that stream into each other, as one design with one write port.

    Parameters
    ----------
    config : NetworkConfig
        The layers; layer ``i``'s output codes are layer ``i+1``'s input codes.
    images : sequence of LayerImages, optional
        Initial contents of every layer (small networks); otherwise load through ``write``.

    Members
    -------
    x : In(stream.Signature(first layer's input code))
        Input codes of layer 0, one per transfer.
    o : Out(stream.Signature(last layer's output code))
        Output codes of the last layer, one per transfer.
    write : In(stream.Signature(WriteMap.of(config.layers).layout()))
        Run-time loading of every layer (:class:`WriteMap`; :func:`network_writes` lists the
        writes of a whole plan). Ready only while ``busy`` is low; writes to no layer are taken
        and ignored.
    read : In(ReadSignature(unsigned(addr_bits), unsigned(data_bits)))
        Read-back of every layer at the addresses of ``write`` (:attr:`TiledLayer.read`);
        addresses of no layer read as 0. Answered only while ``busy`` is low.
    busy : Out(1)
        High while any layer holds part of a vector.

    Timing
    ------
    Each layer double-buffers its inputs, so layers overlap: in steady state a vector takes the
    :meth:`TiledLayer.cycles_per_vector` of the slowest layer (:meth:`cycles_per_vector`).
    """

    def __init__(self, config: NetworkConfig, images: Sequence | None = None):
        if not isinstance(config, NetworkConfig):
            raise TypeError(f"config must be a NetworkConfig, not {type(config).__name__}")
        if images is not None and len(images) != len(config.layers):
            raise ConfigError(f"{len(images)} layer images for {len(config.layers)} layers")
        self._config = config
        self._write_map = WriteMap.of(config.layers)
        self._layers = [
            TiledLayer(layer, None if images is None else images[index],
                       write_map=self._write_map)
            for index, layer in enumerate(config.layers)]
        first, last = config.layers[0], config.layers[-1]
        super().__init__({
            "x": In(stream.Signature(_code_shape(first.tile.input_bits, first.tile.input_signed))),
            "o": Out(stream.Signature(_code_shape(last.act_bits, not last.relu))),
            "write": In(stream.Signature(self._write_map.layout())),
            "read": In(ReadSignature(unsigned(self._write_map.addr_bits),
                                     unsigned(self._write_map.data_bits))),
            "busy": Out(1),
        })

    @property
    def config(self) -> NetworkConfig:
        return self._config

    @property
    def write_map(self) -> WriteMap:
        return self._write_map

    @staticmethod
    def cycles_per_vector(config: NetworkConfig) -> int:
        """Steady-state cycles per vector: the slowest layer's."""
        return max(TiledLayer.cycles_per_vector(layer) for layer in config.layers)

    def elaborate(self, platform):
        m = Module()
        layers = self._layers
        for index, layer in enumerate(layers):
            m.submodules[f"layer_{index}"] = layer
        wiring.connect(m, wiring.flipped(self.x), layers[0].x)
        for a, b in zip(layers, layers[1:], strict=False):
            wiring.connect(m, a.o, b.x)
        wiring.connect(m, layers[-1].o, wiring.flipped(self.o))

        m.d.comb += self.busy.eq(Cat(layer.busy for layer in layers).any())
        wmap = self._write_map
        addr = self.write.payload.addr
        selected = addr[wmap.layer_addr_bits:]
        target_ready = Signal()
        m.d.comb += target_ready.eq(1)
        for index, layer in enumerate(layers):
            here = selected == index
            m.d.comb += [
                layer.write.payload.addr.eq(addr[:wmap.layer_addr_bits]),
                layer.write.payload.data.eq(self.write.payload.data),
                layer.write.valid.eq(self.write.valid & ~self.busy & here),
            ]
            with m.If(here):
                m.d.comb += target_ready.eq(layer.write.ready)
        m.d.comb += self.write.ready.eq(~self.busy & target_ready)

        m.submodules.read_mux = mux = ReadMux(unsigned(wmap.layer_addr_bits), wmap.data_bits,
                                              len(layers))
        read_layer = self.read.addr.payload[wmap.layer_addr_bits:]
        m.d.comb += mux.select.eq(Mux(read_layer < len(layers), read_layer, len(layers)))
        connect_read(m, self.read, mux.i)
        for initiator, layer in zip(mux.o, layers, strict=True):
            connect_read(m, initiator, layer.read)
        return m
