"""The write stream that loads tiled layers and networks (DESIGN.md 3.2, ``docs/layer.md``).

One place for the write address map: its fields (:class:`WriteKind`, :class:`WriteMap`), the
host-side writes that load a plan's images (:func:`layer_writes`, :func:`network_writes`, packed
with :func:`spinemu.link.regmap.pack_fields`), and the gateware that decodes it:
:class:`LayerTargets` names the store an address of a layer means, :class:`WriteDemux` routes
the stream there (the layer to its tiles and periphery, the network to its layers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import ConfigError, LayerConfig, NetworkConfig
from spinemu.images import LayerImages
from spinemu.link.regmap import leaf_widths, pack_fields
from spinemu.numeric import clog2

from .periphery import periphery_layout
from .tile import column_layout, weight_words, weight_write_layout

__all__ = [
    "WriteKind", "WriteMap", "layer_addresses", "layer_writes", "network_addresses",
    "network_writes", "LayerTargets", "WriteDemux",
]


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


def _rows(layout: data.StructLayout, arrays: dict) -> list[tuple]:
    """Per word, the values of ``arrays`` (field name -> values over the words) in the field
    order of ``layout``."""
    return list(zip(*(arrays[name].tolist() for name, _ in layout), strict=True))


def layer_writes(layer: LayerConfig, images: LayerImages, *, write_map: WriteMap | None = None,
                 index: int = 0) -> list[tuple[int, int]]:
    """The ``(addr, data)`` writes that load ``images`` into layer ``index`` of ``write_map``, at
    the addresses of :func:`layer_addresses`.

    Each image is range-checked once, as a whole array (:meth:`LayerImages.checked`); its
    ranges lie inside the fields of the word layouts, so the words are packed without checking
    every field again (:func:`~spinemu.link.regmap.leaf_widths`).
    """
    images = images.checked(layer)
    g = images.tile_weights(layer)
    t = layer.tile
    cells = leaf_widths(weight_write_layout(t)["data"].shape)
    columns, periphery = column_layout(t), periphery_layout(layer)
    column_widths, periphery_widths = leaf_widths(columns), leaf_widths(periphery)
    words = []
    for p in range(layer.row_tiles):
        for q in range(layer.col_tiles):
            words += [pack_fields(word, cells) for word in weight_words(t, g[p][q]).tolist()]
            registers = {"adc_shift": images.adc_shift[p, q], "gain": images.gain[p, q],
                         "offset": images.offset[p, q]}
            words += [pack_fields(row, column_widths) for row in _rows(columns, registers)]
    registers = {"bias": images.bias, "mult": images.mult, "shift": images.shift}
    words += [pack_fields(row, periphery_widths) for row in _rows(periphery, registers)]
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


class LayerTargets(wiring.Component):
    """Decodes an address of a layer (:class:`WriteMap`, without the layer field) into the store
    it names; used for both the writes and the read-back of a :class:`~.layer.TiledLayer`.

    Parameters
    ----------
    layer : LayerConfig
        P = ``row_tiles``, Q = ``col_tiles``; tiles of R rows, C columns, K groups; Out outputs.
    write_map : WriteMap
        Field widths of the address.

    Members
    -------
    addr : In(unsigned(write_map.layer_addr_bits))
        ``local | tile << local_bits | kind << (local_bits + tile_bits)``.
    target : Out(range(2*P*Q + 2))
        ``2*i`` for the weight memory of tile ``i = p*Q + q`` (kind WEIGHTS, ``local < R*K``),
        ``2*i + 1`` for its column registers (kind COLUMNS, ``local < C``), ``2*P*Q`` for the
        output periphery (kind PERIPHERY, tile 0, ``local < Out``), :attr:`targets` (``2*P*Q +
        1``) for nothing: any other kind, tile or local index.

    Combinational (latency 0).
    """

    def __init__(self, layer: LayerConfig, write_map: WriteMap):
        self._layer, self._write_map = layer, write_map
        super().__init__({
            "addr": In(unsigned(write_map.layer_addr_bits)),
            "target": Out(range(self.targets + 1)),
        })

    @property
    def targets(self) -> int:
        """Number of stores: two per tile, and the periphery."""
        return 2 * self._layer.row_tiles * self._layer.col_tiles + 1

    def elaborate(self, platform):
        layer, t, wmap = self._layer, self._layer.tile, self._write_map
        m = Module()
        local = self.addr[:wmap.local_bits]
        tile = self.addr[wmap.local_bits:wmap.local_bits + wmap.tile_bits]
        kind = self.addr[wmap.local_bits + wmap.tile_bits:]
        tiled = tile < layer.row_tiles * layer.col_tiles
        m.d.comb += self.target.eq(self.targets)
        with m.If((kind == WriteKind.WEIGHTS) & tiled & (local < t.rows * t.groups)):
            m.d.comb += self.target.eq(2 * tile)
        with m.Elif((kind == WriteKind.COLUMNS) & tiled & (local < t.cols)):
            m.d.comb += self.target.eq(2 * tile + 1)
        with m.Elif((kind == WriteKind.PERIPHERY) & (tile == 0) & (local < layer.out_features)):
            m.d.comb += self.target.eq(self.targets - 1)
        return m


class WriteDemux(wiring.Component):
    """One write stream to one of ``targets`` write streams, chosen by the owner from the
    address (the write twin of :class:`~.ports.ReadMux`).

    Parameters
    ----------
    shape : ShapeLike
        Payload of every stream (a :meth:`WriteMap.layout` or :meth:`WriteMap.layer_layout`).
    targets : int
        Number of target streams ``o[0..targets-1]``, >= 1.

    Members
    -------
    i : In(stream.Signature(shape))
    select : In(range(targets + 1))
        The target of ``i.payload``; ``targets`` means none: such a write is taken and dropped.
    en : In(1)
        Writes may go ahead (the owner is idle). While low, ``i`` is not ready and no target
        sees ``valid``.
    o : Out(stream.Signature(shape)).array(targets)
        Every target sees ``i.payload``; only the selected one sees ``valid``.

    Timing
    ------
    Combinational (latency 0): ``i.ready`` is ``en`` and the selected target's ``ready`` (1 for
    none).
    """

    def __init__(self, shape, targets: int):
        if isinstance(targets, bool) or not isinstance(targets, int) or targets < 1:
            raise ValueError(f"targets must be an integer >= 1, not {targets!r}")
        self._targets = targets
        super().__init__({
            "i": In(stream.Signature(shape)),
            "select": In(range(targets + 1)),
            "en": In(1),
            "o": Out(stream.Signature(shape)).array(targets),
        })

    def elaborate(self, platform):
        m = Module()
        target_ready = Signal()
        m.d.comb += target_ready.eq(1)
        for k, o in enumerate(self.o):
            here = self.select == k
            m.d.comb += [o.payload.eq(self.i.payload),
                         o.valid.eq(self.i.valid & self.en & here)]
            with m.If(here):
                m.d.comb += target_ready.eq(o.ready)
        m.d.comb += self.i.ready.eq(self.en & target_ready)
        return m
