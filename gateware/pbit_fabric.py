"""The p-bit core on the host link: its register map and the glue from regions to the core.

:class:`PBitFabric` puts a :class:`~spinemu.hdl.pbit.PBitCore` (DESIGN.md 3.4) behind the
regions of :func:`pbit_regions`; :class:`~spinemu.gateware.core.LinkCore` adds the ``status``
region (id 0) and the frame engine. With N p-bits, E edges and E_b =
:func:`~spinemu.hdl.pbit.energy_bits` (fields least significant first)::

    region     id  access  depth           word
    couplings   1  rw      E               s<coupling_bits>: J of topology.edges[index]
                                           (no region when E = 0)
    nodes       2  rw      N               {bias: s<bias_bits>, seed: u32, state: u1}
    schedule    3  rw      schedule_depth  {beta: u<beta_bits>, sweeps: u32}: anneal step
    run         4  push    1               {steps, record_every: u16, energy: s<E_b>}
    states      5  pop     16              {sweep: u32, energy: s<E_b>, state: u<N>}
    result      6  ro      2               as states: 0 "current", 1 "best"

- Everything written reads back. A ``nodes`` read gives in ``seed`` the p-bit's LFSR state:
  the seed as written (seeds are 1..2**32-1: an LFSR state is never 0) until an anneal, the
  state the LFSR has reached after one (:attr:`~spinemu.sim.golden.pbit.PBitRun.lfsr`), and
  in ``state`` the current state bit (after an anneal, the final state).
- A ``run`` word anneals schedule steps ``0..steps-1`` (``steps`` over the depth: all of them)
  from the loaded state; ``energy`` is that state's energy, supplied by the host (the core
  tracks it exactly from there). With ``record_every`` k > 0 the state after every k-th sweep
  is recorded in ``states``; the anneal waits between sweeps while ``states`` is full, so
  nothing is lost. One ``run`` word per write.
- ``result`` reads at any time: ``current`` is ``{sweeps done, energy, state}`` of the anneal
  running or last run, ``best`` is ``{sweep it was reached (0: the initial state), energy,
  state}`` of the lowest energy at the end of a sweep (earliest on ties). Writes change the
  state but not the energy: the next ``run`` supplies it.
- While an anneal runs, ``couplings``, ``nodes``, ``schedule`` and ``run`` answer ``BUSY`` to
  reads and writes and change nothing; ``states`` and ``result`` answer. The ``status``
  register ``idle`` is 1 when no anneal runs.

Words travel whole in a frame (:mod:`spinemu.link.protocol`): a ``states`` or ``result`` word
of N = 800 p-bits is 107 bytes, two per READ. A topology whose words do not fit a frame
(N above about 1980) is refused.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Shape
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import ConfigError, PBitConfig, Topology, check_image
from spinemu.hdl.link import ARG_BYTES, RegionSignature
from spinemu.hdl.pbit import (
    DEFAULT_SCHEDULE_DEPTH,
    PBitCore,
    check_parameters,
    cycles_per_sweep,
    image_layouts,
    stream_layouts,
)
from spinemu.hdl.regions import MemoryRegion, PopRegion, RegisterRegion
from spinemu.link.protocol import MAX_PAYLOAD
from spinemu.link.regmap import Access, Region, RegisterMapError, pack
from spinemu.numeric import LFSR_BITS, unsigned_range

__all__ = ["RESULT_FIELDS", "STATES_DEPTH", "PBitFabric", "check_frames", "pbit_regions"]

#: Recorded states the ``states`` region holds before the anneal waits for the host.
STATES_DEPTH = 16
#: The ``result`` registers, by index.
RESULT_FIELDS = ("current", "best")
#: Largest word a READ carries: the reply payload, and the 8-bit ``word_bytes`` of the
#: engine's bus (:class:`~spinemu.hdl.link.BusSignature`).
READ_WORD_BYTES = min(MAX_PAYLOAD, 255)
#: Largest word a WRITE carries: the payload less the address and count.
WRITE_WORD_BYTES = MAX_PAYLOAD - ARG_BYTES
#: Memory regions: region name -> the core's image (:func:`~spinemu.hdl.pbit.image_layouts`).
_IMAGES = {"couplings": "coupling", "nodes": "node", "schedule": "schedule"}


def pbit_regions(config: PBitConfig, topology: Topology, *,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH) -> list[Region]:
    """Regions of a :class:`PBitFabric` (module docstring), ids from 1.

    Raises :class:`~spinemu.config.ConfigError` when a word does not fit a frame, and what
    :func:`~spinemu.hdl.pbit.check_parameters` raises for a core that cannot be built.
    """
    check_parameters(config, topology, schedule_depth)
    images = image_layouts(config, topology, schedule_depth)
    layouts = stream_layouts(config, topology, schedule_depth)
    n, e = topology.n, len(topology.edges)
    regions = [
        Region("couplings", 1, Access.RW, e, images["coupling"][1],
               f"J of edge k = topology.edges[k] ({e} edges)"),
        Region("nodes", 2, Access.RW, n, images["node"][1],
               "per p-bit: bias h, LFSR seed (reads the LFSR state), state bit"),
        Region("schedule", 3, Access.RW, schedule_depth, images["schedule"][1],
               "anneal step k: sweeps at inverse-temperature code beta"),
        Region("run", 4, Access.PUSH, 1, layouts["run"],
               "start an anneal of steps 0..steps-1 from the loaded state (energy: its "
               "energy)"),
        Region("states", 5, Access.POP, STATES_DEPTH, layouts["states"],
               "state after every record_every-th sweep"),
        Region("result", 6, Access.RO, len(RESULT_FIELDS), layouts["states"],
               "current: sweeps done, energy, state; best: sweep reached, energy, state",
               fields=RESULT_FIELDS),
    ]
    if not e:
        regions = regions[1:]
    check_frames(regions, n)
    return regions


def check_frames(regions: list[Region], n: int) -> None:
    """Refuse a region whose word does not fit a frame (``n``: the p-bits, for the message)."""
    for region in regions:
        limit = WRITE_WORD_BYTES if region.access.writable else READ_WORD_BYTES
        if region.word_bytes > limit:
            raise ConfigError(
                f"region {region.name!r}: a word of {region.word_bits} bits ({region.word_bytes} "
                f"bytes, n = {n}) does not fit a frame; allowed at most {limit} bytes")


class PBitFabric(wiring.Component):
    """A :class:`~spinemu.hdl.pbit.PBitCore` behind the regions of :func:`pbit_regions`.

    Parameters
    ----------
    config : PBitConfig
    topology : Topology
    schedule_depth : int
        Anneal steps the schedule holds (1..4096).

    Members
    -------
    couplings, nodes, schedule, run, states, result : In(RegionSignature(word bits))
        Region ports (``couplings`` only when the graph has edges). ``couplings``, ``nodes``,
        ``schedule`` and ``run`` are ready only while ``idle`` (else BUSY).
    idle : Out(1)
        No anneal runs and no write is in flight.
    """

    def __init__(self, config: PBitConfig, topology: Topology, *,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH):
        self._config, self._topology, self._depth = config, topology, schedule_depth
        self._regions = pbit_regions(config, topology, schedule_depth=schedule_depth)
        super().__init__({
            **{r.name: In(RegionSignature(r.word_bits)) for r in self._regions},
            "idle": Out(1),
        })

    @property
    def config(self) -> PBitConfig:
        return self._config

    @property
    def topology(self) -> Topology:
        return self._topology

    @property
    def schedule_depth(self) -> int:
        return self._depth

    @property
    def cycles_per_sweep(self) -> int:
        """Clocks of one unrecorded sweep (:func:`~spinemu.hdl.pbit.cycles_per_sweep`)."""
        return cycles_per_sweep(self._topology, self._config.update_units,
                                self._config.update_lanes)

    def regions(self) -> list[Region]:
        return list(self._regions)

    @staticmethod
    def images(config: PBitConfig, topology: Topology, J_edges=None, h=None, seeds=None,
               state=None, schedule=None) -> dict[str, list]:
        """Region values of golden-model images; only the regions given are returned.

        ``J_edges[E]`` gives ``couplings``; ``h[N]``, ``seeds[N]`` (1..2**32-1) and
        ``state[N]`` (0/1) together give ``nodes``; ``schedule`` (``(beta code, sweeps)``
        pairs, at most the fabric's schedule depth) gives ``schedule``. Every value is checked
        against its field (:class:`~spinemu.config.ConfigError` naming the region, the index
        and the range).
        """
        n, regions = topology.n, pbit_regions(config, topology)
        layouts = {r.name: r.layout for r in regions}
        values = {}
        if J_edges is not None:
            J_edges = _vector("J_edges", J_edges, len(topology.edges))
            if topology.edges:
                values["couplings"] = [int(v) for v in J_edges]
        node_images = (h, seeds, state)
        if any(v is not None for v in node_images):
            if any(v is None for v in node_images):
                raise ConfigError("h, seeds and state are written together (one nodes word per "
                                  "p-bit); pass all three")
            h, seeds, state = (_vector(name, v, n) for name, v in
                               zip(("h", "seeds", "state"), node_images, strict=True))
            check_image("seeds", seeds, (n,), 1, unsigned_range(LFSR_BITS)[1],
                        note="an LFSR state is never 0")
            values["nodes"] = [{"bias": int(b), "seed": int(s), "state": int(x)}
                               for b, s, x in zip(h, seeds, state, strict=True)]
        if schedule is not None:
            values["schedule"] = [{"beta": int(b), "sweeps": int(s)} for b, s in schedule]
        for name, words in values.items():
            _check_words(name, layouts[name], words)
        return values

    def elaborate(self, platform):
        m = Module()
        cfg, top, depth = self._config, self._topology, self._depth
        regions = {r.name: r for r in self._regions}
        images = image_layouts(cfg, top, depth)
        m.submodules.core = core = PBitCore(cfg, top, schedule_depth=depth)
        idle = ~core.busy

        for name, image in _IMAGES.items():
            if name not in regions:
                continue
            address, word = images[image]
            m.submodules[name] = region = MemoryRegion(
                data.StructLayout({"addr": address, "data": word}), address, word)
            wiring.connect(m, wiring.flipped(getattr(self, name)), region.port)
            _feed(m, region.wr, getattr(core, f"{image}_wr"))
            wiring.connect(m, region.rd, getattr(core, f"{image}_rd"))
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


def _feed(m, source, sink):
    """Stream ``source`` into ``sink`` whose payload has the same bits under other names (a
    region's ``{addr, data}`` or raw word into the core's flat layouts, :func:`stream_layouts`)."""
    width = Shape.cast(sink.payload.shape()).width
    if Shape.cast(source.payload.shape()).width != width:
        raise ValueError(f"payload widths differ: {source.payload.shape()} into "
                         f"{sink.payload.shape()}")
    m.d.comb += [sink.payload.eq(source.payload), sink.valid.eq(source.valid),
                 source.ready.eq(sink.ready)]


def _vector(name: str, values, length: int) -> np.ndarray:
    """``values`` as a 1-d int64 array of ``length`` integers."""
    array = np.asarray(values)
    if array.shape != (length,):
        raise ConfigError(f"{name} has shape {array.shape}; expected ({length},)")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ConfigError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64)


def _check_words(region: str, layout, words: list) -> None:
    """Every word fits ``layout`` (the one packer checks), else an error naming the index."""
    for index, word in enumerate(words):
        try:
            pack(layout, word)
        except RegisterMapError as error:
            raise ConfigError(f"{region}[{index}]: {error}") from None
