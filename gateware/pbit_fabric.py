"""The p-bit core on the host link: its register map and the glue from regions to the core.

:class:`PBitFabric` puts a :class:`~spinemu.hdl.pbit.PBitCore` (DESIGN.md 3.4) behind the
regions of :func:`pbit_regions`; :class:`~spinemu.gateware.core.LinkCore` adds the ``status``
region (id 0) and the frame engine. With N p-bits, E edges, E_b =
:func:`~spinemu.hdl.pbit.energy_bits`, a state cut into k = ceil(N / W) slices of W =
min(``slice_bits``, N) bits (:func:`state_slices`; ``slice_bits`` defaults to
:data:`SLICE_BITS`), fields least significant first::

    region          id  access  depth           word
    couplings        1  rw      E               s<coupling_bits>: J of topology.edges[index]
                                                (no region when E = 0)
    nodes            2  rw      N               {bias: s<bias_bits>, seed: u32, state: u1}
    schedule         3  rw      schedule_depth  {beta: u<beta_bits>, sweeps: u32}: anneal step
    run              4  push    1               {steps, record_every: u16, energy: s<E_b>}
    states           5  pop     16              {sweep: u32, energy: s<E_b>}: a record's header
    result           6  ro      2               {sweep: u32, energy: s<E_b>}: 0 "current",
                                                1 "best"; a read takes a snapshot
    states_slices    7  pop     16 k            u<W>: the records' states, k slices each
    result_slices    8  ro      2 k             u<W>: slice j of snapshot f at index f k + j

A state's slice j holds p-bits ``j W .. j W + W - 1`` (bit 0: p-bit ``j W``); the last slice is
zero above p-bit N - 1. No word is wider than W or the headers (E_b + 32 bits), so the link's
bus (:attr:`~spinemu.link.regmap.RegisterMap.data_bits`) is W bits wide for a large core.

- Everything written reads back. A ``nodes`` read gives in ``seed`` the p-bit's LFSR state:
  the seed as written (seeds are 1..2**32-1: an LFSR state is never 0) until an anneal, the
  state the LFSR has reached after one (:attr:`~spinemu.sim.golden.pbit.PBitRun.lfsr`), and
  in ``state`` the current state bit (after an anneal, the final state).
- A ``run`` word anneals schedule steps ``0..steps-1`` (``steps`` over the depth: all of them)
  from the loaded state; ``energy`` is that state's energy, supplied by the host (the core
  tracks it exactly from there). With ``record_every`` k > 0 the state after every k-th sweep
  is recorded. One ``run`` word per write.
- A record is its header in ``states`` and its k slices in ``states_slices``, in order: the
  :class:`RecordSlicer` puts the k slices into ``states_slices`` first and the header into
  ``states`` last, so a header that can be popped has all its slices waiting. A host pops c
  headers, then c k slices: those are the c records' states, slice by slice. The anneal waits
  between sweeps while either region is full, so no record is lost or split; a record costs
  the anneal k + 1 clocks (instead of 1) when there is room.
- ``result`` reads at any time: ``current`` is ``{sweeps done, energy}`` of the anneal running
  or last run, ``best`` is ``{sweep it was reached (0: the initial state), energy}`` of the
  lowest energy at the end of a sweep (earliest on ties). A read of ``result[f]`` takes a
  snapshot of f: the header it answers and the state of the same clock, which
  ``result_slices[f k .. f k + k - 1]`` give until the next read of ``result[f]`` (zeros
  before the first). So a host that reads ``result`` then ``result_slices`` gets a consistent
  header and state even while an anneal runs (``current`` and ``best`` are taken a few clocks
  apart). Writes change the state but not the energy: the next ``run`` supplies it.
- While an anneal runs, ``couplings``, ``nodes``, ``schedule`` and ``run`` answer ``BUSY`` to
  reads and writes and change nothing; ``states``, ``result`` and their slices answer. The
  ``status`` register ``idle`` is 1 when no anneal runs.

Words travel whole in a frame (:mod:`spinemu.link.protocol`): with W = 256 a slice is 32 bytes,
eight per READ. A core whose ``states_slices`` would need more than 65,535 words (its level
field; N over about a million with W = 256) is refused, as is any word that does not fit a
frame.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Shape, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import ConfigError, PBitConfig, Topology, check_image, check_int
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
from spinemu.link.regmap import LEVEL_BITS, Access, Region, RegisterMapError, pack
from spinemu.numeric import LFSR_BITS, unsigned_range

__all__ = [
    "RESULT_FIELDS", "SLICE_BITS", "STATES_DEPTH", "PBitFabric", "RecordSlicer", "check_frames",
    "connect_anneal", "connect_images", "header_layout", "pbit_regions", "state_slices",
]

#: Records the ``states`` region holds before the anneal waits for the host.
STATES_DEPTH = 16
#: State bits per word of ``states_slices`` and ``result_slices`` (unless a fabric is given
#: another ``slice_bits``): the widest word of a large core, hence its link bus width.
SLICE_BITS = 256
#: The ``result`` registers, by index.
RESULT_FIELDS = ("current", "best")
#: Largest word a READ carries: the reply payload, and the 8-bit ``word_bytes`` of the
#: engine's bus (:class:`~spinemu.hdl.link.BusSignature`).
READ_WORD_BYTES = min(MAX_PAYLOAD, 255)
#: Largest word a WRITE carries: the payload less the address and count.
WRITE_WORD_BYTES = MAX_PAYLOAD - ARG_BYTES
#: Memory regions: region name -> the core's image (:func:`~spinemu.hdl.pbit.image_layouts`).
_IMAGES = {"couplings": "coupling", "nodes": "node", "schedule": "schedule"}


def state_slices(n: int, slice_bits: int = SLICE_BITS) -> tuple[int, int]:
    """``(W, k)``: an N-bit state as k = ceil(N / W) slices of W = min(``slice_bits``, N)
    bits; slice j holds p-bits ``j W ..`` from its bit 0, the last one zero above p-bit N - 1."""
    width = min(slice_bits, n)
    return width, -(-n // width)


def header_layout(config: PBitConfig, topology: Topology) -> data.StructLayout:
    """A record's or a result's header: the core's ``states`` layout without ``state``."""
    layout = stream_layouts(config, topology, 1)["states"]
    return data.StructLayout({name: field.shape for name, field in layout if name != "state"})


