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
    states      5  pop     16              {sweep: u32, energy: s<E_b>, state: u<n>}
    result      6  ro      2               as states: 0 "current", 1 "best"

Every region but ``weights`` behaves as the p-bit fabric's (its module docstring). Weights
written at run time must keep the tile exact (``check_tile``) and respect the colouring.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import PBitConfig, TileConfig
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
from spinemu.hdl.regions import MemoryRegion, PopRegion, RegisterRegion
from spinemu.hdl.tile import weight_write_layout
from spinemu.link.regmap import Access, Region

from .pbit_fabric import RESULT_FIELDS, STATES_DEPTH, _feed, check_frames, pbit_regions

__all__ = ["HybridFabric", "hybrid_regions"]


def hybrid_regions(tile: TileConfig, config: PBitConfig, colours, *,
                   schedule_depth: int = DEFAULT_SCHEDULE_DEPTH) -> list[Region]:
    """Regions of a :class:`HybridFabric` (module docstring), ids from 1: the tile's
    ``weights``, then the p-bit fabric's regions but its ``couplings``.

    Raises :class:`~spinemu.config.ConfigError` when a word does not fit a frame."""
    words = weight_write_layout(tile)
    weights = Region("weights", 1, Access.RW, tile.rows * tile.groups, words["data"].shape,
                     f"tile weight word k*R + r: row r of column group k ({tile.lanes} cells)")
    regions = [r for r in pbit_regions(anneal_config(config), hybrid_topology(colours),
                                       schedule_depth=schedule_depth) if r.name != "couplings"]
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
    weights, nodes, schedule, run, states, result : In(RegionSignature(word bits))
        Region ports. ``weights``, ``nodes``, ``schedule`` and ``run`` are ready only while
        ``idle`` (else BUSY).
    idle : Out(1)
        No anneal runs.
    """

    def __init__(self, tile: TileConfig, config: PBitConfig, colours, *, J=None,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH):
        check_parameters(tile, config, colours, J, schedule_depth)
        self._tile, self._config, self._colours = tile, config, tuple(int(c) for c in colours)
        self._J, self._depth = J, schedule_depth
        self._regions = hybrid_regions(tile, config, colours, schedule_depth=schedule_depth)
        super().__init__({
            **{r.name: In(RegionSignature(r.word_bits)) for r in self._regions},
            "idle": Out(1),
        })

    @property
    def tile(self) -> TileConfig:
        return self._tile

    @property
    def config(self) -> PBitConfig:
        return self._config

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
        regions = {r.name: r for r in self._regions}
        m.submodules.core = core = HybridCore(self._tile, self._config, self._colours,
                                              J=self._J, schedule_depth=self._depth)
        idle = ~core.busy
        for name, (address, word, port) in self._images().items():
            m.submodules[name] = region = MemoryRegion(
                data.StructLayout({"addr": address, "data": word}), address, word)
            wiring.connect(m, wiring.flipped(getattr(self, name)), region.port)
            _feed(m, region.wr, getattr(core, f"{port}_wr"))
            wiring.connect(m, region.rd, getattr(core, f"{port}_rd"))
            m.d.comb += region.idle.eq(idle)

        run = self.run   # straight into the core, which takes it at once while idle
        m.d.comb += [run.ready.eq(idle), run.level.eq(1)]
        _feed(m, run.w, core.run)

        m.submodules.states = states = PopRegion(regions["states"].layout, STATES_DEPTH)
        wiring.connect(m, wiring.flipped(self.states), states.port)
        wiring.connect(m, core.states, states.i)

        result = regions["result"]
        m.submodules.result = registers = RegisterRegion(result.word_bits, len(RESULT_FIELDS))
        wiring.connect(m, wiring.flipped(self.result), registers.port)
        current, best = (data.View(result.layout, registers.values[k]) for k in range(2))
        m.d.comb += [
            current.sweep.eq(core.sweep), current.energy.eq(core.energy),
            current.state.eq(core.state),
            best.sweep.eq(core.best_sweep), best.energy.eq(core.best_energy),
            best.state.eq(core.best_state),
            self.idle.eq(idle),
        ]
        return m
