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

__all__ = [
    "PBitCore", "UnitProgram", "cycles_per_sweep", "energy_bits", "stream_layouts",
    "unit_programs",
]


def _bits(n: int) -> int:
    return max(clog2(n), 1)


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

    Per colour: one clock to start the units, then the longest unit segment plus 4 clocks of
    pipeline (1 clock if no unit has a p-bit of that colour); plus 2 per sweep.
    """
    programs = unit_programs(topology, units)
    total = 2
    for c in range(topology.num_colours):
        longest = max(end - start for start, end in (p.segments[c] for p in programs))
        total += 1 + (longest + 4 if longest else 1)
    return total


def energy_bits(config: PBitConfig, topology: Topology) -> int:
    """Signed width holding any energy: ``|E| <= edges * 2**(cb-1) + N * 2**(bb-1)``."""
    bound = (len(topology.edges) * (1 << (config.coupling_bits - 1))
             + topology.n * (1 << (config.bias_bits - 1)))
    return bound.bit_length() + 1


def stream_layouts(config: PBitConfig, topology: Topology,
                   schedule_depth: int) -> dict[str, data.StructLayout]:
    """Payload layouts of the core's streams, by port name (fields least significant first)."""
    n, e, energy = topology.n, max(len(topology.edges), 1), energy_bits(config, topology)
    return {
        "coupling_wr": data.StructLayout({"edge": unsigned(_bits(e)),
                                          "value": signed(config.coupling_bits)}),
        "node_wr": data.StructLayout({"node": unsigned(_bits(n)),
                                      "bias": signed(config.bias_bits),
                                      "seed": unsigned(LFSR_BITS), "state": unsigned(1)}),
        "schedule_wr": data.StructLayout({"index": unsigned(_bits(schedule_depth)),
                                          "beta": unsigned(config.beta_bits),
                                          "sweeps": unsigned(32)}),
        "run": data.StructLayout({"steps": unsigned(schedule_depth.bit_length()),
                                  "record_every": unsigned(16), "energy": signed(energy)}),
        "states": data.StructLayout({"sweep": unsigned(32), "energy": signed(energy),
                                     "state": unsigned(n)}),
    }


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
        h, LFSR seed (0 becomes 1) and initial state of one p-bit; 2 clocks per write.
    schedule_wr : In(stream.Signature({index, beta: unsigned(beta_bits), sweeps: unsigned(32)}))
        Anneal step ``index``: ``sweeps`` sweeps at inverse-temperature code ``beta``.
    run : In(stream.Signature({steps, record_every: unsigned(16), energy: signed(E)}))
        Starts an anneal of schedule steps ``0..steps-1`` from the loaded state, whose energy
        ``energy`` the host supplies (E = :func:`energy_bits`). With ``record_every`` k > 0
        the state after every k-th sweep is sent on ``states``.
    states : Out(stream.Signature({sweep: unsigned(32), energy: signed(E), state: unsigned(N)}))
        Sampled states; the core waits (between sweeps) while ``states`` is not ready.
    state, best_state : Out(unsigned(N)); energy, best_energy : Out(signed(E))
        Current and best (lowest energy at the end of a sweep, earliest on ties) state and
        energy, tracked exactly by flip deltas.
    busy : Out(1)
        High from the ``run`` transfer to the end of the anneal, and during writes. The write
        streams are ready only while the core is idle.

    Architecture and throughput
    ---------------------------
    p-bits are dealt to the units in (colour, index) order. Each unit owns, in memories, the
    couplings of its p-bits' edges (one slot per step; each J is stored at both ends), their
    biases and LFSR states, and a program ROM of steps. Per step it adds ``+-J`` for one
    neighbour (reading that neighbour's state bit from the state register), so a p-bit
    of degree d takes ``max(d, 1)`` clocks; at its last step the field ``I`` goes through
    ``a = sat(rshift_round(I * B, beta_frac), lut_bits)``, the shared tanh ROM and a one-clock
    LFSR leap of ``rng_bits`` steps, and the state, LFSR and energy are written back 3 clocks
    later. A colour phase ends when every unit has drained (its steps + 4 clocks), so a sweep
    takes about ``sum over colours c of (max over units u of steps(u, c) + 5)`` clocks
    (exactly :meth:`cycles_per_sweep`) for N updates: about ``U / mean degree`` updates per
    clock when the colours are large against U, and never more than one per unit per clock.
    Colours and units never change the results: each p-bit owns its LFSR and updates in the
    order of DESIGN.md 3.4.
    """

    def __init__(self, config: PBitConfig, topology: Topology, *, schedule_depth: int = 16):
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
            "busy": Out(1),
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

        # --- Write path: maps from edge and node numbers to unit memories ---------------
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
            shape=slot_layout, depth=n, init=[node_home[i] for i in range(n)])
        edge_rd, node_rd = edge_map.read_port(), node_map.read_port()
        m.d.comb += [edge_rd.addr.eq(self.coupling_wr.payload.edge),
                     node_rd.addr.eq(self.node_wr.payload.node)]

        idle = Signal()
        w_value = Signal(signed(cfg.coupling_bits))
        w_slots = Signal(slot_layout.size * 2)
        w_node = Signal(self.node_wr.payload.shape())
        w_coupling = Signal(3)  # one-hot: map read, write end a, write end b
        w_node_busy = Signal()
        writing = w_coupling.any() | w_node_busy
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
            m.d.sync += [w_node_busy.eq(1), w_node.eq(self.node_wr.payload)]
        with m.If(w_node_busy):
            m.d.sync += [w_node_busy.eq(0), state.bit_select(w_node.node, 1).eq(w_node.state)]
        w_end = data.View(slot_layout, Mux(w_coupling[2], w_slots[slot_layout.size:],
                                           w_slots[: slot_layout.size]))

        betas = Array(Signal(cfg.beta_bits, name=f"beta{k}") for k in range(self._depth))
        sweep_counts = Array(Signal(32, name=f"sweeps{k}") for k in range(self._depth))
        with m.If(self.schedule_wr.valid & self.schedule_wr.ready):
            payload = self.schedule_wr.payload
            with m.If(payload.index < self._depth):
                m.d.sync += [betas[payload.index].eq(payload.beta),
                             sweep_counts[payload.index].eq(payload.sweeps)]

        # --- Update units -----------------------------------------------------------------
        phase_go = Signal()       # pulse: every unit starts colour ``colour``
        units_idle = []
        deltas = []
        for u, program in enumerate(programs):
            unit_idle, delta = self._unit(m, u, program, state, beta, colour, phase_go, lut,
                                          w_coupling, w_value, w_end, w_node_busy, w_node,
                                          node_rd.data)
            units_idle.append(unit_idle)
            deltas.append(delta)
        all_idle = Signal()
        m.d.comb += all_idle.eq(Cat(*units_idle).all())
        m.d.sync += energy.eq(energy + tree_sum(deltas))

        # --- Anneal controller ------------------------------------------------------------
        step = Signal(range(self._depth + 1))
        steps = Signal(range(self._depth + 1))
        sweeps_left = Signal(32)
        sweep = Signal(32)
        record_every = Signal(16)
        since_record = Signal(16)
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [idle.eq(1), self.run.ready.eq(~writing)]
                with m.If(self.run.valid & ~writing):
                    payload = self.run.payload
                    m.d.sync += [steps.eq(payload.steps), step.eq(0), sweep.eq(0),
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
                    m.d.sync += [best_energy.eq(energy), best_state.eq(state)]
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
        m.d.comb += self.busy.eq(~idle | writing)
        return m

    def _unit(self, m, u, program, state, beta, colour, phase_go, lut, w_coupling, w_value,
              w_end, w_node_busy, w_node, w_home):
        """One update unit: program ROM, coupling/bias/LFSR memories, a 3-stage pipeline.

        Returns ``(idle, delta)``: the unit has nothing in flight, and this clock's energy
        change of the p-bit it writes back.
        """
        cfg = self._config
        steps = program.steps or ((0, program.nodes[0], -1, -1, True, True),)
        depth, slots = len(steps), len(program.nodes)
        # The unit reads only its own neighbours' states and writes only its own p-bits', so
        # the state register's muxes grow with the edges, not with U x N.
        neighbours = program.neighbours or (0,)
        neighbour_slot = {j: k for k, j in enumerate(neighbours)}
        step_layout = data.StructLayout({
            "local": unsigned(_bits(slots)), "neighbour": unsigned(_bits(len(neighbours))),
            "has_neighbour": 1, "first": 1, "last": 1})
        m.submodules[f"u{u}_program"] = program_rom = memory.Memory(
            shape=step_layout, depth=depth,
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
        m.d.comb += [issue.eq((pc != end) & ~phase_go), step_rd.addr.eq(pc), j_rd.addr.eq(pc)]
        with m.If(issue):
            m.d.sync += pc.eq(pc + 1)

        # Stage A: add +-J of one neighbour; at the p-bit's last step read its bias and LFSR.
        field = signed(self.field_bits)
        a_valid, acc = Signal(), Signal(field)
        step = step_rd.data
        neighbour_up = Array(state[j] for j in neighbours)[step.neighbour]
        term = Mux(step.has_neighbour, Mux(neighbour_up, j_rd.data, -j_rd.data), 0)
        partial = Mux(step.first, 0, acc) + term
        m.d.sync += a_valid.eq(issue)
        with m.If(a_valid):
            m.d.sync += acc.eq(partial)
        m.d.comb += [h_rd.addr.eq(step.local), r_rd.addr.eq(step.local)]

        # Stage B: I = sum + h; a = sat(rshift_round(I * B, beta_frac), lut_bits); leap.
        b_valid, b_partial = Signal(), Signal(field)
        b_local = Signal.like(step.local)
        m.d.sync += [b_valid.eq(a_valid & step.last), b_partial.eq(partial),
                     b_local.eq(step.local)]
        local_field = Signal(field)
        m.d.comb += local_field.eq(b_partial + h_rd.data)
        argument = sat(rshift_round(local_field * beta, cfg.beta_frac), cfg.lut_bits)
        m.d.comb += lut_rd.addr.eq(argument[: cfg.lut_bits])
        leaped = leap(r_rd.data, cfg.rng_bits)

        # Stage C: s = T[a] > r; write back state, LFSR and the energy change.
        c_valid, c_field = Signal(), Signal(field)
        c_local = Signal.like(b_local)
        c_lfsr, c_sample = Signal(LFSR_BITS), Signal(signed(cfg.rng_bits))
        m.d.sync += [c_valid.eq(b_valid), c_field.eq(local_field), c_local.eq(b_local),
                     c_lfsr.eq(leaped), c_sample.eq(leaped[: cfg.rng_bits].as_signed())]
        up = Signal()
        was_up = Array(state[i] for i in program.nodes)[c_local]
        m.d.comb += up.eq(lut_rd.data > c_sample)
        for slot, i in enumerate(program.nodes):
            with m.If(c_valid & (c_local == slot)):
                m.d.sync += state[i].eq(up)
        seed = w_node.seed
        m.d.comb += [
            r_wr.addr.eq(Mux(w_node_busy, w_home.slot, c_local)),
            r_wr.data.eq(Mux(w_node_busy, seed | (seed == 0), c_lfsr)),
            r_wr.en.eq(c_valid | (w_node_busy & (w_home.unit == u))),
        ]
        delta = Signal(signed(self.field_bits + 2))
        with m.If(c_valid & (up != was_up)):
            m.d.comb += delta.eq(Mux(up, -2 * c_field, 2 * c_field))
        idle = Signal()
        m.d.comb += idle.eq((pc == end) & ~a_valid & ~b_valid & ~c_valid)
        return idle, delta