def pbit_regions(config: PBitConfig, topology: Topology, *,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH,
                 slice_bits: int = SLICE_BITS) -> list[Region]:
    """Regions of a :class:`PBitFabric` (module docstring), ids from 1.

    Raises :class:`~spinemu.config.ConfigError` for ``slice_bits`` outside 1..2040 (a slice must
    fit a frame), for a state of more slices than ``states_slices`` can count, or for a word
    that does not fit a frame; and what :func:`~spinemu.hdl.pbit.check_parameters` raises for a
    core that cannot be built.
    """
    check_parameters(config, topology, schedule_depth)
    check_int("slice_bits", slice_bits, 1, 8 * READ_WORD_BYTES)
    images = image_layouts(config, topology, schedule_depth)
    layouts = stream_layouts(config, topology, schedule_depth)
    n, e = topology.n, len(topology.edges)
    width, count = state_slices(n, slice_bits)
    most = (1 << LEVEL_BITS) - 1
    if STATES_DEPTH * count > most:
        raise ConfigError(
            f"n = {n} is out of range for slices of {width} bits; allowed at most "
            f"{most // STATES_DEPTH * width} ({STATES_DEPTH} records of {count} slices must "
            f"fit the {most} words of 'states_slices')")
    header = header_layout(config, topology)
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
        Region("states", 5, Access.POP, STATES_DEPTH, header,
               f"header of the record after every record_every-th sweep; its {count} state "
               "slices follow in states_slices"),
        Region("result", 6, Access.RO, len(RESULT_FIELDS), header,
               "current: sweeps done, energy; best: sweep reached, energy; a read of f takes "
               "a snapshot of f's state for result_slices",
               fields=RESULT_FIELDS),
        Region("states_slices", 7, Access.POP, STATES_DEPTH * count, unsigned(width),
               f"the records' states, {count} slices of {width} p-bits each, in order"),
        Region("result_slices", 8, Access.RO, len(RESULT_FIELDS) * count, unsigned(width),
               f"index f * {count} + j: slice j of the state of result[f] as last read"),
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


