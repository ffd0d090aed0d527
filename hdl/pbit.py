"""The p-bit core (DESIGN.md 3.4): LFSR-driven chromatic Gibbs sampling of an Ising problem."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import PBitConfig, Topology
from spinemu.numeric import LFSR_BITS, clog2, tanh_table

from .arith import rshift_round, sat, tree_sum
from .lfsr import leap
from .ports import ReadSignature

__all__ = [
    "DEFAULT_SCHEDULE_DEPTH", "PBitCore", "ReadBack", "UnitProgram", "check_parameters",
    "cycles_per_sweep", "energy_bits", "image_layouts", "stream_layouts", "unit_programs",
]


#: Anneal steps a core's schedule memory holds unless told otherwise.
DEFAULT_SCHEDULE_DEPTH = 16


def _bits(n: int) -> int:
    return max(clog2(n), 1)


#: Attributes of the ROMs (unit programs, node map) that must not become logic. yosys
#: (``memory_libmap``) prices a ROM in logic lower than block RAM up to some thousand bits and
#: so made each unit's program ROM a tree of multiplexers: on ECP5, a 100-node graph at U = 8
#: took some 9,000 ``$_MUX_`` cells that way. ``rom_style = "block"`` puts them in block RAM.
_IN_BLOCK_RAM = {"rom_style": "block"}


@dataclass(frozen=True)
class UnitProgram:
    """What one update unit does, fixed at generation.

    ``nodes`` are the unit's p-bits (global indices; local slot = position). ``steps`` list, for
    every colour in order and every p-bit of the unit in that colour, one step per neighbour
    ``(local, node, neighbour, edge, first, last)`` (a p-bit without neighbours gets one step
    with ``neighbour = edge = -1``). ``segments[c]`` is the ``[start, end)`` of colour c's steps.
    """

    nodes: tuple[int, ...]
    steps: tuple[tuple[int, int, int, int, bool, bool], ...]
    segments: tuple[tuple[int, int], ...]

    @property
    def neighbours(self) -> tuple[int, ...]:
        """Every p-bit whose state this unit reads, in first-use order."""
        return tuple(dict.fromkeys(j for _, _, j, _, _, _ in self.steps if j >= 0))


def unit_programs(topology: Topology, units: int) -> list[UnitProgram]:
    """Split the p-bits over ``units`` update units: p-bits in (colour, index) order go to units
    0, 1, ..., U-1, 0, ... so each colour is spread over consecutive units."""
    neighbours = [[] for _ in range(topology.n)]
    for e, (i, j) in enumerate(topology.edges):
        neighbours[i].append((j, e))
        neighbours[j].append((i, e))
    order = sorted(range(topology.n), key=lambda i: (topology.colours[i], i))
    owner = {i: k % units for k, i in enumerate(order)}
    programs = []
    for u in range(units):
        nodes = [i for i in order if owner[i] == u]
        local = {i: slot for slot, i in enumerate(nodes)}
        steps, segments = [], []
        for colour in range(topology.num_colours):
            start = len(steps)
            for i in (i for i in nodes if topology.colours[i] == colour):
                links = neighbours[i] or [(-1, -1)]
                for k, (j, e) in enumerate(links):
                    steps.append((local[i], i, j, e, k == 0, k == len(links) - 1))
            segments.append((start, len(steps)))
        programs.append(UnitProgram(tuple(nodes), tuple(steps), tuple(segments)))
    return programs


def cycles_per_sweep(topology: Topology, units: int) -> int:
    """Clock cycles of one sweep of a core with ``units`` update units, not counting the one
    a recorded state adds.

    Per colour: one clock to start the units, then the longest unit segment plus 7 clocks of
    pipeline (1 clock if no unit has a p-bit of that colour); plus 2 per sweep.
    """
    programs = unit_programs(topology, units)
    total = 2
    for c in range(topology.num_colours):
        longest = max(end - start for start, end in (p.segments[c] for p in programs))
        total += 1 + (longest + 7 if longest else 1)
    return total


def energy_bits(config: PBitConfig, topology: Topology) -> int:
    """Signed width holding any energy: ``|E| <= edges * 2**(cb-1) + N * 2**(bb-1)``."""
    bound = (len(topology.edges) * (1 << (config.coupling_bits - 1))
             + topology.n * (1 << (config.bias_bits - 1)))
    return bound.bit_length() + 1


def check_parameters(config: PBitConfig, topology: Topology, schedule_depth: int) -> None:
    """Refuse a core that cannot be built: ``TypeError`` for a config or topology of the wrong
    type, ``ValueError`` for ``update_units`` over N or ``schedule_depth`` outside 1..4096."""
    if not isinstance(config, PBitConfig):
        raise TypeError(f"config must be a PBitConfig, not {type(config).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology must be a Topology, not {type(topology).__name__}")
    if config.update_units > topology.n:
        raise ValueError(f"update_units = {config.update_units} is out of range; allowed "
                         f"1..{topology.n} (n)")
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
    p-bits are dealt to the units in (colour, index) order. Each unit owns, in memories, the
    couplings of its p-bits' edges (one slot per step; each J is stored at both ends), their
    biases and LFSR states, and a program ROM of steps. Per step it adds ``+-J`` for one
    neighbour (reading that neighbour's state bit from the state register), so a p-bit
    of degree d takes ``max(d, 1)`` clocks; at its last step the field ``I`` goes through
    ``a = sat(rshift_round(I * B, beta_frac), lut_bits)``, the shared tanh ROM and a one-clock
    LFSR leap of ``rng_bits`` steps, and the state and LFSR are written back 6 clocks after
    the step is fetched (the energy change one clock later). A colour phase ends when every
    unit has drained (its steps + 7 clocks), so a sweep takes about
    ``sum over colours c of (max over units u of steps(u, c) + 8)`` clocks
    (exactly :meth:`cycles_per_sweep`) for N updates: about ``U / mean degree`` updates per
    clock when the colours are large against U, and never more than one per unit per clock.
    Colours and units never change the results: each p-bit owns its LFSR and updates in the
    order of DESIGN.md 3.4.
    """

    def __init__(self, config: PBitConfig, topology: Topology, *,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH):
        check_parameters(config, topology, schedule_depth)
        self._config, self._topology, self._depth = config, topology, schedule_depth
        self._programs = unit_programs(topology, config.update_units)
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
        return cycles_per_sweep(self._topology, self._config.update_units)

    def elaborate(self, platform):
        cfg, top = self._config, self._topology
        n, colours = top.n, top.num_colours
        m = Module()

        # --- Shared state ---------------------------------------------------------------
        state = Signal(n)
        best_state = Signal(n)
        energy = Signal(signed(self.energy_bits))
        best_energy = Signal(signed(self.energy_bits))
        beta = Signal(cfg.beta_bits)
        colour = Signal(range(max(colours, 2)))
        m.d.comb += [self.state.eq(state), self.best_state.eq(best_state),
                     self.energy.eq(energy), self.best_energy.eq(best_energy)]

        table = tanh_table(cfg.lut_bits, cfg.lut_frac, cfg.rng_bits)
        m.submodules.lut = lut = memory.Memory(shape=signed(cfg.rng_bits), depth=len(table),
                                                init=[int(v) for v in table])

        # --- Write path and read-back: maps from edge and node numbers to unit memories ----
        programs = self._programs
        unit_bits = _bits(len(programs))
        slot_layout = data.StructLayout({"unit": unsigned(unit_bits),
                                         "slot": unsigned(_bits(max(len(p.steps)
                                                                    for p in programs)))})
        edge_slots = [[None, None] for _ in top.edges]
        for u, program in enumerate(programs):
            for slot, (_, i, j, e, _, _) in enumerate(program.steps):
                if e >= 0:
                    edge_slots[e][0 if i < j else 1] = {"unit": u, "slot": slot}
        m.submodules.edge_map = edge_map = memory.Memory(
            shape=data.StructLayout({"a": slot_layout, "b": slot_layout}),
            depth=max(len(top.edges), 1),
            init=[{"a": a, "b": b} for a, b in edge_slots])
        node_home = {}
        for u, program in enumerate(programs):
            for slot, i in enumerate(program.nodes):
                node_home[i] = {"unit": u, "slot": slot}
        m.submodules.node_map = node_map = memory.Memory(
            shape=slot_layout, depth=n, init=[node_home[i] for i in range(n)], attrs=_IN_BLOCK_RAM)
        edge_rd, node_rd = edge_map.read_port(), node_map.read_port()
        # a write's address while one is offered, else a read's (reads wait for offered writes)
        m.d.comb += [edge_rd.addr.eq(Mux(self.coupling_wr.valid, self.coupling_wr.payload.edge,
                                         self.coupling_rd.addr.payload)),
                     node_rd.addr.eq(Mux(self.node_wr.valid, self.node_wr.payload.node,
                                         self.node_rd.addr.payload))]

        idle = Signal()
        w_value = Signal(signed(cfg.coupling_bits))
        w_slots = Signal(slot_layout.size * 2)
        w_node = Signal(self.node_wr.payload.shape())
        w_coupling = Signal(3)  # one-hot: map read, write end a, write end b
        w_node_step = Signal(2)  # one-hot: map read, write (the map word registered between)
        w_node_home = Signal(slot_layout)
        w_node_busy = w_node_step[1]
        writing = w_coupling.any() | w_node_step.any()
        m.d.comb += [
            self.coupling_wr.ready.eq(idle & ~writing),
            self.node_wr.ready.eq(idle & ~writing & ~self.coupling_wr.valid),
            self.schedule_wr.ready.eq(idle),
        ]
        m.d.sync += w_coupling.eq(w_coupling << 1)
        with m.If(self.coupling_wr.valid & self.coupling_wr.ready):
            m.d.sync += [w_coupling.eq(1), w_value.eq(self.coupling_wr.payload.value)]
        with m.If(w_coupling[0]):
            m.d.sync += w_slots.eq(edge_rd.data.as_value())
        with m.If(self.node_wr.valid & self.node_wr.ready):
            m.d.sync += [w_node_step.eq(1), w_node.eq(self.node_wr.payload)]
        with m.If(w_node_step[0]):
            m.d.sync += [w_node_step.eq(2), w_node_home.eq(node_rd.data)]
        with m.If(w_node_busy):
            m.d.sync += [w_node_step.eq(0), state.bit_select(w_node.node, 1).eq(w_node.state)]
        w_end = data.View(slot_layout, Mux(w_coupling[2], w_slots[slot_layout.size:],
                                           w_slots[: slot_layout.size]))

        betas = Signal(data.ArrayLayout(cfg.beta_bits, self._depth))
        sweep_counts = Signal(data.ArrayLayout(32, self._depth))
        with m.If(self.schedule_wr.valid & self.schedule_wr.ready):
            payload = self.schedule_wr.payload
            with m.If(payload.index < self._depth):
                m.d.sync += [betas[payload.index].eq(payload.beta),
                             sweep_counts[payload.index].eq(payload.sweeps)]

        quiet = idle & ~writing & ~Cat(self.coupling_wr.valid, self.node_wr.valid,
                                       self.schedule_wr.valid, self.run.valid).any()
        read_back = self._read_back(m, slot_layout, quiet, edge_rd.data.a, node_rd.data,
                                    state, betas, sweep_counts)

        # --- Update units -----------------------------------------------------------------
        phase_go = Signal()       # pulse: every unit starts colour ``colour``
        units_idle = []
        deltas = []
        for u, program in enumerate(programs):
            unit_idle, delta, words = self._unit(m, u, program, state, beta, colour, phase_go,
                                                 lut, w_coupling, w_value, w_end, w_node_busy,
                                                 w_node, w_node_home, read_back)
            units_idle.append(unit_idle)
            deltas.append(delta)
            for name, word in words.items():
                m.d.comb += getattr(read_back, name)[u].eq(word)
        all_idle = Signal()
        m.d.comb += all_idle.eq(Cat(*units_idle).all())
        m.d.sync += energy.eq(energy + tree_sum(deltas))

        # --- Anneal controller ------------------------------------------------------------
        step = Signal(range(self._depth + 1))
        steps = Signal(range(self._depth + 1))
        sweeps_left = Signal(32)
        sweep = Signal(32)
        best_sweep = Signal(32)
        record_every = Signal(16)
        since_record = Signal(16)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [idle.eq(1), self.run.ready.eq(~writing & ~read_back.busy)]
                with m.If(self.run.valid & self.run.ready):
                    payload = self.run.payload
                    m.d.sync += [steps.eq(Mux(payload.steps > self._depth, self._depth,
                                              payload.steps)),
                                 step.eq(0), sweep.eq(0),
                                 best_sweep.eq(0),
                                 record_every.eq(payload.record_every), since_record.eq(0),
                                 energy.eq(payload.energy), best_energy.eq(payload.energy),
                                 best_state.eq(state)]
                    m.next = "STEP"
            with m.State("STEP"):
                with m.If(step == steps):
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [beta.eq(betas[step]), sweeps_left.eq(sweep_counts[step]),
                                 step.eq(step + 1)]
                    m.next = "SWEEP"
            with m.State("SWEEP"):
                with m.If(sweeps_left == 0):
                    m.next = "STEP"
                with m.Else():
                    m.d.sync += colour.eq(0)
                    m.next = "PHASE"
            with m.State("PHASE"):
                m.d.comb += phase_go.eq(1)
                m.next = "DRAIN"
            with m.State("DRAIN"):
                with m.If(all_idle):
                    with m.If(colour == colours - 1):
                        m.next = "SWEEP_END"
                    with m.Else():
                        m.d.sync += colour.eq(colour + 1)
                        m.next = "PHASE"
            with m.State("SWEEP_END"):
                m.d.sync += [sweep.eq(sweep + 1), sweeps_left.eq(sweeps_left - 1),
                             since_record.eq(since_record + 1)]
                with m.If(energy < best_energy):
                    m.d.sync += [best_energy.eq(energy), best_state.eq(state),
                                 best_sweep.eq(sweep + 1)]
                with m.If((record_every != 0) & (since_record + 1 == record_every)):
                    m.d.sync += since_record.eq(0)
                    m.next = "RECORD"
                with m.Else():
                    m.next = "SWEEP"
            with m.State("RECORD"):
                m.d.comb += [self.states.valid.eq(1),
                             self.states.payload.sweep.eq(sweep),
                             self.states.payload.energy.eq(energy),
                             self.states.payload.state.eq(state)]
                with m.If(self.states.ready):
                    m.next = "SWEEP"
        m.d.comb += [self.busy.eq(~idle | writing), self.sweep.eq(sweep),
                     self.best_sweep.eq(best_sweep)]
        return m

    def _read_back(self, m, slot_layout, quiet, edge_home, node_home, state, betas, sweeps):
        """A :class:`ReadBack` on the core's read ports; it takes reads while ``quiet`` (idle,
        no write or run offered or in flight). The caller adds the units' memory words."""
        m.submodules.read_back = read_back = ReadBack(self._config, self._topology, self._depth,
                                                      slot_layout)
        for name in image_layouts(self._config, self._topology, self._depth):
            wiring.connect(m, wiring.flipped(getattr(self, f"{name}_rd")),
                           getattr(read_back, f"{name}_rd"))
        m.d.comb += [read_back.enable.eq(quiet), read_back.edge_home.eq(edge_home),
                     read_back.node_home.eq(node_home), read_back.state.eq(state),
                     read_back.betas.eq(betas), read_back.sweeps.eq(sweeps)]
        return read_back

    def _unit(self, m, u, program, state, beta, colour, phase_go, lut, w_coupling, w_value,
              w_end, w_node_busy, w_node, w_home, read_back):
        """One update unit: program ROM, coupling/bias/LFSR memories, a 6-clock pipeline.

        Returns ``(idle, delta, words)``: the unit has nothing in flight, the energy change of
        the p-bit it wrote back the clock before (registered), and the words its coupling, bias
        and LFSR memories read at ``read_back.slot`` (by :class:`ReadBack` member name), their
        read ports lent while ``read_back.busy`` (the core is idle then).
        """
        cfg = self._config
        steps = program.steps or ((0, program.nodes[0], -1, -1, True, True),)
        depth, slots = len(steps), len(program.nodes)
        # The unit reads only its own neighbours' states and writes only its own p-bits': its
        # read multiplexer has one input per distinct neighbour (at most N, and about N on a
        # random graph such as G14 once a unit holds N/U p-bits of degree over U).
        neighbours = program.neighbours or (0,)
        neighbour_slot = {j: k for k, j in enumerate(neighbours)}
        step_layout = data.StructLayout({
            "local": unsigned(_bits(slots)), "neighbour": unsigned(_bits(len(neighbours))),
            "has_neighbour": 1, "first": 1, "last": 1})
        m.submodules[f"u{u}_program"] = program_rom = memory.Memory(
            shape=step_layout, depth=depth, attrs=_IN_BLOCK_RAM,
            init=[{"local": local, "neighbour": neighbour_slot.get(j, 0), "has_neighbour": j >= 0,
                   "first": first, "last": last}
                  for local, _, j, _, first, last in steps])
        m.submodules[f"u{u}_couplings"] = couplings = memory.Memory(
            shape=signed(cfg.coupling_bits), depth=depth, init=[])
        m.submodules[f"u{u}_biases"] = biases = memory.Memory(
            shape=signed(cfg.bias_bits), depth=slots, init=[])
        m.submodules[f"u{u}_lfsrs"] = lfsrs = memory.Memory(
            shape=unsigned(LFSR_BITS), depth=slots, init=[1] * slots)
        step_rd, j_rd, j_wr = program_rom.read_port(), couplings.read_port(), couplings.write_port()
        h_rd, h_wr = biases.read_port(), biases.write_port()
        r_rd, r_wr = lfsrs.read_port(), lfsrs.write_port()
        lut_rd = lut.read_port()

        # Loading (core idle): couplings at their slots, biases and seeds at the p-bit's slot.
        m.d.comb += [
            j_wr.addr.eq(w_end.slot), j_wr.data.eq(w_value),
            j_wr.en.eq((w_coupling[1] | w_coupling[2]) & (w_end.unit == u)),
            h_wr.addr.eq(w_home.slot), h_wr.data.eq(w_node.bias),
            h_wr.en.eq(w_node_busy & (w_home.unit == u)),
        ]

        # Fetch: one step per clock through this colour's segment.
        pc = Signal(range(depth + 1))
        end = Signal(range(depth + 1))
        with m.If(phase_go):
            starts = Array(Const(a, range(depth + 1)) for a, _ in program.segments)
            ends = Array(Const(b, range(depth + 1)) for _, b in program.segments)
            m.d.sync += [pc.eq(starts[colour]), end.eq(ends[colour])]
        issue = Signal()
        reading = read_back.busy
        m.d.comb += [issue.eq((pc != end) & ~phase_go), step_rd.addr.eq(pc),
                     j_rd.addr.eq(Mux(reading, read_back.slot, pc))]
        with m.If(issue):
            m.d.sync += pc.eq(pc + 1)

        # Stage A (3 clocks): A1 registers the program word and J the memories give; A2
        # selects the neighbour's state bit; A3 adds +-J. In one clock, the block-RAM output,
        # the neighbour multiplexer and the adder were the ULX3S default fabric's longest path.
        a1_valid = Signal()
        a2_valid, a2_j = Signal(), Signal(signed(cfg.coupling_bits))
        a2_step = Signal.like(step_rd.data)
        a3_valid, a3_up, a3_j = Signal(), Signal(), Signal(signed(cfg.coupling_bits))
        a3_step = Signal.like(step_rd.data)
        m.d.sync += [a1_valid.eq(issue), a2_valid.eq(a1_valid), a3_valid.eq(a2_valid)]
        with m.If(a1_valid):
            m.d.sync += [a2_step.eq(step_rd.data), a2_j.eq(j_rd.data)]
        # A shift (one multiplexer tree) rather than an ``Array`` (a decoder per neighbour):
        # a unit's neighbours can be most of the graph, and the decoders cost 5-10x the LUTs.
        neighbour_up = Cat(state[j] for j in neighbours).bit_select(a2_step.neighbour, 1)
        with m.If(a2_valid):
            m.d.sync += [a3_up.eq(neighbour_up), a3_j.eq(a2_j), a3_step.eq(a2_step)]
        field = signed(self.field_bits)
        acc = Signal(field)
        term = Mux(a3_step.has_neighbour, Mux(a3_up, a3_j, -a3_j), 0)
        partial = Mux(a3_step.first, 0, acc) + term
        with m.If(a3_valid):
            m.d.sync += acc.eq(partial)
        local = Mux(reading, read_back.slot, a3_step.local)
        m.d.comb += [h_rd.addr.eq(local), r_rd.addr.eq(local)]

        # Stage B (2 clocks): B1 registers I = sum + h and the LFSR word; B2 computes
        # a = sat(rshift_round(I * B, beta_frac), lut_bits), the tanh ROM's address, and the
        # leap of ``rng_bits`` LFSR steps.
        b1_valid, b1_partial = Signal(), Signal(field)
        b1_local = Signal.like(a3_step.local)
        m.d.sync += b1_valid.eq(a3_valid & a3_step.last)
        with m.If(a3_valid):
            m.d.sync += [b1_partial.eq(partial), b1_local.eq(a3_step.local)]
        b2_valid, b2_field = Signal(), Signal(field)
        b2_local = Signal.like(b1_local)
        b2_lfsr = Signal(LFSR_BITS)
        m.d.sync += b2_valid.eq(b1_valid)
        with m.If(b1_valid):
            m.d.sync += [b2_field.eq(b1_partial + h_rd.data), b2_local.eq(b1_local),
                         b2_lfsr.eq(r_rd.data)]
        argument = sat(rshift_round(b2_field * beta, cfg.beta_frac), cfg.lut_bits)
        m.d.comb += lut_rd.addr.eq(argument[: cfg.lut_bits])

        # Stage C: s = T[a] > r; write back state and LFSR; register the energy change.
        c_valid, c_field = Signal(), Signal(field)
        c_local = Signal.like(b2_local)
        c_lfsr = Signal(LFSR_BITS)
        m.d.sync += c_valid.eq(b2_valid)
        with m.If(b2_valid):  # (a load enable: the simulator then skips the leap when idle)
            m.d.sync += [c_field.eq(b2_field), c_local.eq(b2_local),
                         c_lfsr.eq(leap(b2_lfsr, cfg.rng_bits))]
        up = Signal()
        was_up = Cat(state[i] for i in program.nodes).bit_select(c_local, 1)
        m.d.comb += up.eq(lut_rd.data > c_lfsr[: cfg.rng_bits].as_signed())
        for slot, i in enumerate(program.nodes):
            with m.If(c_valid & (c_local == slot)):
                m.d.sync += state[i].eq(up)
        seed = w_node.seed
        m.d.comb += [
            r_wr.addr.eq(Mux(w_node_busy, w_home.slot, c_local)),
            r_wr.data.eq(Mux(w_node_busy, seed | (seed == 0), c_lfsr)),
            r_wr.en.eq(c_valid | (w_node_busy & (w_home.unit == u))),
        ]
        # The change is registered: the core adds it to the energy a clock later, which the
        # anneal controller reads no earlier than two clocks after the last write-back.
        delta = Signal(signed(self.field_bits + 2))
        m.d.sync += delta.eq(0)
        with m.If(c_valid & (up != was_up)):
            m.d.sync += delta.eq(Mux(up, -2 * c_field, 2 * c_field))
        idle = Signal()
        m.d.comb += idle.eq((pc == end) & ~Cat(a1_valid, a2_valid, a3_valid, b1_valid,
                                               b2_valid, c_valid).any())
        return idle, delta, {"couplings": j_rd.data, "biases": h_rd.data, "lfsrs": r_rd.data}
