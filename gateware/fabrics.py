# amaranth: UnusedElaboratable=no
# (load_fabric makes fabrics that the regmap and board status commands only read the map of)
"""Fabrics on the host link: their register maps and the glue from regions to components.

A fabric for the link is a :class:`wiring.Component` with one ``In(RegionSignature)`` port per
region of its :meth:`regions` (named as the region) and an ``idle`` output; :class:`LinkCore`
(:mod:`spinemu.gateware.core`) adds the ``status`` region and the engine. Today: the crossbar
tile (:class:`TileFabric`).
"""

from __future__ import annotations

from pathlib import Path

from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import Out

from spinemu.config import ConfigError, TileConfig
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
from spinemu.link.regmap import Access, Region

__all__ = ["BAUD", "TileFabric", "default_fabric", "load_fabric", "resolve_fabric", "tile_regions"]

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


def load_fabric(path: str | Path | None):
    """The fabric a FABRIC argument names: a tile config (``.toml`` with a ``[tile]`` table, or
    ``.json``); ``None`` gives :func:`default_fabric`.

    Mapped networks (plan folders) and p-bit cores (graphs) are not on the host link yet: they
    are refused with a message saying so, as is anything else.
    """
    if path is None:
        return default_fabric()
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"fabric {str(path)!r} is a plan folder: mapped networks are not on the "
                          "host link yet; allowed: a tile config (.toml or .json)")
    if path.suffix not in (".toml", ".json"):
        raise ConfigError(f"fabric {str(path)!r}: {path.suffix or 'no suffix'} is not a fabric "
                          "file; allowed: a tile config (.toml or .json)")
    return TileFabric(TileConfig.load(path))


def default_fabric():
    """The default fabric: a tile of :class:`~spinemu.config.TileConfig`'s defaults (64x64,
    4-bit cells and inputs, 8 lanes)."""
    return TileFabric(TileConfig())


def resolve_fabric(path: str | Path | None, board=None):
    """A core factory for :func:`spinemu.gateware.build.build`: the fabric of ``path``
    (:func:`load_fabric`) behind a :class:`~spinemu.gateware.core.LinkCore` whose UART runs at
    :data:`BAUD` on the board clock. The fabric is loaded (and checked) here, before any tool
    runs. ``board`` is accepted for board-specific defaults; every board has the same today."""
    from .core import LinkCore

    fabric = load_fabric(path)
    return lambda clk_freq: LinkCore(fabric, divisor=baud_divisor(clk_freq, BAUD))