class RecordSlicer(wiring.Component):
    """A record stream cut into its header and the slices of its state (:func:`state_slices`).

    Parameters
    ----------
    record : data.StructLayout
        ``{..., state: u<N>}``: the header fields, then the state (the core's ``states``).
    width : int
        Slice width W, 1..N.

    Members
    -------
    i : In(stream.Signature(record))
        Taken in the clock its header is taken; its payload is held until then.
    slices : Out(stream.Signature(unsigned(W)))
        Slices 0..k-1 of ``i.payload.state``, one per clock while taken.
    header : Out(stream.Signature(record without state))
        Offered once the last slice is taken: a record takes k + 1 clocks at least.
    """

    def __init__(self, record: data.StructLayout, width: int):
        fields = {name: field.shape for name, field in record}
        n = Shape.cast(fields.pop("state")).width
        if not 1 <= width <= n:
            raise ValueError(f"width = {width} is out of range; allowed 1..{n}")
        self._n, self._width = n, width
        super().__init__({
            "i": In(stream.Signature(record)),
            "slices": Out(stream.Signature(unsigned(width))),
            "header": Out(stream.Signature(data.StructLayout(fields))),
        })

    def elaborate(self, platform):
        m = Module()
        width, count = state_slices(self._n, self._width)
        state = self.i.payload.state
        sent = Signal(range(count + 1))    # slices taken of the record offered; count: header
        with m.Switch(sent):
            for j in range(count):
                with m.Case(j):
                    m.d.comb += self.slices.payload.eq(state[j * width:(j + 1) * width])
        for name, _ in self.header.payload.shape():
            m.d.comb += getattr(self.header.payload, name).eq(getattr(self.i.payload, name))
        with m.If(sent == count):
            m.d.comb += [self.header.valid.eq(self.i.valid),
                         self.i.ready.eq(self.header.ready)]
            with m.If(self.header.valid & self.header.ready):
                m.d.sync += sent.eq(0)
        with m.Else():
            m.d.comb += self.slices.valid.eq(self.i.valid)
            with m.If(self.slices.valid & self.slices.ready):
                m.d.sync += sent.eq(sent + 1)
        return m


class PBitFabric(wiring.Component):
    """A :class:`~spinemu.hdl.pbit.PBitCore` behind the regions of :func:`pbit_regions`.

    Parameters
    ----------
    config : PBitConfig
    topology : Topology
    schedule_depth : int
        Anneal steps the schedule holds (1..4096).
    slice_bits : int
        State bits per slice word (:func:`state_slices`), 1..2040; :data:`SLICE_BITS`.

    Members
    -------
    couplings, nodes, schedule, run, states, result, states_slices, result_slices :
    In(RegionSignature(word bits))
        Region ports (``couplings`` only when the graph has edges). ``couplings``, ``nodes``,
        ``schedule`` and ``run`` are ready only while ``idle`` (else BUSY).
    idle : Out(1)
        No anneal runs and no write is in flight.

    Besides the core: a :class:`RecordSlicer` in front of two FIFOs (``STATES_DEPTH`` headers,
    ``STATES_DEPTH * k`` slices of W bits), the two ``result`` headers read live, and one
    N-bit snapshot register per ``result`` field behind ``result_slices``.
    """

    def __init__(self, config: PBitConfig, topology: Topology, *,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH, slice_bits: int = SLICE_BITS):
        self._config, self._topology, self._depth = config, topology, schedule_depth
        self._regions = pbit_regions(config, topology, schedule_depth=schedule_depth,
                                     slice_bits=slice_bits)
        self._slice_bits = slice_bits
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
    def slice_bits(self) -> int:
        return self._slice_bits

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
        layouts = image_layouts(cfg, top, depth)
        m.submodules.core = core = PBitCore(cfg, top, schedule_depth=depth)
        connect_images(m, self, core, {name: (*layouts[image], image)
                                       for name, image in _IMAGES.items() if name in regions})
        connect_anneal(m, self, core, regions, top.n, self._slice_bits)
        return m


