"""Tiled layers and networks of layers (DESIGN.md 3.2) as Amaranth components.

A :class:`TiledLayer` runs an ``In x Out`` fully connected layer on a grid of ``P x Q``
:class:`~spinemu.hdl.tile.CrossbarTile` (``P = row_tiles``, ``Q = col_tiles``) and streams one
output code per transfer: :class:`RowBanks` feed the tiles, a :class:`ColumnSum` per column of
tiles adds their outputs, a :class:`ColumnMerge` puts the sums in output order and an
:class:`~spinemu.hdl.periphery.OutputPeriphery` requantizes them. A :class:`Network` chains
layers into one design with one write port (address map and decoding: :mod:`.writes`); a
convolution layer is a :class:`~spinemu.hdl.window.ConvLayer` around a tiled layer. The
arithmetic is that of :mod:`spinemu.sim.golden.network`; ``docs/layer.md`` describes the
architecture, the write address map and the timing.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import ConfigError, LayerConfig, NetworkConfig
from spinemu.images import LayerImages
from spinemu.numeric import clog2

from .activity import LayerCounters, activity_layout, network_activity_layout
from .periphery import OutputPeriphery, act_shape, periphery_layout
from .ports import ReadMux, ReadSignature, connect_read
from .routing import AdderTree, FanOutTree
from .tile import CrossbarTile, input_shape
from .writes import (
    LayerTargets,
    WriteDemux,
    WriteKind,
    WriteMap,
    layer_addresses,
    layer_writes,
    network_addresses,
    network_writes,
)

__all__ = [
    "RowBanks", "ColumnSum", "ColumnMerge", "TiledLayer", "Network", "MAX_IN_FLIGHT",
    "REPLAY_WAIT",
    # defined in .writes and .periphery, importable from here as before
    "WriteKind", "WriteMap", "periphery_layout", "layer_addresses", "layer_writes",
    "network_addresses", "network_writes", "OutputPeriphery",
]

#: Vectors a layer holds at once (first code taken, last code not yet emitted); the first code
#: of a further vector waits. A guard for the counter behind ``busy``: banks, tiles and queues
#: stop the input earlier (at 6..8 vectors with the output blocked, in the configurations
#: measured), so it never slows a layer down.
MAX_IN_FLIGHT = 15

#: Cycles between a tile asking for inputs and its first input code.
REPLAY_WAIT = 2


class RowBanks(wiring.Component):
    """The input side of a tiled layer: a fan-out tree into P double-buffered row banks, and
    the replay of a vector to the tiles (DESIGN.md 3.2).

    Parameters
    ----------
    layer : LayerConfig
        In = ``in_features``; P = ``row_tiles`` banks of R = ``tile.rows`` codes per half;
        I-bit codes (``input_shape(layer.tile)``).

    Members
    -------
    x : In(stream.Signature(input_shape(layer.tile)))
        Input codes, input 0 first, In transfers per vector; input ``p*R + r`` goes to row r of
        bank p. Ready while the half being filled is free and, for a vector's first code,
        ``room`` is high.
    room : In(1)
        A further vector may start.
    start : Out(1)
        The first code of a vector is taken in this cycle.
    tiles_ready : In(1)
        Every tile waits for inputs (the AND of their ``x.ready``); registered here.
    rows : Out(stream.Signature(ArrayLayout(input_shape(layer.tile), P), always_ready=True))
        Row t of every bank: ``rows.payload[p]`` is input ``p*R + t`` (0 past In). R
        transfers, t = 0..R-1 on consecutive cycles, per vector; no back-pressure (the tiles
        take them all).

    Timing
    ------
    A code reaches its bank ``ceil(log2 P)`` cycles after it is taken (:class:`FanOutTree`).
    The replay of a landed half starts when ``tiles_ready`` has been high for a cycle; its
    rows come one cycle after their bank read, so a tile's first code comes
    :data:`REPLAY_WAIT` cycles after it asks. After the burst the replay waits for
    ``tiles_ready`` to fall (the tiles have taken their last code), so a stale AND is never
    used. While one half replays, the other fills.
    """

    def __init__(self, layer: LayerConfig):
        self._layer = layer
        code = input_shape(layer.tile)
        super().__init__({
            "x": In(stream.Signature(code)),
            "room": In(1),
            "start": Out(1),
            "tiles_ready": In(1),
            "rows": Out(stream.Signature(data.ArrayLayout(code, layer.row_tiles),
                                         always_ready=True)),
        })

    def elaborate(self, platform):
        layer = self._layer
        R, P = layer.tile.rows, layer.row_tiles
        rows_last = layer.in_features - (P - 1) * R    # real rows of the last bank
        m = Module()

        # --- Fill: input code p*R + r, through the fan-out tree, into row r of bank p -------
        # `full` (set when the last code is taken) keeps the fill side off a half not yet
        # replayed; `landed` (set when that code reaches its bank, `latency` cycles later)
        # starts the replay. The replay clears both.
        code = self.x.payload.shape()
        fill_bank, fill_row, fill_half = Signal(range(P)), Signal(range(R)), Signal()
        full, landed = Signal(2), Signal(2)
        first = (fill_bank == 0) & (fill_row == 0)
        last_code = (fill_bank == P - 1) & (fill_row == rows_last - 1)
        m.d.comb += self.x.ready.eq(~full.bit_select(fill_half, 1) & (~first | self.room))
        taken = self.x.valid & self.x.ready
        m.d.comb += self.start.eq(taken & first)
        with m.If(taken):
            m.d.sync += fill_row.eq(fill_row + 1)
            with m.If(last_code):
                m.d.sync += [fill_bank.eq(0), fill_row.eq(0), fill_half.eq(~fill_half),
                             full.bit_select(fill_half, 1).eq(1)]
            with m.Elif(fill_row == R - 1):
                m.d.sync += [fill_bank.eq(fill_bank + 1), fill_row.eq(0)]

        m.submodules.fan_out = fan = FanOutTree(leaves=P, shape=data.StructLayout({
            "code": code, "bank": unsigned(clog2(P)), "row": unsigned(clog2(R)),
            "half": 1, "last": 1}))
        m.d.comb += [fan.i.valid.eq(taken), fan.i.payload.code.eq(self.x.payload),
                     fan.i.payload.bank.eq(fill_bank), fan.i.payload.row.eq(fill_row),
                     fan.i.payload.half.eq(fill_half), fan.i.payload.last.eq(last_code)]
        banks = []
        for p, leaf in enumerate(fan.o):
            m.submodules[f"bank_{p}"] = bank = memory.Memory(shape=code, depth=2 * R, init=[])
            wr = bank.write_port()
            here = leaf.valid & (leaf.payload.bank == p)
            m.d.comb += [wr.addr.eq(Mux(leaf.payload.half, R, 0) + leaf.payload.row),
                         wr.data.eq(leaf.payload.code), wr.en.eq(here)]
            if p == P - 1:
                with m.If(here & leaf.payload.last):
                    m.d.sync += landed.bit_select(leaf.payload.half, 1).eq(1)
            banks.append(bank.read_port())

        # --- Replay: row t of every bank, R rows, when every tile waits ----------------------
        all_ready = Signal()
        m.d.sync += all_ready.eq(self.tiles_ready)
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
        word_row = Signal(range(R))
        m.d.sync += [self.rows.valid.eq(issue), word_row.eq(replay_row)]
        for p, rd in enumerate(banks):
            row = rd.data
            if p == P - 1 and rows_last < R:
                row = Mux(word_row >= rows_last, 0, rd.data)
            m.d.comb += [rd.addr.eq(Mux(replay_half, R, 0) + replay_row),
                         self.rows.payload[p].eq(row)]
        return m


class ColumnSum(wiring.Component):
    """The adder tree of one column of tiles: the exact sum of its P row-tiles' outputs, with
    the padded columns dropped (DESIGN.md 3.2).

    Parameters
    ----------
    layer : LayerConfig
        P = ``row_tiles``; tiles of C columns and Z-bit outputs; Y = ``y_bits`` = Z +
        ceil(log2 P).
    kept : int
        Real columns of this column of tiles, 1..C (fewer than C only in the last).

    Members
    -------
    z : In(stream.Signature(signed(Z))).array(P)
        The ``z`` of row-tiles 0..P-1, C transfers per vector; all P are taken together, once
        all are valid.
    y : Out(stream.Signature(signed(Y)))
        ``sum_p z[p]`` of columns 0..kept-1, ``kept`` transfers per vector; the sums of columns
        ``kept..C-1`` are taken and dropped.

    Timing
    ------
    :class:`AdderTree` of P leaves: latency ``ceil(log2 P)``, one sum per clock, the tree stalls
    while ``y`` is full and not taken.
    """

    def __init__(self, layer: LayerConfig, *, kept: int):
        if not 1 <= kept <= layer.tile.cols:
            raise ValueError(f"kept must be 1..{layer.tile.cols}, not {kept}")
        self._layer, self._kept = layer, kept
        super().__init__({
            "z": In(stream.Signature(signed(layer.tile.out_bits))).array(layer.row_tiles),
            "y": Out(stream.Signature(signed(layer.y_bits))),
        })

    def elaborate(self, platform):
        layer, C = self._layer, self._layer.tile.cols
        m = Module()
        m.submodules.tree = tree = AdderTree(leaves=layer.row_tiles, width=layer.tile.out_bits)
        all_valid = Cat(z.valid for z in self.z).all()
        m.d.comb += tree.i.valid.eq(all_valid)
        for p, z in enumerate(self.z):
            m.d.comb += [tree.i.payload[p].eq(z.payload), z.ready.eq(tree.i.ready & all_valid)]
        if self._kept == C:
            wiring.connect(m, tree.o, wiring.flipped(self.y))
            return m
        col = Signal(range(C), name="pad_col")
        keep = col < self._kept
        m.d.comb += [self.y.valid.eq(tree.o.valid & keep), self.y.payload.eq(tree.o.payload),
                     tree.o.ready.eq(~keep | self.y.ready)]
        with m.If(tree.o.valid & tree.o.ready):
            m.d.sync += col.eq(Mux(col == C - 1, 0, col + 1))
        return m


class ColumnMerge(wiring.Component):
    """The sums of the Q columns of tiles of a layer, in output order (DESIGN.md 3.2).

    Parameters
    ----------
    layer : LayerConfig
        Q = ``col_tiles`` of C columns; Out = ``out_features``; Y = ``y_bits``.

    Members
    -------
    y : In(stream.Signature(signed(Y))).array(Q)
        The sums of column of tiles q: C per vector (``Out - (Q-1)*C`` for the last).
    o : Out(stream.Signature(signed(Y)))
        All Out sums of a vector, output 0 first.

    Timing
    ------
    With Q > 1 every column of tiles queues its sums in a FIFO of C entries
    (``SyncFIFOBuffered``, latency 2), read out column of tiles by column of tiles, so
    ``o`` runs ``0 .. Out-1`` while the tiles compute the next vector. Q = 1 is a wire.
    """

    def __init__(self, layer: LayerConfig):
        self._layer = layer
        sums = stream.Signature(signed(layer.y_bits))
        super().__init__({"y": In(sums).array(layer.col_tiles), "o": Out(sums)})

    def elaborate(self, platform):
        layer, C, Q = self._layer, self._layer.tile.cols, self._layer.col_tiles
        cols_last = layer.out_features - (Q - 1) * C   # real columns of the last
        m = Module()
        if Q == 1:
            wiring.connect(m, wiring.flipped(self.y[0]), wiring.flipped(self.o))
            return m
        queues = []
        for q, y in enumerate(self.y):
            m.submodules[f"queue_{q}"] = queue = fifo.SyncFIFOBuffered(width=layer.y_bits,
                                                                       depth=C)
            m.d.comb += [queue.w_data.eq(y.payload), queue.w_en.eq(y.valid),
                         y.ready.eq(queue.w_rdy)]
            queues.append(queue)
        select, count = Signal(range(Q)), Signal(range(C))
        m.d.comb += [self.o.valid.eq(Array(queue.r_rdy for queue in queues)[select]),
                     self.o.payload.eq(Array(queue.r_data.as_signed() for queue in queues)[select])]
        for q, queue in enumerate(queues):
            m.d.comb += queue.r_en.eq(self.o.ready & (select == q))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += count.eq(count + 1)
            with m.If((count == C - 1) | ((select == Q - 1) & (count == cols_last - 1))):
                m.d.sync += [count.eq(0), select.eq(Mux(select == Q - 1, 0, select + 1))]
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
    counters : bool
        Add the activity counters (``activity``, ``drained``); off, the design is unchanged.

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
    activity : Out(activity_layout(layer)), with ``counters``
        The layer's event counters (:class:`~spinemu.hdl.activity.LayerCounters`): input
        pulses by bit, conversions, adder-tree adds per level, output codes.
    drained : Out(1), with ``counters``
        No vector in the layer and every tile idle: the counters are final. (``busy`` falls
        with the last output code, while padded tile columns may still be converting.)

    Architecture
    ------------
    :class:`RowBanks`: input codes enter a :class:`FanOutTree` of P leaves (latency
    ceil(log2 P)) that carries each code, with its bank, row and buffer half, to P row banks;
    bank p keeps inputs ``p*R .. p*R+R-1``. The banks are double buffered, so the next vector
    streams in while the tiles work. When a vector has landed and every tile waits for inputs,
    the banks replay it R rows in parallel, row t of bank p (zero for padded rows) going to the
    Q tiles of row-tile p, so all tiles load, compute and emit in lockstep. A
    :class:`ColumnSum` per column of tiles q takes the ``z`` of its P row-tiles together into an
    :class:`AdderTree` (latency ceil(log2 P), Y-bit sums) and drops the sums of padded columns;
    with Q > 1 a :class:`ColumnMerge` queues each column of tiles' sums in a FIFO of C entries,
    read out column of tiles by column of tiles. One :class:`OutputPeriphery` (latency 5) turns
    the sums into output codes. Writes and read-back go through a :class:`LayerTargets`
    decoder each, to a :class:`WriteDemux` and a :class:`ReadMux`.

    Timing
    ------
    With inputs always valid and ``o`` always ready, a vector takes :meth:`cycles_per_vector`
    cycles in steady state: the slowest of taking In codes, emitting Out codes and the tiles'
    own vector time plus 2 cycles of hand-shake. Vectors overlap; an idle layer emits its first
    output code :meth:`latency` cycles after taking the last input code. The tests measure both.
    """

    def __init__(self, layer: LayerConfig, images: LayerImages | None = None, *,
                 write_map: WriteMap | None = None, counters: bool = False):
        if not isinstance(layer, LayerConfig):
            raise TypeError(f"layer must be a LayerConfig, not {type(layer).__name__}")
        self._layer, self._counters = layer, counters
        self._images = None if images is None else images.checked(layer)
        self._write_map = write_map or WriteMap.of([layer])
        ports = {
            "x": In(stream.Signature(input_shape(layer.tile))),
            "o": Out(stream.Signature(act_shape(layer))),
            "write": In(stream.Signature(self._write_map.layer_layout())),
            "read": In(ReadSignature(unsigned(self._write_map.layer_addr_bits),
                                     unsigned(self._write_map.data_bits))),
            "busy": Out(1),
        }
        if counters:
            ports["activity"] = Out(activity_layout(layer))
            ports["drained"] = Out(1)
        super().__init__(ports)

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
        tiles = CrossbarTile.cycles_per_vector(layer.tile, input_wait=REPLAY_WAIT)
        return max(layer.in_features, layer.out_features, tiles)

    @staticmethod
    def latency(layer: LayerConfig) -> int:
        """Cycles from the last input code taken to the first output code, from idle.

        The fan-out and adder trees (``ceil(log2 P)`` each), the row banks (1), loading the tiles
        (R), the tile's own latency (R + 8) and the periphery (5); the FIFOs of Q > 1 add 2.
        """
        depth = clog2(layer.row_tiles)
        return 2 * depth + 2 * layer.tile.rows + 14 + (2 if layer.col_tiles > 1 else 0)

    def elaborate(self, platform):
        layer, t, images = self._layer, self._layer.tile, self._images
        C, P, Q = t.cols, layer.row_tiles, layer.col_tiles
        m = Module()
        g = None if images is None else images.tile_weights(layer)
        tiles = [[CrossbarTile(t) if images is None else
                  CrossbarTile(t, g[p][q], images.adc_shift[p, q], images.gain[p, q],
                               images.offset[p, q]) for q in range(Q)] for p in range(P)]
        for p in range(P):
            for q in range(Q):
                m.submodules[f"tile_{p}_{q}"] = tiles[p][q]

        # Inputs: banks, replayed to every tile of a row of tiles in lockstep
        m.submodules.banks = banks = RowBanks(layer)
        wiring.connect(m, wiring.flipped(self.x), banks.x)
        m.d.comb += banks.tiles_ready.eq(Cat(tile.x.ready for row in tiles for tile in row).all())
        for p in range(P):
            for q in range(Q):
                m.d.comb += [tiles[p][q].x.valid.eq(banks.rows.valid),
                             tiles[p][q].x.payload.eq(banks.rows.payload[p])]

        # Outputs: adder tree per column of tiles, in output order, through the periphery
        m.submodules.merge = merge = ColumnMerge(layer)
        for q in range(Q):
            m.submodules[f"adder_{q}"] = adder = ColumnSum(
                layer, kept=C if q < Q - 1 else layer.out_features - (Q - 1) * C)
            for p in range(P):
                wiring.connect(m, tiles[p][q].z, adder.z[p])
            wiring.connect(m, adder.y, merge.y[q])
        m.submodules.periphery = periphery = OutputPeriphery(
            layer, *((images.bias, images.mult, images.shift) if images is not None else ()))
        wiring.connect(m, merge.o, periphery.i)
        wiring.connect(m, periphery.o, wiring.flipped(self.o))

        # Vectors in flight (first code taken, last code not yet emitted): busy, and a bound
        in_flight = Signal(range(MAX_IN_FLIGHT + 1))
        out_index, vector_out = Signal(range(layer.out_features)), Signal()
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += out_index.eq(Mux(out_index == layer.out_features - 1, 0, out_index + 1))
            m.d.comb += vector_out.eq(out_index == layer.out_features - 1)
        m.d.sync += in_flight.eq(in_flight + banks.start - vector_out)
        m.d.comb += [self.busy.eq(in_flight != 0), banks.room.eq(in_flight < MAX_IN_FLIGHT)]

        if self._counters:
            self._count(m, tiles, banks)
        stores = [port for row in tiles for tile in row for port in (tile.weight_wr,
                                                                      tile.column_wr)]
        self._write(m, stores + [periphery.reg_wr])
        self._read_back(m, [port for row in tiles for tile in row
                            for port in (tile.weight_rd, tile.column_rd)] + [periphery.reg_rd])
        return m

    def _count(self, m, tiles, banks) -> None:
        """:class:`LayerCounters` on the tiles' and the periphery's hand-shakes."""
        m.submodules.counters = counters = LayerCounters(self._layer)
        flat = [tile for row in tiles for tile in row]
        m.d.comb += [
            counters.x_taken.eq(Cat(t.x.valid & t.x.ready for t in flat)),
            counters.z_taken.eq(Cat(t.z.valid & t.z.ready for t in flat)),
            counters.tree_taken.eq(Cat(t.z.valid & t.z.ready for t in tiles[0])),
            counters.o_taken.eq(self.o.valid & self.o.ready),
            self.activity.eq(counters.counts),
            self.drained.eq(~self.busy & ~Cat(t.busy for t in flat).any()),
        ]
        for p in range(self._layer.row_tiles):
            m.d.comb += counters.x[p].eq(banks.rows.payload[p])

    def _write(self, m, stores) -> None:
        """Route ``write``, while not ``busy``, to the write port of the store its address
        names (:class:`LayerTargets` order), as that store's index and data."""
        wmap = self._write_map
        m.submodules.write_targets = targets = LayerTargets(self._layer, wmap)
        m.submodules.write_demux = demux = WriteDemux(wmap.layer_layout(), targets.targets)
        wiring.connect(m, wiring.flipped(self.write), demux.i)
        m.d.comb += [targets.addr.eq(self.write.payload.addr), demux.select.eq(targets.target),
                     demux.en.eq(~self.busy)]
        for o, store in zip(demux.o, stores, strict=True):
            # (addr, data), (col, regs) or (index, regs): the local index, then the word
            index, word = (name for name, _ in store.payload.shape())
            m.d.comb += [store.valid.eq(o.valid), o.ready.eq(store.ready),
                         store.payload[index].eq(o.payload.addr[:wmap.local_bits]),
                         store.payload[word].eq(o.payload.data)]  # its low bits

    def _read_back(self, m, targets) -> None:
        """Route ``read``, while not ``busy``, to the read port its address names."""
        wmap = self._write_map
        m.submodules.read_targets = decode = LayerTargets(self._layer, wmap)
        m.submodules.read_mux = mux = ReadMux(unsigned(wmap.local_bits), wmap.data_bits,
                                              len(targets))
        m.d.comb += [decode.addr.eq(self.read.addr.payload),
                     mux.i.addr.payload.eq(self.read.addr.payload[:wmap.local_bits]),
                     mux.i.addr.valid.eq(self.read.addr.valid & ~self.busy),
                     self.read.addr.ready.eq(mux.i.addr.ready & ~self.busy),
                     self.read.data.payload.eq(mux.i.data.payload),
                     self.read.data.valid.eq(mux.i.data.valid),
                     mux.i.data.ready.eq(self.read.data.ready),
                     mux.select.eq(decode.target)]
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
    counters : bool
        Every layer's activity counters (``activity``, ``drained``).

    Members
    -------
    x : In(stream.Signature(first layer's input code))
        Input codes of layer 0, one per transfer (``layers[0].inputs`` per inference: an NHWC
        image for a convolution).
    o : Out(stream.Signature(last layer's output code))
        Output codes of the last layer, one per transfer (``layers[-1].outputs`` per
        inference).
    write : In(stream.Signature(WriteMap.of(config.layers).layout()))
        Run-time loading of every layer (:class:`WriteMap`; :func:`network_writes` lists the
        writes of a whole plan). Ready only while ``busy`` is low; writes to no layer are taken
        and ignored.
    read : In(ReadSignature(unsigned(addr_bits), unsigned(data_bits)))
        Read-back of every layer at the addresses of ``write`` (:attr:`TiledLayer.read`);
        addresses of no layer read as 0. Answered only while ``busy`` is low.
    busy : Out(1)
        High while any layer holds part of a vector.
    activity : Out(StructLayout of ``layer{i}``: activity_layout), with ``counters``
        Every layer's event counters (a convolution's: its tiled layer's, pooling not
        counted).
    drained : Out(1), with ``counters``
        Every layer drained (:attr:`TiledLayer.drained`): the counters are final.

    A layer with ``conv`` is a :class:`~spinemu.hdl.window.ConvLayer` (window generator,
    tiled layer of the im2col matrix, pooling), any other a :class:`TiledLayer`.

    Timing
    ------
    Each layer double-buffers its inputs, so layers overlap: in steady state an inference
    takes the :meth:`layer_cycles` of the slowest layer (:meth:`cycles_per_vector`); a
    convolution runs its tiled layer once per output position.
    """

    def __init__(self, config: NetworkConfig, images: Sequence[LayerImages] | None = None, *,
                 counters: bool = False):
        if not isinstance(config, NetworkConfig):
            raise TypeError(f"config must be a NetworkConfig, not {type(config).__name__}")
        if images is not None and len(images) != len(config.layers):
            raise ConfigError(f"{len(images)} layer images for {len(config.layers)} layers")
        self._config, self._counters = config, counters
        self._write_map = WriteMap.of(config.layers)
        from .window import ConvLayer

        images = [None] * len(config.layers) if images is None else images
        self._layers = [
            TiledLayer(layer, image, write_map=self._write_map, counters=counters)
            if layer.conv is None else ConvLayer(layer, image, write_map=self._write_map,
                                                 counters=counters)
            for layer, image in zip(config.layers, images, strict=True)]
        ports = {
            "x": In(stream.Signature(input_shape(config.layers[0].tile))),
            "o": Out(stream.Signature(act_shape(config.layers[-1]))),
            "write": In(stream.Signature(self._write_map.layout())),
            "read": In(ReadSignature(unsigned(self._write_map.addr_bits),
                                     unsigned(self._write_map.data_bits))),
            "busy": Out(1),
        }
        if counters:
            ports["activity"] = Out(network_activity_layout(config))
            ports["drained"] = Out(1)
        super().__init__(ports)

    @property
    def config(self) -> NetworkConfig:
        return self._config

    @property
    def write_map(self) -> WriteMap:
        return self._write_map

    @staticmethod
    def layer_cycles(layer: LayerConfig) -> int:
        """Steady-state clocks per inference of one layer: :meth:`TiledLayer.cycles_per_vector`
        of a dense layer, ``Hc * Wc`` times that for a convolution
        (:meth:`~spinemu.hdl.window.ConvLayer.cycles_per_image`)."""
        positions = 1 if layer.conv is None else layer.conv.positions
        return positions * TiledLayer.cycles_per_vector(layer)

    @staticmethod
    def cycles_per_vector(config: NetworkConfig) -> int:
        """Steady-state clocks per inference (vector or image): the slowest layer's
        :meth:`layer_cycles`, ``max_l positions_l * max(In_l, Out_l, tile_l)``."""
        return max(Network.layer_cycles(layer) for layer in config.layers)

    def elaborate(self, platform):
        m = Module()
        layers, wmap, n = self._layers, self._write_map, len(self._layers)
        for index, layer in enumerate(layers):
            m.submodules[f"layer_{index}"] = layer
        wiring.connect(m, wiring.flipped(self.x), layers[0].x)
        for a, b in zip(layers, layers[1:], strict=False):
            wiring.connect(m, a.o, b.x)
        wiring.connect(m, layers[-1].o, wiring.flipped(self.o))
        m.d.comb += self.busy.eq(Cat(layer.busy for layer in layers).any())
        if self._counters:
            m.d.comb += [self.activity[f"layer{i}"].eq(layer.activity)
                         for i, layer in enumerate(layers)]
            m.d.comb += self.drained.eq(Cat(layer.drained for layer in layers).all())

        m.submodules.write_demux = demux = WriteDemux(wmap.layout(), n)
        wiring.connect(m, wiring.flipped(self.write), demux.i)
        selected = self.write.payload.addr[wmap.layer_addr_bits:]
        m.d.comb += [demux.select.eq(Mux(selected < n, selected, n)), demux.en.eq(~self.busy)]
        for o, layer in zip(demux.o, layers, strict=True):
            m.d.comb += [layer.write.valid.eq(o.valid), o.ready.eq(layer.write.ready),
                         layer.write.payload.addr.eq(o.payload.addr[:wmap.layer_addr_bits]),
                         layer.write.payload.data.eq(o.payload.data)]

        m.submodules.read_mux = mux = ReadMux(unsigned(wmap.layer_addr_bits), wmap.data_bits, n)
        read_layer = self.read.addr.payload[wmap.layer_addr_bits:]
        m.d.comb += mux.select.eq(Mux(read_layer < n, read_layer, n))
        connect_read(m, self.read, mux.i)
        for initiator, layer in zip(mux.o, layers, strict=True):
            connect_read(m, initiator, layer.read)
        return m
