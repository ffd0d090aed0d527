# amaranth: UnusedElaboratable=no
# (load_fabric makes fabrics that the regmap and board status commands only read the map of)
"""Fabrics on the host link: their register maps and the glue from regions to components.

A fabric for the link is a :class:`wiring.Component` with one ``In(RegionSignature)`` port per
region of its :meth:`regions` (named as the region) and an ``idle`` output; :class:`LinkCore`
(:mod:`spinemu.gateware.core`) adds the ``status`` region and the engine. Fabrics: the crossbar
tile (:class:`TileFabric`), a mapped network (:class:`NetworkFabric`), the p-bit core
(:class:`~spinemu.gateware.pbit_fabric.PBitFabric`) and several of them behind one link
(:class:`CompositeFabric`).
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

from amaranth.hdl import Cat, Module, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import Out

from spinemu.config import ConfigError, NetworkConfig, PBitConfig, TileConfig
from spinemu.hdl.layer import Network
from spinemu.hdl.link import RegionSignature
from spinemu.hdl.regions import MemoryRegion, PopRegion, PushRegion
from spinemu.hdl.tile import (
    CrossbarTile,
    column_layout,
    column_write_layout,
    weight_words,
    weight_write_layout,
)
from spinemu.hdl.uart import baud_divisor
from spinemu.hdl.writes import WriteMap
from spinemu.link.regmap import Access, Region

__all__ = ["BAUD", "CompositeFabric", "NetworkFabric", "TileFabric", "default_fabric",
           "load_fabric", "network_regions", "pbit_fabric", "resolve_fabric", "tile_regions"]

#: UART rate of the host link on every board.
BAUD = 115_200

#: Region ids of the fabric start here; 0 is the link's own ``status`` region.
FIRST_FABRIC_ID = 1


def _stream_depth(words: int) -> int:
    return max(16, 1 << (words - 1).bit_length())


def tile_regions(config: TileConfig) -> list[Region]:
    """Regions of a :class:`TileFabric` (DESIGN.md 3.1 images and the vector streams)."""
    x_shape = signed(config.input_bits) if config.input_signed else unsigned(config.input_bits)
    depth = _stream_depth(max(config.rows, config.cols))
    return [
        Region("weights", 1, Access.RW, config.rows * config.groups,
               data.ArrayLayout(signed(config.cell_bits), config.lanes),
               f"weight word k*R + r = cells g[r, k*L : (k+1)*L] (L = {config.lanes} lanes)"),
        Region("columns", 2, Access.RW, config.cols, column_layout(config),
               "per-column ADC shift, gain, offset"),
        Region("x", 3, Access.PUSH, depth, x_shape,
               f"input codes, {config.rows} per vector, row 0 first"),
        Region("z", 4, Access.POP, depth, signed(config.out_bits),
               f"output codes, {config.cols} per vector, column 0 first"),
    ]


class TileFabric(wiring.Component):
    """A :class:`~spinemu.hdl.tile.CrossbarTile` behind the regions of :func:`tile_regions`.

    Members
    -------
    weights, columns, x, z : In(RegionSignature(word bits))
        Region ports. ``weights`` and ``columns`` answer only while the tile is idle and no input
        waits (BUSY otherwise), so a load never changes a vector in flight.
    idle : Out(1)
    """

    def __init__(self, config: TileConfig):
        self._config = config
        self._regions = tile_regions(config)
        super().__init__({
            **{r.name: wiring.In(RegionSignature(r.word_bits)) for r in self._regions},
            "idle": Out(1),
        })

    @property
    def config(self) -> TileConfig:
        return self._config

    @property
    def cycles_per_vector(self) -> int:
        """Clocks per input vector of the tile when inputs come without waiting
        (:meth:`~spinemu.hdl.tile.CrossbarTile.cycles_per_vector`)."""
        return CrossbarTile.cycles_per_vector(self._config)

    def regions(self) -> list[Region]:
        return list(self._regions)

    @staticmethod
    def images(config: TileConfig, g, adc_shift=None, gain=None, offset=None) -> dict[str, list]:
        """Region values that program ``g`` and the calibration (defaults as the tile's).

        Returns ``{"weights": [[cell] * lanes] * (R*K), "columns": [{adc_shift, gain, offset}]}``,
        checked against ``config`` (:class:`~spinemu.config.ConfigError` when they do not fit).
        """
        shifts, gains, offsets = config.calibration(adc_shift, gain, offset)
        return {
            "weights": weight_words(config, g).tolist(),
            "columns": [{"adc_shift": int(s), "gain": int(k), "offset": int(o)}
                        for s, k, o in zip(shifts, gains, offsets, strict=True)],
        }

    def elaborate(self, platform):
        m = Module()
        cfg = self._config
        regions = {r.name: r for r in self._regions}
        m.submodules.tile = tile = CrossbarTile(cfg)
        m.submodules.x = x = PushRegion(regions["x"].layout, regions["x"].depth)
        m.submodules.z = z = PopRegion(regions["z"].layout, regions["z"].depth)
        m.submodules.weights = weights = MemoryRegion(
            weight_write_layout(cfg), weight_write_layout(cfg)["addr"].shape,
            regions["weights"].layout)
        m.submodules.columns = columns = MemoryRegion(
            column_write_layout(cfg), column_write_layout(cfg)["col"].shape,
            column_layout(cfg))
        for name, adapter in [("x", x), ("z", z), ("weights", weights), ("columns", columns)]:
            wiring.connect(m, wiring.flipped(getattr(self, name)), adapter.port)
        wiring.connect(m, x.o, tile.x)
        wiring.connect(m, tile.z, z.i)
        wiring.connect(m, weights.wr, tile.weight_wr)
        wiring.connect(m, weights.rd, tile.weight_rd)
        wiring.connect(m, columns.wr, tile.column_wr)
        wiring.connect(m, columns.rd, tile.column_rd)
        idle = ~tile.busy & x.empty
        m.d.comb += [weights.idle.eq(idle), columns.idle.eq(idle), self.idle.eq(idle)]
        return m


def network_regions(config: NetworkConfig) -> list[Region]:
    """Regions of a :class:`NetworkFabric`: every layer's images at the addresses of
    :class:`~spinemu.hdl.writes.WriteMap`, and the vector streams."""
    wmap = WriteMap.of(config.layers)
    first, last = config.layers[0], config.layers[-1]
    x_shape = (signed(first.tile.input_bits) if first.tile.input_signed
               else unsigned(first.tile.input_bits))
    z_shape = unsigned(last.act_bits) if last.relu else signed(last.act_bits)
    return [
        Region("images", 1, Access.RW, 1 << wmap.addr_bits, unsigned(wmap.data_bits),
               f"index = layer << {wmap.layer_addr_bits} | kind << "
               f"{wmap.local_bits + wmap.tile_bits} | tile << {wmap.local_bits} | local; "
               "word packed as the network's write port (hdl.writes.WriteMap); unused "
               "addresses ignore writes and read 0"),
        Region("x", 2, Access.PUSH, _stream_depth(first.inputs), x_shape,
               f"input codes, {first.inputs} per vector, input 0 first"),
        Region("z", 3, Access.POP, _stream_depth(last.outputs), z_shape,
               f"output codes, {last.outputs} per vector, output 0 first"),
    ]


class NetworkFabric(wiring.Component):
    """A mapped :class:`~spinemu.hdl.layer.Network` behind the regions of
    :func:`network_regions`.

    Members
    -------
    images, x, z : In(RegionSignature(word bits))
        ``images`` reads and writes the network's write/read ports (index = write address) and
        answers only while the network is idle and no input waits (BUSY otherwise).
    idle : Out(1)
    """

    def __init__(self, config: NetworkConfig):
        self._config = config
        self._regions = network_regions(config)
        super().__init__({
            **{r.name: wiring.In(RegionSignature(r.word_bits)) for r in self._regions},
            "idle": Out(1),
        })

    @property
    def config(self) -> NetworkConfig:
        return self._config

    def regions(self) -> list[Region]:
        return list(self._regions)

    def elaborate(self, platform):
        m = Module()
        regions = {r.name: r for r in self._regions}
        wmap = WriteMap.of(self._config.layers)
        m.submodules.network = net = Network(self._config)
        m.submodules.x = x = PushRegion(regions["x"].layout, regions["x"].depth)
        m.submodules.z = z = PopRegion(regions["z"].layout, regions["z"].depth)
        m.submodules.images = images = MemoryRegion(wmap.layout(), unsigned(wmap.addr_bits),
                                                    unsigned(wmap.data_bits))
        for name, adapter in [("x", x), ("z", z), ("images", images)]:
            wiring.connect(m, wiring.flipped(getattr(self, name)), adapter.port)
        wiring.connect(m, x.o, net.x)
        wiring.connect(m, net.o, z.i)
        wiring.connect(m, images.wr, net.write)
        wiring.connect(m, images.rd, net.read)
        idle = ~net.busy & x.empty
        m.d.comb += [images.idle.eq(idle), self.idle.eq(idle)]
        return m


class CompositeFabric(wiring.Component):
    """Several fabrics behind one link.

    Region ``r`` of part ``name`` is region ``name_r`` here; ids run from 1 in the order of the
    parts and of their regions. Each part answers on its own regions as it would alone, so a
    client of a part works here given the prefix ``name_``.

    Members
    -------
    One In(RegionSignature) port per region; ``idle`` : Out(1), every part idle.
    """

    def __init__(self, parts: dict):
        if not parts:
            raise ConfigError("a composite fabric needs at least one part")
        self._parts = dict(parts)
        self._regions, self._names = [], []
        for prefix, fabric in self._parts.items():
            for region in fabric.regions():
                name = f"{prefix}_{region.name}"
                self._regions.append(replace(region, name=name, id=len(self._regions) + 1))
                self._names.append((name, prefix, region.name))
        super().__init__({
            **{r.name: wiring.In(RegionSignature(r.word_bits)) for r in self._regions},
            "idle": Out(1),
        })

    @property
    def parts(self) -> dict:
        return dict(self._parts)

    def regions(self) -> list[Region]:
        return list(self._regions)

    def elaborate(self, platform):
        m = Module()
        for prefix, fabric in self._parts.items():
            m.submodules[prefix] = fabric
        for name, prefix, inner in self._names:
            wiring.connect(m, wiring.flipped(getattr(self, name)),
                           getattr(self._parts[prefix], inner))
        m.d.comb += self.idle.eq(Cat(fabric.idle for fabric in self._parts.values()).all())
        return m


#: Bundled graph (:func:`spinemu.models.bundled_graph`) of the p-bit core in the ULX3S default
#: fabric. G14's 800 p-bits each feed every unit's 800-input neighbour multiplexer and the core's
#: read-back and result words: on the 85F a G14 core routes alone with one unit (0.085 updates
#: per clock) but not with two, and never beside the network; the 16x16 torus routes beside it
#: with 8 units (1.71 updates per clock) at 54 MHz (docs/boards.md).
ULX3S_GRAPH = "torus16"

#: Update units of the p-bit core in the ULX3S default fabric.
ULX3S_UPDATE_UNITS = 8

#: What FABRIC may be (for messages).
FABRIC_KINDS = ("a tile config (.toml with [tile], or .json)", "a plan folder from spinemu map",
                "a G-set graph (.txt)", "a p-bit fabric (.toml with [pbit] and graph = FILE)")


def _not_a_fabric(path: Path, why: str) -> ConfigError:
    return ConfigError(f"fabric {str(path)!r} {why}; allowed: {', '.join(FABRIC_KINDS)}")


def pbit_fabric(graph, config: PBitConfig | None = None):
    """A :class:`~spinemu.gateware.pbit_fabric.PBitFabric` for a Max-Cut graph or Ising
    problem (its couplings are loaded at run time; only the graph is fixed)."""
    from spinemu.ising import colour

    from .pbit_fabric import PBitFabric

    return PBitFabric(config or PBitConfig(), colour(graph.n, graph.edges))


def _load_toml_fabric(path: Path):
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise _not_a_fabric(path, f"does not read: {error}") from None
    if "tile" in document:
        return TileFabric(TileConfig.load(path))
    if "pbit" in document:
        from spinemu.ising import load_problem

        graph = document.get("graph")
        if not isinstance(graph, str):
            raise _not_a_fabric(path, "has a [pbit] table but no graph = FILE")
        unknown = sorted(set(document) - {"pbit", "graph"})
        if unknown:
            raise _not_a_fabric(path, f"has unknown keys {unknown}")
        return pbit_fabric(load_problem(path.parent / graph),
                           PBitConfig.from_dict(document["pbit"]))
    raise _not_a_fabric(path, "has neither a [tile] nor a [pbit] table")


def load_fabric(path: str | Path | None, board: str | None = None):
    """The fabric a FABRIC argument names (one of :data:`FABRIC_KINDS`); ``None`` gives the
    board's :func:`default_fabric`. Everything is checked here, before any tool runs."""
    if path is None:
        return default_fabric(board)
    path = Path(path)
    if path.is_dir():
        from spinemu.plan import Plan

        return NetworkFabric(Plan.load(path).config)
    if not path.is_file():
        raise _not_a_fabric(path, "does not exist")
    if path.suffix == ".toml":
        return _load_toml_fabric(path)
    if path.suffix == ".json":
        return TileFabric(TileConfig.load(path))
    if path.suffix == ".txt":
        from spinemu.ising import read_gset

        return pbit_fabric(read_gset(path))
    raise _not_a_fabric(path, f"is a {path.suffix or 'file without suffix'}")


def default_fabric(board: str | None = None):
    """The default fabric of ``board`` (a board name):

    - ``ulx3s-85f``: the bundled digits MLP as :func:`~spinemu.mapper.map_model` maps it by default
      (regions ``net_*``) and a p-bit core for the bundled graph :data:`ULX3S_GRAPH` (a +-J spin
      glass on a 16x16 torus, 256 p-bits) with :data:`ULX3S_UPDATE_UNITS` update units (regions
      ``pbit_*``), one :class:`CompositeFabric`;
    - any other board, or none: a tile of :class:`~spinemu.config.TileConfig`'s defaults
      (64x64, 4-bit cells and inputs, 8 lanes).
    """
    if board == "ulx3s-85f":
        from spinemu.mapper import network_config
        from spinemu.models import bundled_graph

        return CompositeFabric({
            "net": NetworkFabric(network_config("digits")),
            "pbit": pbit_fabric(bundled_graph(ULX3S_GRAPH),
                                PBitConfig(update_units=ULX3S_UPDATE_UNITS)),
        })
    return TileFabric(TileConfig())


def resolve_fabric(path: str | Path | None, board=None):
    """A core factory for :func:`spinemu.gateware.build.build`: the fabric of ``path``
    (:func:`load_fabric`; the default of ``board``, a :class:`~spinemu.boards.Board` or a
    name, without one) behind a :class:`~spinemu.gateware.core.LinkCore` whose UART runs at
    :data:`BAUD` on the board clock. The fabric is loaded (and checked) here, before any tool
    runs."""
    return link_core_factory(load_fabric(path, getattr(board, "name", board)))


def link_core_factory(fabric):
    """A core factory for :func:`spinemu.gateware.build.build`: ``fabric`` behind a
    :class:`~spinemu.gateware.core.LinkCore` whose UART runs at :data:`BAUD` on the board
    clock."""
    from .core import LinkCore

    return lambda clk_freq: LinkCore(fabric, divisor=baud_divisor(clk_freq, BAUD))
