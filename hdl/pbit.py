"""The p-bit core (DESIGN.md 3.4): LFSR-driven chromatic Gibbs sampling of an Ising problem.

:class:`PBitCore` is built from a :class:`WritePath` (loads through the edge and node maps), U
:class:`~spinemu.hdl.pbit_unit.UpdateUnit` s, an :class:`AnnealController` (schedule, sweeps,
energy and best state) and a :class:`ReadBack`; the core keeps the state register they share.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import PBitConfig, Topology
from spinemu.numeric import LFSR_BITS, tanh_table

from .activity import PBitCounters, pbit_activity_layout
from .arith import mux_tree, tree_sum
from .pbit_unit import (
    _IN_BLOCK_RAM,
    DRAIN_CLOCKS,
    NEIGHBOUR_READ,
    UPDATE_LATENCY,
    UnitProgram,
    UpdateUnit,
    _bits,
    unit_programs,
)
from .ports import ReadSignature

__all__ = [
    "DEFAULT_SCHEDULE_DEPTH", "AnnealController", "PBitCore", "ReadBack", "UnitProgram",
    "UpdateUnit", "WritePath", "check_parameters", "cycles_per_sweep", "energy_bits",
    "image_layouts", "phase_clocks", "stream_layouts", "unit_programs",
]


#: Update units that share one tanh ROM (its read ports: a dual-port block RAM).
LUT_PORTS = 2

#: Anneal steps a core's schedule memory holds unless told otherwise.
DEFAULT_SCHEDULE_DEPTH = 16


def cycles_per_sweep(topology: Topology, units: int, lanes: int = 1) -> int:
    """Clock cycles of one sweep of a core with ``units`` update units of ``lanes`` lanes, not
    counting the one a recorded state adds.

    Colour c's phase starts at clock ``t_c`` of the sweep (``t_0 = 0``; the next at ``t_c +``
    :func:`phase_clocks` ``[c]``) and its longest unit segment has ``L_c`` steps (a p-bit of
    degree d takes ``max(ceil(d / lanes), 1)``). After the last colour the controller waits
    until every unit has drained (a segment of L > 0 steps started at t is idle at ``t + L +``
    :data:`~spinemu.hdl.pbit_unit.DRAIN_CLOCKS`, 9) and the sweep has 2 clocks of its own: a
    sweep is ``2 + max(t_{K-1} + 1, max over c of t_c + L_c + 9) + 1`` clocks for K colours.
    """
    starts, longest = _phase_schedule(topology, units, lanes)
    drained = max((t + steps + DRAIN_CLOCKS
                   for t, steps in zip(starts, longest, strict=True) if steps), default=0)
    return 2 + max(starts[-1] + 1, drained) + 1


def phase_clocks(topology: Topology, units: int, lanes: int = 1) -> tuple[int, ...]:
    """Per colour, the clocks from its ``phase_go`` to the next colour's (the last colour's:
    its longest segment plus one, unused: the last colour waits for the units to drain).

    The next colour starts as early as both of these allow: its first step is fetched after
    the last step of this one (at least ``L_c + 1`` clocks, and at least 2); and every step
    reads its neighbours' state bits no earlier than the clock after their write-backs (a
    p-bit whose last step is fetched at clock f is in the state register from ``f +``
    :data:`~spinemu.hdl.pbit_unit.UPDATE_LATENCY` ``+ 1``; a step fetched at f reads at ``f +``
    :data:`~spinemu.hdl.pbit_unit.NEIGHBOUR_READ`). :func:`unit_programs` puts the neighbours
    of the colour just before last in a p-bit's steps, so the worst case,
    :data:`~spinemu.hdl.pbit_unit.PHASE_GAP` (6) clocks after this colour's last fetch, is
    rarely the bound."""
    starts, longest = _phase_schedule(topology, units, lanes)
    gaps = tuple(b - a for a, b in zip(starts, starts[1:], strict=False))
    return gaps + (max(longest[-1] + 1, 2),)


def _phase_schedule(topology: Topology, units: int, lanes: int) -> tuple[list[int], list[int]]:
    """``(t_c, L_c)`` per colour: the clock of colour c's ``phase_go`` within a sweep (phase
    c's step k is fetched at ``t_c + 1 + k``) and its longest unit segment."""
    programs = unit_programs(topology, units, lanes)
    ready = {}  # p-bit -> the first clock its new state can be read (updated this sweep)
    starts, longest = [], []
    for c in range(topology.num_colours):
        steps = max(end - begin for begin, end in (p.segments[c] for p in programs))
        start = 0
        if c:
            start = starts[-1] + max(longest[-1] + 1, 2)
            for p in programs:
                begin, end = p.segments[c]
                for k in range(end - begin):
                    for j, _ in p.steps[begin + k].links:
                        if j in ready:
                            start = max(start, ready[j] - (1 + k + NEIGHBOUR_READ))
        for p in programs:
            begin, end = p.segments[c]
            for k in range(end - begin):
                if p.steps[begin + k].last:
                    ready[p.steps[begin + k].node] = start + 1 + k + UPDATE_LATENCY + 1
        starts.append(start)
        longest.append(steps)
    return starts, longest


def energy_bits(config: PBitConfig, topology: Topology) -> int:
    """Signed width holding any energy: ``|E| <= edges * 2**(cb-1) + N * 2**(bb-1)``."""
    bound = (len(topology.edges) * (1 << (config.coupling_bits - 1))
             + topology.n * (1 << (config.bias_bits - 1)))
    return bound.bit_length() + 1


