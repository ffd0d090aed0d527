"""The hybrid core on the host link: its register map and the glue from regions to the core.

:class:`HybridFabric` puts a :class:`~spinemu.hdl.hybrid.HybridCore` (DESIGN.md 3.4, hybrid
mode) behind the regions of :func:`hybrid_regions`, as
:class:`~spinemu.gateware.pbit_fabric.PBitFabric` puts a p-bit core behind its own; the
``couplings`` region of the p-bit core becomes the tile's ``weights``. With n p-bits, a tile of
R rows, L lanes and K = ceil(C / L) column groups, and E_b = the core's energy width::

    region     id  access  depth           word
    weights     1  rw      R * K           L x s<cell_bits>: tile weight word k*R + r (row r,
                                           columns k*L .. k*L + L - 1; J in the top-left corner)
    nodes       2  rw      n               {bias: s<bias_bits>, seed: u32, state: u1}
    schedule    3  rw      schedule_depth  {beta: u<beta_bits>, sweeps: u32}: anneal step
    run         4  push    1               {steps, record_every: u16, energy: s<E_b>}
    states      5  pop     16              {sweep: u32, energy: s<E_b>}: a record's header
    result      6  ro      2               as states: 0 "current", 1 "best"
    states_slices  7  pop  16 k            u<W>: the records' states, k slices each
    result_slices  8  ro   2 k             u<W>: slice j of result[f]'s snapshot at f*k + j

(W = min(slice_bits, n), k = ceil(n / W).) Every region but ``weights`` behaves as the p-bit
fabric's (its module docstring). Weights
written at run time must keep the tile exact (``check_tile``) and respect the colouring.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import PBitConfig, TileConfig, Topology
from spinemu.hdl.hybrid import (
    HybridCore,
    anneal_config,
    check_parameters,
    cycles_per_sweep,
    hybrid_topology,
    node_image,
)
from spinemu.hdl.link import RegionSignature
from spinemu.hdl.pbit import DEFAULT_SCHEDULE_DEPTH, image_layouts
from spinemu.hdl.tile import weight_write_layout
from spinemu.link.regmap import Access, Region

from .pbit_fabric import SLICE_BITS, check_frames, connect_anneal, connect_images, pbit_regions

__all__ = ["HybridFabric", "hybrid_regions"]


def hybrid_regions(tile: TileConfig, config: PBitConfig, colours, *,
                   schedule_depth: int = DEFAULT_SCHEDULE_DEPTH,
                   slice_bits: int = SLICE_BITS) -> list[Region]:
    """Regions of a :class:`HybridFabric` (module docstring), ids from 1: the tile's
    ``weights``, then the p-bit fabric's regions but its ``couplings``.

    Raises :class:`~spinemu.config.ConfigError` when a word does not fit a frame."""
    words = weight_write_layout(tile)
    weights = Region("weights", 1, Access.RW, tile.rows * tile.groups, words["data"].shape,
                     f"tile weight word k*R + r: row r of column group k ({tile.lanes} cells)")
    regions = [r for r in pbit_regions(anneal_config(config), hybrid_topology(colours),
                                       schedule_depth=schedule_depth, slice_bits=slice_bits)
               if r.name != "couplings"]
    regions = [weights, *regions]
    check_frames(regions, len(colours))
    return regions


class HybridFabric(wiring.Component):
    """A :class:`~spinemu.hdl.hybrid.HybridCore` behind the regions of :func:`hybrid_regions`.

    Parameters
    ----------
    tile, config, colours, J, schedule_depth
        As the core's (:class:`~spinemu.hdl.hybrid.HybridCore`).

    Members
    -------
    weights, nodes, schedule, run, states, result, states_slices, result_slices :
    In(RegionSignature(word bits))
        Region ports. ``weights``, ``nodes``, ``schedule`` and ``run`` are ready only while
        ``idle`` (else BUSY).
    idle : Out(1)
        No anneal runs.
    """

    def __init__(self, tile: TileConfig, config: PBitConfig, colours, *, J=None,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH, slice_bits: int = SLICE_BITS):
        check_parameters(tile, config, colours, J, schedule_depth)
        self._tile, self._config, self._colours = tile, config, tuple(int(c) for c in colours)
        self._J, self._depth, self._slice_bits = J, schedule_depth, slice_bits
        self._regions = hybrid_regions(tile, config, colours, schedule_depth=schedule_depth,
                                       slice_bits=slice_bits)
        super().__init__({
            **{r.name: In(RegionSignature(r.word_bits)) for r in self._regions},
            "idle": Out(1),
        })

    @property
    def tile(self) -> TileConfig:
        return self._tile

    @property
    def config(self) -> PBitConfig:
        """The p-bit formats (one update unit: :func:`~spinemu.hdl.hybrid.anneal_config`)."""
        return anneal_config(self._config)

    @property
    def topology(self) -> Topology:
        """Every pair of p-bits of different colours (:func:`~spinemu.hdl.hybrid.hybrid_topology`):
        the couplings a program gives, one per edge (0 where there is none)."""
        return hybrid_topology(self._colours)

    @property
    def colours(self) -> tuple[int, ...]:
        return self._colours

    @property
    def schedule_depth(self) -> int:
        return self._depth

    @property
    def cycles_per_sweep(self) -> int:
        """Clocks of one unrecorded sweep (:func:`~spinemu.hdl.hybrid.cycles_per_sweep`)."""
        return cycles_per_sweep(self._tile, self._colours)

    def regions(self) -> list[Region]:
        return list(self._regions)

    def _images(self) -> dict[str, tuple]:
        """``(address shape, word layout, core port prefix)`` of the memory regions."""
        words = weight_write_layout(self._tile)
        schedule = image_layouts(anneal_config(self._config), hybrid_topology(self._colours),
                                 self._depth)["schedule"]
        return {"weights": (words["addr"].shape, words["data"].shape, "weight"),
                "nodes": (*node_image(self._config, len(self._colours)), "node"),
                "schedule": (*schedule, "schedule")}

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = HybridCore(self._tile, self._config, self._colours,
                                              J=self._J, schedule_depth=self._depth)
        connect_images(m, self, core, self._images())
        connect_anneal(m, self, core, {r.name: r for r in self._regions}, len(self._colours),
                       self._slice_bits)
        return m