def connect_images(m: Module, fabric, core, images: dict[str, tuple]) -> None:
    """A :class:`~spinemu.hdl.regions.MemoryRegion` per image between ``fabric``'s region port
    and ``core``'s write stream and read port: ``images[region] = (address shape, word layout,
    core port prefix)``; the regions are idle (writable) while the core is not busy."""
    for name, (address, word, port) in images.items():
        m.submodules[name] = region = MemoryRegion(
            data.StructLayout({"addr": address, "data": word}), address, word)
        wiring.connect(m, wiring.flipped(getattr(fabric, name)), region.port)
        _feed(m, region.wr, getattr(core, f"{port}_wr"))
        wiring.connect(m, region.rd, getattr(core, f"{port}_rd"))
        m.d.comb += region.idle.eq(~core.busy)


def connect_anneal(m: Module, fabric, core, regions: dict, n: int, slice_bits: int) -> None:
    """The regions of an annealing core (a :class:`~spinemu.hdl.pbit.PBitCore` or a hybrid
    core: ``run``, ``states``, ``state``, ``best_state``, ``sweep``, ``best_sweep``, ``energy``,
    ``best_energy``, ``busy``) on ``fabric``'s ports: ``run`` straight into the core; records
    through a :class:`RecordSlicer` into the ``states`` and ``states_slices`` FIFOs (slices
    first, the header last); ``result`` headers read live and one n-bit snapshot per field
    behind ``result_slices``; ``fabric.idle``."""
    run, idle = fabric.run, ~core.busy   # the core takes ``run`` at once while idle
    m.d.comb += [run.ready.eq(idle), run.level.eq(1), fabric.idle.eq(idle)]
    _feed(m, run.w, core.run)

    width, count = state_slices(n, slice_bits)
    m.submodules.slicer = slicer = RecordSlicer(core.states.payload.shape(), width)
    wiring.connect(m, core.states, slicer.i)
    for name, source in (("states", slicer.header), ("states_slices", slicer.slices)):
        region = regions[name]
        m.submodules[name] = fifo = PopRegion(region.layout, region.depth)
        wiring.connect(m, wiring.flipped(getattr(fabric, name)), fifo.port)
        wiring.connect(m, source, fifo.i)

    result, header = fabric.result, regions["result"]
    m.submodules.result = registers = RegisterRegion(header.word_bits, len(RESULT_FIELDS))
    wiring.connect(m, wiring.flipped(result), registers.port)
    current, best = (data.View(header.layout, registers.values[f]) for f in range(2))
    m.d.comb += [
        current.sweep.eq(core.sweep), current.energy.eq(core.energy),
        best.sweep.eq(core.best_sweep), best.energy.eq(core.best_energy),
    ]
    # a read of result[f] snapshots f's state in the clock its header is sampled
    m.submodules.result_slices = slices = RegisterRegion(width, len(RESULT_FIELDS) * count)
    wiring.connect(m, wiring.flipped(fabric.result_slices), slices.port)
    for f, live in enumerate((core.state, core.best_state)):
        snapshot = Signal(n, name=f"{RESULT_FIELDS[f]}_snapshot")
        with m.If(result.rreq & (result.index == f)):
            m.d.sync += snapshot.eq(live)
        for j in range(count):
            m.d.comb += slices.values[f * count + j].eq(snapshot[j * width:(j + 1) * width])


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