def check_parameters(config: PBitConfig, topology: Topology, schedule_depth: int) -> None:
    """Refuse a core that cannot be built: ``TypeError`` for a config or topology of the wrong
    type, ``ValueError`` for ``update_units`` over N, ``update_lanes`` over the largest degree
    (:meth:`PBitConfig.check_lanes`, a :class:`~spinemu.config.ConfigError`) or
    ``schedule_depth`` outside 1..4096."""
    if not isinstance(config, PBitConfig):
        raise TypeError(f"config must be a PBitConfig, not {type(config).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology must be a Topology, not {type(topology).__name__}")
    if config.update_units > topology.n:
        raise ValueError(f"update_units = {config.update_units} is out of range; allowed "
                         f"1..{topology.n} (n)")
    config.check_lanes(topology)
    if not 1 <= schedule_depth <= 4096:
        raise ValueError(f"schedule_depth = {schedule_depth} is out of range; allowed "
                         f"1..4096")


def image_layouts(config: PBitConfig, topology: Topology,
                  schedule_depth: int) -> dict[str, tuple]:
    """``(address shape, word layout)`` of each image the core holds, by name.

    ``coupling``: J of an edge (by index in ``topology.edges``); ``node``: bias, LFSR seed (or
    state) and state bit of a p-bit; ``schedule``: an anneal step. The write streams carry the
    address field then the word's fields, the read ports take the address and give the word.
    """
    n, e = topology.n, max(len(topology.edges), 1)
    return {
        "coupling": (unsigned(_bits(e)), signed(config.coupling_bits)),
        "node": (unsigned(_bits(n)), data.StructLayout({
            "bias": signed(config.bias_bits), "seed": unsigned(LFSR_BITS),
            "state": unsigned(1)})),
        "schedule": (unsigned(_bits(schedule_depth)), data.StructLayout({
            "beta": unsigned(config.beta_bits), "sweeps": unsigned(32)})),
    }


def _write_layout(address: str, shape, word) -> data.StructLayout:
    """The address field, then the word's fields (a plain word is the field ``value``)."""
    fields = ({name: field.shape for name, field in word} if isinstance(word, data.StructLayout)
              else {"value": word})
    return data.StructLayout({address: shape, **fields})


def stream_layouts(config: PBitConfig, topology: Topology,
                   schedule_depth: int) -> dict[str, data.StructLayout]:
    """Payload layouts of the core's streams, by port name (fields least significant first)."""
    n, energy = topology.n, energy_bits(config, topology)
    images = image_layouts(config, topology, schedule_depth)
    return {
        "coupling_wr": _write_layout("edge", *images["coupling"]),
        "node_wr": _write_layout("node", *images["node"]),
        "schedule_wr": _write_layout("index", *images["schedule"]),
        "run": data.StructLayout({"steps": unsigned(schedule_depth.bit_length()),
                                  "record_every": unsigned(16), "energy": signed(energy)}),
        "states": data.StructLayout({"sweep": unsigned(32), "energy": signed(energy),
                                     "state": unsigned(n)}),
    }


class ReadBack(wiring.Component):
    """The read ports of a :class:`PBitCore`: one read at a time, through the core's memories.

    The core owns the memories and lends their read ports while it is idle; this component
    sequences a read through them. A coupling or node read looks its address up in the core's
    edge or node map (the core addresses the map with the read's address on the clock the
    address is taken), reads every unit's memories at the slot found, and keeps the owning
    unit's word. A coupling is read at the end ``a`` of its edge (both ends hold the value
    written).

    Parameters
    ----------
    config, topology, schedule_depth
        As the core's.
    slot_layout : data.StructLayout
        A word of the core's edge and node maps: ``{unit, slot}``.

    Members
    -------
    coupling_rd, node_rd, schedule_rd : In(ReadSignature(address, word of image_layouts()))
        One read at a time (coupling first, then node, then schedule when addresses wait
        together). A coupling or node word is valid 4 clocks after its address is taken, a
        schedule word 1 clock after; each stays until taken.
    enable : In(1)
        Addresses are taken only while high: the core idle and no write offered or in flight.
    busy : Out(1)
        A coupling or node read is using the maps or the unit memories.
    edge_home, node_home : In(slot_layout)
        The core's edge map word (end ``a``) and node map word, one clock after an address is
        taken.
    slot : Out(slot_layout.slot)
        The address of every unit's coupling, bias and LFSR memory while ``busy``.
    couplings, biases, lfsrs : In(ArrayLayout(word, U))
        Every unit's memory words, one clock after ``slot``.
    state : In(unsigned(N))
    betas, sweeps : In(ArrayLayout(unsigned(beta_bits) or unsigned(32), schedule_depth))
    """

    def __init__(self, config: PBitConfig, topology: Topology, schedule_depth: int,
                 slot_layout: data.StructLayout):
        images = image_layouts(config, topology, schedule_depth)
        units = config.update_units
        self._slot_layout = slot_layout
        super().__init__({
            **{f"{name}_rd": In(ReadSignature(*images[name])) for name in images},
            "enable": In(1),
            "busy": Out(1),
            "edge_home": In(slot_layout),
            "node_home": In(slot_layout),
            "slot": Out(slot_layout["slot"].shape),
            "couplings": In(data.ArrayLayout(signed(config.coupling_bits), units)),
            "biases": In(data.ArrayLayout(signed(config.bias_bits), units)),
            "lfsrs": In(data.ArrayLayout(unsigned(LFSR_BITS), units)),
            "state": In(unsigned(topology.n)),
            "betas": In(data.ArrayLayout(unsigned(config.beta_bits), schedule_depth)),
            "sweeps": In(data.ArrayLayout(unsigned(32), schedule_depth)),
        })

    def elaborate(self, platform):
        m = Module()
        couplings, nodes, schedule = self.coupling_rd, self.node_rd, self.schedule_rd
        # the map word arrives, is registered, then the unit words arrive
        looking, addressing, fetching = Signal(), Signal(), Signal()
        of_node = Signal()                       # the read in flight is a node's
        node = Signal.like(nodes.addr.payload)
        unit = Signal.like(self.edge_home.unit)
        waiting = couplings.data.valid | nodes.data.valid | schedule.data.valid
        free = self.enable & ~looking & ~addressing & ~fetching & ~waiting
        m.d.comb += [
            couplings.addr.ready.eq(free),
            nodes.addr.ready.eq(free & ~couplings.addr.valid),
            schedule.addr.ready.eq(free & ~couplings.addr.valid & ~nodes.addr.valid),
            self.busy.eq(looking | addressing | fetching),
        ]
        for port in (couplings, nodes, schedule):
            with m.If(port.data.ready):
                m.d.sync += port.data.valid.eq(0)

        m.d.sync += [looking.eq(0), addressing.eq(looking), fetching.eq(addressing)]
        with m.If(couplings.addr.valid & couplings.addr.ready):
            m.d.sync += [looking.eq(1), of_node.eq(0)]
        with m.If(nodes.addr.valid & nodes.addr.ready):
            m.d.sync += [looking.eq(1), of_node.eq(1), node.eq(nodes.addr.payload)]
        # The map word goes through a register before it addresses the unit memories: straight
        # from the map's block RAM it was one of the ULX3S default fabric's longest paths.
        home = Signal(self._slot_layout)
        with m.If(looking):
            m.d.sync += home.eq(Mux(of_node, self.node_home, self.edge_home))
        m.d.comb += self.slot.eq(home.slot)
        m.d.sync += unit.eq(home.unit)
        with m.If(fetching & of_node):
            m.d.sync += [nodes.data.valid.eq(1),
                         nodes.data.payload.bias.eq(self.biases[unit]),
                         nodes.data.payload.seed.eq(self.lfsrs[unit]),
                         nodes.data.payload.state.eq(self.state.bit_select(node, 1))]
        with m.If(fetching & ~of_node):
            m.d.sync += [couplings.data.valid.eq(1),
                         couplings.data.payload.eq(self.couplings[unit])]

        index = schedule.addr.payload
        with m.If(schedule.addr.valid & schedule.addr.ready):
            m.d.sync += [schedule.data.valid.eq(1),
                         schedule.data.payload.beta.eq(self.betas[index]),
                         schedule.data.payload.sweeps.eq(self.sweeps[index])]
        return m


class WritePath(wiring.Component):
    """The write streams of a :class:`PBitCore`, through its edge and node maps to unit slots.

    The edge map (ROM) gives the (unit, coupling slot) of both ends of every edge, end ``a``
    being the end of the smaller node; the node map (ROM) the (unit, local slot) of every p-bit.
    Their read ports also look up the :class:`ReadBack` addresses while no write is offered.

    Parameters
    ----------
    config, topology
        As the core's (N p-bits, E edges).
    programs : list of UnitProgram
        The U units' programs (:func:`unit_programs`).

    Members
    -------
    coupling_wr : In(stream.Signature(stream_layouts()["coupling_wr"]))
        Taken while ``enable`` and nothing is being written. The map word is read on the
        transfer clock; end ``a`` is written 2 clocks after the transfer, end ``b`` 3 clocks
        after; the next write is taken 4 clocks after the transfer at the earliest.
    node_wr : In(stream.Signature(stream_layouts()["node_wr"]))
        Taken as ``coupling_wr``, and only while no coupling write is offered. The map word is
        read on the transfer clock and registered; the unit and the state register are written
        2 clocks after the transfer; the next write is taken 3 clocks after it at the earliest.
    enable : In(1)
        Writes are taken only while high (the core idle, so the units are idle).
    writing : Out(1)
        A write is in flight.
    edge_addr, node_addr : In(address shape of the coupling and node images)
        Read-back addresses: the maps look them up on clocks no coupling (node) write is offered.
    edge_home, node_home : Out(slot_layout)
        End ``a`` of the edge map word and the node map word, one clock after the address.
    coupling : Out(Signature({en: unsigned(U), slot: slot_layout.slot,
        value: signed(coupling_bits)}))
        Unit ``u`` writes ``value`` into its coupling slot ``slot`` on a clock ``en[u]`` is high.
    node : Out(Signature({en: unsigned(U), slot: slot_layout.slot, bias: signed(bias_bits),
        seed: unsigned(32), state: 1}))
        Unit ``u`` writes ``bias`` and ``seed`` at its local slot ``slot`` while ``en[u]``, and
        the state register's bit of that p-bit takes ``state`` (through the slot decoder of the
        unit's write-backs: a node write happens only while the units are idle).
    """

    def __init__(self, config: PBitConfig, topology: Topology, programs: list[UnitProgram]):
        if len(programs) < 1:
            raise ValueError("programs is empty; a core has at least one unit")
        self._config, self._topology, self._programs = config, topology, list(programs)
        self._slot_layout = data.StructLayout({
            "unit": unsigned(_bits(len(programs))),
            "slot": unsigned(max(p.slot_bits for p in programs))})
        layouts = stream_layouts(config, topology, 1)  # (the write layouts ignore the depth)
        units, slot = unsigned(len(programs)), self._slot_layout["slot"].shape
        super().__init__({
            "coupling_wr": In(stream.Signature(layouts["coupling_wr"])),
            "node_wr": In(stream.Signature(layouts["node_wr"])),
            "enable": In(1),
            "writing": Out(1),
            "edge_addr": In(layouts["coupling_wr"]["edge"].shape),
            "node_addr": In(layouts["node_wr"]["node"].shape),
            "edge_home": Out(self._slot_layout),
            "node_home": Out(self._slot_layout),
            "coupling": Out(wiring.Signature({
                "en": Out(units), "slot": Out(slot), "value": Out(signed(config.coupling_bits))})),
            "node": Out(wiring.Signature({
                "en": Out(units), "slot": Out(slot), "bias": Out(signed(config.bias_bits)),
                "seed": Out(unsigned(LFSR_BITS)), "state": Out(1)})),
        })

    @property
    def slot_layout(self) -> data.StructLayout:
        """A map word: ``{unit, slot}``."""
        return self._slot_layout

    def _maps(self) -> tuple[list, list]:
        """Initial words of the edge map (``{a, b}`` per edge) and of the node map."""
        edges = [[None, None] for _ in self._topology.edges]
        nodes = {}
        for u, program in enumerate(self._programs):
            for slot, i, j, e in program.coupling_slots():
                edges[e][0 if i < j else 1] = {"unit": u, "slot": slot}
            for slot, i in enumerate(program.nodes):
                nodes[i] = {"unit": u, "slot": slot}
        return [{"a": a, "b": b} for a, b in edges], [nodes[i] for i in range(self._topology.n)]

    def elaborate(self, platform):
        m = Module()
        layout, size = self._slot_layout, self._slot_layout.size
        edge_words, node_words = self._maps()
        m.submodules.edge_map = edge_map = memory.Memory(
            shape=data.StructLayout({"a": layout, "b": layout}),
            depth=max(len(self._topology.edges), 1), init=edge_words)
        m.submodules.node_map = node_map = memory.Memory(
            shape=layout, depth=self._topology.n, init=node_words, attrs=_IN_BLOCK_RAM)
        edge_rd, node_rd = edge_map.read_port(), node_map.read_port()
        coupling_wr, node_wr = self.coupling_wr, self.node_wr
        # a write's address while one is offered, else a read's (reads wait for offered writes)
        m.d.comb += [
            edge_rd.addr.eq(Mux(coupling_wr.valid, coupling_wr.payload.edge, self.edge_addr)),
            node_rd.addr.eq(Mux(node_wr.valid, node_wr.payload.node, self.node_addr)),
            self.edge_home.eq(edge_rd.data.a), self.node_home.eq(node_rd.data),
        ]

        value = Signal(signed(self._config.coupling_bits))
        slots = Signal(size * 2)
        node = Signal(node_wr.payload.shape())
        coupling_step = Signal(3)  # one-hot: map read, write end a, write end b
        node_step = Signal(2)  # one-hot: map read, write (the map word registered between)
        home = Signal(layout)
        writing = coupling_step.any() | node_step.any()
        m.d.comb += [self.writing.eq(writing),
                     coupling_wr.ready.eq(self.enable & ~writing),
                     node_wr.ready.eq(self.enable & ~writing & ~coupling_wr.valid)]
        m.d.sync += coupling_step.eq(coupling_step << 1)
        with m.If(coupling_wr.valid & coupling_wr.ready):
            m.d.sync += [coupling_step.eq(1), value.eq(coupling_wr.payload.value)]
        with m.If(coupling_step[0]):
            m.d.sync += slots.eq(edge_rd.data.as_value())
        with m.If(node_wr.valid & node_wr.ready):
            m.d.sync += [node_step.eq(1), node.eq(node_wr.payload)]
        with m.If(node_step[0]):
            m.d.sync += [node_step.eq(2), home.eq(node_rd.data)]
        with m.If(node_step[1]):
            m.d.sync += node_step.eq(0)
        end = data.View(layout, Mux(coupling_step[2], slots[size:], slots[:size]))
        m.d.comb += [
            self.coupling.slot.eq(end.slot), self.coupling.value.eq(value),
            self.node.slot.eq(home.slot), self.node.bias.eq(node.bias),
            self.node.seed.eq(node.seed), self.node.state.eq(node.state),
        ]
        for u in range(len(self._programs)):
            m.d.comb += [
                self.coupling.en[u].eq((coupling_step[1] | coupling_step[2]) & (end.unit == u)),
                self.node.en[u].eq(node_step[1] & (home.unit == u)),
            ]
        return m


class AnnealController(wiring.Component):
    """The anneal of a :class:`PBitCore`: schedule, colour phases and sweeps, energy, best state.

    Parameters
    ----------
    config, topology, schedule_depth
        As the core's: K = ``topology.num_colours``, D = ``schedule_depth``, N p-bits,
        E = :func:`energy_bits`.
    phase_clocks : sequence of K ints >= 2, or None
        Per colour, the clocks from its PHASE to the next colour's (:func:`phase_clocks`):
        colour phases overlap in the units' pipelines. None: every phase waits until the
        units have drained. The last colour of a sweep always waits for them.

    Members
    -------
    schedule_wr : In(stream.Signature(stream_layouts()["schedule_wr"]))
        Taken while ``idle``; step ``index`` of the schedule (an index of D or more is dropped).
    run : In(stream.Signature(stream_layouts()["run"]))
        Taken while ``idle`` and ``enable``: anneal schedule steps ``0..steps-1`` (all D when
        ``steps`` exceeds D) from energy ``energy``, recording every ``record_every``-th sweep.
    enable : In(1)
        ``run`` is taken only while high (no write or read-back in flight).
    states : Out(stream.Signature(stream_layouts()["states"]))
        ``{sweep, energy, state}`` after every ``record_every``-th sweep; the anneal waits until
        it is taken.
    idle : Out(1)
        No anneal in progress.
    phase_go : Out(1)
        Pulse: the units start colour ``colour``.
    colour : Out(range(max(K, 2))); beta : Out(unsigned(beta_bits))
        The colour of the phase and the code B of the schedule step; held while units run.
    units_idle : In(1)
        Every unit has drained; first read the clock after ``phase_go``.
    delta : In(signed(E))
        The energy change to add this clock (the units' registered deltas, summed).
    state : In(unsigned(N))
        The state register: recorded on ``states`` and kept as the best state.
    energy, best_energy : Out(signed(E)); best_state : Out(unsigned(N))
        ``energy`` is ``run.energy`` plus every ``delta`` since; ``best_energy`` and
        ``best_state`` are the lowest energy at the end of a sweep and its state (the first on
        ties; ``run`` sets them to the initial ones).
    sweep, best_sweep : Out(unsigned(32))
        Sweeps done since ``run``, and the sweep that reached ``best_state`` (0: the initial).
    betas, sweeps : Out(ArrayLayout(unsigned(beta_bits), D)), Out(ArrayLayout(unsigned(32), D))
        The schedule, for read-back.

    Timing
    ------
    States IDLE, STEP (the next schedule step, or IDLE after the last), SWEEP (a sweep of the
    step, or STEP when its sweeps are done), PHASE (``phase_go``), DRAIN (until ``units_idle``,
    or with ``phase_clocks`` for a colour c < K-1 for ``phase_clocks[c] - 1`` clocks; then PHASE
    with the next colour, or SWEEP_END after colour K-1), SWEEP_END (count the sweep, keep the
    best), RECORD (``states.valid`` until taken). One clock each except DRAIN and RECORD: a
    sweep is 2 + sum over colours of (1 + its DRAIN clocks), plus its RECORD clocks;
    each schedule step adds 2 (STEP, and the SWEEP that ends it), a run 2 (the ``run``
    transfer in IDLE and the STEP that ends it). ``delta`` is added on every clock, so
    SWEEP_END counts a delta that arrives by the last DRAIN clock.
    """

    def __init__(self, config: PBitConfig, topology: Topology, schedule_depth: int,
                 phase_clocks: Sequence[int] | None = None):
        check_parameters(config, topology, schedule_depth)
        if phase_clocks is not None:
            phase_clocks = tuple(int(c) for c in phase_clocks)
            if len(phase_clocks) != topology.num_colours or min(phase_clocks) < 2:
                raise ValueError(f"phase_clocks = {phase_clocks} is out of range; allowed "
                                 f"{topology.num_colours} values (one per colour) of at least 2")
        self._config, self._topology, self._depth = config, topology, schedule_depth
        self._phase_clocks = phase_clocks
        layouts = stream_layouts(config, topology, schedule_depth)
        n, energy = topology.n, signed(energy_bits(config, topology))
        super().__init__({
            "schedule_wr": In(stream.Signature(layouts["schedule_wr"])),
            "run": In(stream.Signature(layouts["run"])),
            "enable": In(1),
            "states": Out(stream.Signature(layouts["states"])),
            "idle": Out(1),
            "phase_go": Out(1),
            "colour": Out(range(max(topology.num_colours, 2))),
            "beta": Out(unsigned(config.beta_bits)),
            "units_idle": In(1),
            "delta": In(energy),
            "state": In(unsigned(n)),
            "energy": Out(energy),
            "best_energy": Out(energy),
            "best_state": Out(unsigned(n)),
            "sweep": Out(unsigned(32)),
            "best_sweep": Out(unsigned(32)),
            "betas": Out(data.ArrayLayout(unsigned(config.beta_bits), schedule_depth)),
            "sweeps": Out(data.ArrayLayout(unsigned(32), schedule_depth)),
        })

    def elaborate(self, platform):
        m = Module()
        depth, colours = self._depth, self._topology.num_colours
        energy, best_energy, sweep = self.energy, self.best_energy, self.sweep
        step = Signal(range(depth + 1))
        steps = Signal(range(depth + 1))
        sweeps_left = Signal(32)
        record_every = Signal(16)
        since_record = Signal(16)
        # DRAIN clocks left of an overlapped phase (phase_clocks[c] - 2 when it starts)
        clocks = self._phase_clocks or (2,) * colours
        overlap = Const(self._phase_clocks is not None)
        wait = Signal(range(max(clocks) - 1))
        gaps = Array(Const(c - 2, wait.shape()) for c in clocks)
        with m.If(self.schedule_wr.valid & self.schedule_wr.ready):
            payload = self.schedule_wr.payload
            with m.If(payload.index < depth):
                m.d.sync += [self.betas[payload.index].eq(payload.beta),
                             self.sweeps[payload.index].eq(payload.sweeps)]
        m.d.comb += self.schedule_wr.ready.eq(self.idle)
        m.d.sync += energy.eq(energy + self.delta)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.idle.eq(1), self.run.ready.eq(self.enable)]
                with m.If(self.run.valid & self.run.ready):
                    payload = self.run.payload
                    m.d.sync += [steps.eq(Mux(payload.steps > depth, depth, payload.steps)),
                                 step.eq(0), sweep.eq(0), self.best_sweep.eq(0),
                                 record_every.eq(payload.record_every), since_record.eq(0),
                                 energy.eq(payload.energy), best_energy.eq(payload.energy),
                                 self.best_state.eq(self.state)]
                    m.next = "STEP"
            with m.State("STEP"):
                with m.If(step == steps):
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [self.beta.eq(self.betas[step]),
                                 sweeps_left.eq(self.sweeps[step]), step.eq(step + 1)]
                    m.next = "SWEEP"
            with m.State("SWEEP"):
                with m.If(sweeps_left == 0):
                    m.next = "STEP"
                with m.Else():
                    m.d.sync += self.colour.eq(0)
                    m.next = "PHASE"
            with m.State("PHASE"):
                m.d.comb += self.phase_go.eq(1)
                m.d.sync += wait.eq(gaps[self.colour])
                m.next = "DRAIN"
            with m.State("DRAIN"):
                m.d.sync += wait.eq(wait - 1)
                with m.If((self.colour == colours - 1) & self.units_idle):
                    m.next = "SWEEP_END"
                with m.Elif((self.colour != colours - 1) & (overlap & (wait == 0)
                                                            | ~overlap & self.units_idle)):
                    m.d.sync += self.colour.eq(self.colour + 1)
                    m.next = "PHASE"
            with m.State("SWEEP_END"):
                m.d.sync += [sweep.eq(sweep + 1), sweeps_left.eq(sweeps_left - 1),
                             since_record.eq(since_record + 1)]
                with m.If(energy < best_energy):
                    m.d.sync += [best_energy.eq(energy), self.best_state.eq(self.state),
                                 self.best_sweep.eq(sweep + 1)]
                with m.If((record_every != 0) & (since_record + 1 == record_every)):
                    m.d.sync += since_record.eq(0)
                    m.next = "RECORD"
                with m.Else():
                    m.next = "SWEEP"
            with m.State("RECORD"):
                m.d.comb += [self.states.valid.eq(1),
                             self.states.payload.sweep.eq(sweep),
                             self.states.payload.energy.eq(energy),
                             self.states.payload.state.eq(self.state)]
                with m.If(self.states.ready):
                    m.next = "SWEEP"
        return m


class PBitCore(wiring.Component):
    """N p-bits on a fixed coupling graph, updated colour by colour by U update units.

    Parameters
    ----------
    config : PBitConfig
        Number formats and ``update_units`` U (1..N).
    topology : Topology
        Graph and proper colouring (K colours), fixed at generation.
    schedule_depth : int
        Anneal steps the schedule memory holds (default 16).
    counters : bool
        Add the activity counters (``activity``); off, the design is unchanged.

    Members
    -------
    coupling_wr : In(stream.Signature({edge, value: signed(coupling_bits)}))
        J of ``topology.edges[edge]``; 3 clocks per write.
    node_wr : In(stream.Signature({node, bias: signed(bias_bits), seed: unsigned(32),
        state: unsigned(1)}))
        h, LFSR seed (0 becomes 1) and initial state of one p-bit; 3 clocks per write.
    schedule_wr : In(stream.Signature({index, beta: unsigned(beta_bits), sweeps: unsigned(32)}))
        Anneal step ``index``: ``sweeps`` sweeps at inverse-temperature code ``beta``.
    run : In(stream.Signature({steps, record_every: unsigned(16), energy: signed(E)}))
        Starts an anneal of schedule steps ``0..steps-1`` (``steps`` above ``schedule_depth``
        runs them all) from the loaded state, whose energy ``energy`` the host supplies
        (E = :func:`energy_bits`). With ``record_every`` k > 0 the state after every k-th
        sweep is sent on ``states``.
    states : Out(stream.Signature({sweep: unsigned(32), energy: signed(E), state: unsigned(N)}))
        Sampled states; the core waits (between sweeps) while ``states`` is not ready.
    state, best_state : Out(unsigned(N)); energy, best_energy : Out(signed(E))
        Current and best (lowest energy at the end of a sweep, earliest on ties) state and
        energy, tracked exactly by flip deltas. Writes change ``state`` but not ``energy``
        (the next ``run`` supplies it).
    sweep, best_sweep : Out(unsigned(32))
        Sweeps done by the current (or last) anneal, and the sweep after which ``best_state``
        was reached (0: the initial state).
    busy : Out(1)
        High from the ``run`` transfer to the end of the anneal, and during writes. The write
        streams are ready only while the core is idle.
    activity : Out(pbit_activity_layout()), with ``counters``
        Updates, random bits drawn and state changes since reset
        (:class:`~spinemu.hdl.activity.PBitCounters`); final once ``busy`` is low.
    coupling_rd : In(ReadSignature(edge, signed(coupling_bits)))
        Read-back of the J of an edge, as written (each J is stored at both ends of its edge;
        the copy of the smaller node's end is read).
    node_rd : In(ReadSignature(node, {bias: signed(bias_bits), seed: unsigned(32),
        state: unsigned(1)}))
        Read-back of a p-bit. ``seed`` is its LFSR's current state: the seed as written (0
        reads as 1) until the p-bit updates; after an anneal, the state its LFSR has reached
        (what :attr:`~spinemu.sim.golden.pbit.PBitRun.lfsr` holds: a run from there continues
        the anneal). ``state`` is its state bit: after an anneal, the final state.
    schedule_rd : In(ReadSignature(index, {beta: unsigned(beta_bits), sweeps: unsigned(32)}))
        Read-back of an anneal step.

    Read-back latency
    -----------------
    The read ports take an address only while the core is idle and no write is offered or in
    flight, one read at a time (:class:`ReadBack`). A coupling or node word is on ``data`` 4
    clocks after its address is taken (edge or node map, its word registered, the unit
    memories, then the owning unit's word), a schedule word 1 clock after; it stays until
    taken. The maps' and units' memory read ports serve read-back while the core is idle and
    compute while it anneals: read-back adds no memory. An address past the image reads an
    unspecified word. ``run`` is not taken while a read is in flight.

    Architecture and throughput
    ---------------------------
    p-bits are dealt to the units colour by colour, longest first to the unit with the fewest
    steps of the colour (:func:`unit_programs`). Each unit owns, in memories, the
    couplings of its p-bits' edges (one slot per step; each J is stored at both ends), their
    biases and LFSR states, and a program ROM of steps. Per step it adds ``+-J`` for up to
    ``update_lanes`` K neighbours (reading their state bits from the state register 2 clocks
    after the fetch), so a p-bit of degree d takes ``max(ceil(d / K), 1)`` clocks; at its last
    step the field ``I`` goes through ``a = sat(rshift_round(I * B, beta_frac), lut_bits)``,
    a tanh ROM (one per two units) and a one-clock LFSR leap of ``rng_bits`` steps, and the
    state and LFSR are written back 8 clocks after the step is fetched (the energy change one
    clock later).
    The next colour starts as soon as its steps' reads of neighbour bits come after the
    write-backs they need (:func:`phase_clocks`: at most 6 clocks after the last fetch of a
    colour, less where a p-bit reads the colour just before last), so colour phases overlap
    in the pipeline, and the last colour of a sweep drains fully (energy and best state are
    exact at the sweep's end): a sweep takes at most ``sum over colours c of (max over units
    u of steps(u, c) + 6)`` clocks plus 6 (exactly :meth:`cycles_per_sweep`) for N updates: about
    ``U * K / mean degree`` updates per clock when the colours are large against U, and never
    more than one per unit per clock.
    Colours and units never change the results: each p-bit owns its LFSR and updates in the
    order of DESIGN.md 3.4.

    Parts: a :class:`WritePath` (the write streams through the edge and node maps to unit
    slots), U :class:`~spinemu.hdl.pbit_unit.UpdateUnit` s (one per program of
    :func:`unit_programs`; read ports of one tanh ROM), an :class:`AnnealController` (schedule,
    phases, sweeps, records, energy and best state) and a :class:`ReadBack`. The core keeps the
    state register: node writes and the units' write-backs set its bits, and every unit reads
    its neighbours' and its own p-bits' bits from it.
    """

    def __init__(self, config: PBitConfig, topology: Topology, *,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH, counters: bool = False):
        check_parameters(config, topology, schedule_depth)
        self._config, self._topology, self._depth = config, topology, schedule_depth
        self._counters = counters
        self._programs = unit_programs(topology, config.update_units, config.update_lanes)
        layouts = stream_layouts(config, topology, schedule_depth)
        n = topology.n
        super().__init__({
            **{name: In(stream.Signature(layout)) for name, layout in layouts.items()
               if name != "states"},
            "states": Out(stream.Signature(layouts["states"])),
            "state": Out(unsigned(n)),
            "best_state": Out(unsigned(n)),
            "energy": Out(signed(self.energy_bits)),
            "best_energy": Out(signed(self.energy_bits)),
            "sweep": Out(unsigned(32)),
            "best_sweep": Out(unsigned(32)),
            "busy": Out(1),
            **{f"{name}_rd": In(ReadSignature(*shapes))
               for name, shapes in image_layouts(config, topology, schedule_depth).items()},
            **({"activity": Out(pbit_activity_layout())} if counters else {}),
        })

    @property
    def config(self) -> PBitConfig:
        return self._config

    @property
    def topology(self) -> Topology:
        return self._topology

    @property
    def programs(self) -> list[UnitProgram]:
        return self._programs

    @property
    def field_bits(self) -> int:
        return self._config.field_bits(max(self._topology.max_degree, 1))

    @property
    def energy_bits(self) -> int:
        return energy_bits(self._config, self._topology)

    def cycles_per_sweep(self) -> int:
        """Clock cycles of one sweep (:func:`cycles_per_sweep`)."""
        return cycles_per_sweep(self._topology, self._config.update_units,
                                self._config.update_lanes)

    def elaborate(self, platform):
        cfg, top, depth = self._config, self._topology, self._depth
        m = Module()
        m.submodules.writes = writes = WritePath(cfg, top, self._programs)
        m.submodules.control = control = AnnealController(
            cfg, top, depth, phase_clocks(top, cfg.update_units, cfg.update_lanes))
        m.submodules.read_back = read_back = ReadBack(cfg, top, depth, writes.slot_layout)
        reads = [f"{image}_rd" for image in image_layouts(cfg, top, depth)]
        for part, names in [(writes, ["coupling_wr", "node_wr"]),
                            (control, ["schedule_wr", "run", "states"]), (read_back, reads)]:
            for name in names:
                wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(part, name))

        # The state register: the units' write-backs and node writes set its bits (_units).
        state = Signal(top.n)
        units = self._units(m, state, writes, control, read_back)

        idle, writing = control.idle, writes.writing
        offered = Cat(self.coupling_wr.valid, self.node_wr.valid, self.schedule_wr.valid,
                      self.run.valid).any()
        m.d.comb += [
            writes.enable.eq(idle),
            writes.edge_addr.eq(self.coupling_rd.addr.payload),
            writes.node_addr.eq(self.node_rd.addr.payload),
            control.enable.eq(~writing & ~read_back.busy),
            control.units_idle.eq(Cat(unit.idle for unit in units).all()),
            control.delta.eq(tree_sum(unit.delta for unit in units)),
            control.state.eq(state),
            read_back.enable.eq(idle & ~writing & ~offered),
            read_back.edge_home.eq(writes.edge_home), read_back.node_home.eq(writes.node_home),
            read_back.state.eq(state),
            read_back.betas.eq(control.betas), read_back.sweeps.eq(control.sweeps),
            self.state.eq(state), self.best_state.eq(control.best_state),
            self.energy.eq(control.energy), self.best_energy.eq(control.best_energy),
            self.sweep.eq(control.sweep), self.best_sweep.eq(control.best_sweep),
            self.busy.eq(~idle | writing),
        ]
        if self._counters:
            self._count(m, state, units)
        return m

    def _count(self, m, state, units) -> None:
        """:class:`PBitCounters` on the units' write-backs (a change: the new state differs
        from the state register's bit of that p-bit)."""
        m.submodules.counters = counters = PBitCounters(units=len(units),
                                                        rng_bits=self._config.rng_bits)
        for u, (unit, program) in enumerate(zip(units, self._programs, strict=True)):
            back = unit.write_back
            old = mux_tree([state[i] for i in program.nodes], back.slot)
            m.d.comb += [counters.updated[u].eq(back.valid),
                         counters.changed[u].eq(back.valid & (back.up != old))]
        m.d.comb += self.activity.eq(counters.counts)

    def _units(self, m, state, writes, control, read_back) -> list[UpdateUnit]:
        """The :class:`UpdateUnit` s, each with a read port of a tanh ROM (one ROM per
        :data:`LUT_PORTS` units, so each is one dual-port block RAM: yosys's ``memory_libmap``
        aborted on one ROM of 64 or 128 read ports), fed by the write path, the anneal
        controller and ``state``; their write-backs and the node writes go into ``state``,
        their memory words to ``read_back``."""
        cfg = self._config
        table = [int(v) for v in tanh_table(cfg.lut_bits, cfg.lut_frac, cfg.rng_bits)]
        units = []
        for u, program in enumerate(self._programs):
            m.submodules[f"u{u}"] = unit = UpdateUnit(cfg, program, field_bits=self.field_bits)
            if u % LUT_PORTS == 0:
                m.submodules[f"lut{u // LUT_PORTS}"] = lut = memory.Memory(
                    shape=signed(cfg.rng_bits), depth=len(table), init=table)
            lut_rd = lut.read_port()
            m.d.comb += [
                unit.phase_go.eq(control.phase_go), unit.colour.eq(control.colour),
                unit.beta.eq(control.beta),
                unit.neighbour_states.eq(Cat(state[j] for j in program.sources)),
                unit.node_states.eq(Cat(state[i] for i in program.nodes)),
                lut_rd.addr.eq(unit.lut_addr), unit.lut_data.eq(lut_rd.data),
                unit.coupling_wr.en.eq(writes.coupling.en[u]),
                unit.coupling_wr.slot.eq(writes.coupling.slot),
                unit.coupling_wr.value.eq(writes.coupling.value),
                unit.node_wr.en.eq(writes.node.en[u]), unit.node_wr.slot.eq(writes.node.slot),
                unit.node_wr.bias.eq(writes.node.bias), unit.node_wr.seed.eq(writes.node.seed),
                unit.read.busy.eq(read_back.busy), unit.read.slot.eq(read_back.slot),
                read_back.couplings[u].eq(unit.read.coupling),
                read_back.biases[u].eq(unit.read.bias), read_back.lfsrs[u].eq(unit.read.lfsr),
            ]
            # one slot decoder per unit sets the state bits: write-backs, and node writes (only
            # while the units are idle); a decoder of all N bits for node writes besides cost
            # some 2 LUTs per p-bit on ECP5. One Switch on the slot (Verilog's case: Verilator
            # decides it on the slot's bits, not by a comparison per p-bit every clock), the
            # enable inside each case (outside, yosys 0.70's abc9 failed on G1: docs/pbit.md).
            loading = writes.node.en[u]
            slot_in = Mux(loading, writes.node.slot, unit.write_back.slot)
            up = Mux(loading, writes.node.state, unit.write_back.up)
            with m.Switch(slot_in):
                for slot, i in enumerate(program.nodes):
                    with m.Case(slot), m.If(unit.write_back.valid | loading):
                        m.d.sync += state[i].eq(up)
            units.append(unit)
        return units
