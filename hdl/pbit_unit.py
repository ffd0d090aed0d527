"""One update unit of the p-bit core (DESIGN.md 3.4) and the programs that deal p-bits to units.

:func:`unit_programs` splits the p-bits of a :class:`~spinemu.config.Topology` over the units;
an :class:`UpdateUnit` runs one :class:`UnitProgram` colour phase by colour phase. The core
(:class:`~spinemu.hdl.pbit.PBitCore`) keeps the state register every unit reads and applies
each unit's write-backs to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import PBitConfig, Topology
from spinemu.numeric import LFSR_BITS, clog2

from .activation import ACTIVATION_LATENCY, Activation
from .arith import mux_tree, tree_sum

__all__ = ["DRAIN_CLOCKS", "LFSRS_IN_LOGIC", "NEIGHBOUR_READ", "PHASE_GAP", "UPDATE_LATENCY",
           "Step", "UnitProgram", "UpdateUnit", "unit_programs"]


def _bits(n: int) -> int:
    return max(clog2(n), 1)


#: Attributes of the ROMs (unit programs, node map) that must not become logic. yosys
#: (``memory_libmap``) prices a ROM in logic lower than block RAM up to some thousand bits and
#: so made each unit's program ROM a tree of multiplexers: on ECP5, a 100-node graph at U = 8
#: took some 9,000 ``$_MUX_`` cells that way. ``rom_style = "block"`` puts them in block RAM.
_IN_BLOCK_RAM = {"rom_style": "block"}


class Step(NamedTuple):
    """One step of a unit: p-bit ``node`` (local slot ``local``) adds the couplings of
    ``links``, one ``(neighbour, edge)`` per lane (``(-1, -1)``: the lane adds nothing);
    ``first`` and ``last`` mark the p-bit's first and last step."""

    local: int
    node: int
    links: tuple[tuple[int, int], ...]
    first: bool
    last: bool


@dataclass(frozen=True)
class UnitProgram:
    """What one update unit does, fixed at generation.

    ``nodes`` are the unit's p-bits (global indices; local slot = position). ``steps`` list, for
    every colour in order and every p-bit of the unit in that colour, ``max(ceil(d / lanes),
    1)`` :class:`Step` s for a p-bit of degree d, its neighbours dealt to the lanes in order.
    ``segments[c]`` is the ``[start, end)`` of colour c's steps. A coupling lives at slot
    ``step << lane_bits | lane`` of the unit (:meth:`slot`).
    """

    nodes: tuple[int, ...]
    steps: tuple[Step, ...]
    segments: tuple[tuple[int, int], ...]
    lanes: int = 1

    @cached_property
    def lane_sources(self) -> tuple[tuple[int, ...], ...]:
        """Per lane, the p-bits it reads in first-use order: its neighbour multiplexer."""
        return tuple(tuple(dict.fromkeys(step.links[lane][0] for step in self.steps
                                         if step.links[lane][0] >= 0))
                     for lane in range(self.lanes))

    @property
    def by_step(self) -> bool:
        """Whether a lane picks its neighbour's bit by step index (a multiplexer over the S
        steps, no ROM field) rather than by a ROM field indexing its sources: true while S is
        at most twice the most sources a lane has (shallow programs, many units and lanes)."""
        return len(self.steps) <= 2 * max((len(s) for s in self.lane_sources), default=0)

    @property
    def sources(self) -> tuple[int, ...]:
        """Lane 0's sources, then lane 1's, ...: the order of ``neighbour_states``."""
        return tuple(j for lane in self.lane_sources for j in lane)

    @property
    def max_degree(self) -> int:
        """The largest number of neighbours of one of the unit's p-bits."""
        return max(Counter(step.local for step in self.steps for j, _ in step.links
                           if j >= 0).values(), default=0)

    @property
    def lane_bits(self) -> int:
        return clog2(self.lanes)

    @property
    def slot_bits(self) -> int:
        """Width of a coupling slot (also enough for a local p-bit slot)."""
        return max(_bits(max(len(self.steps), 1)) + self.lane_bits, _bits(len(self.nodes)))

    def slot(self, step: int, lane: int) -> int:
        return step << self.lane_bits | lane

    def coupling_slots(self):
        """``(slot, node, neighbour, edge)`` of every coupling the unit holds."""
        for k, step in enumerate(self.steps):
            for lane, (j, e) in enumerate(step.links):
                if e >= 0:
                    yield self.slot(k, lane), step.node, j, e


def unit_programs(topology: Topology, units: int, lanes: int = 1) -> list[UnitProgram]:
    """Split the p-bits over ``units`` update units of ``lanes`` lanes.

    Colour by colour, p-bits in order of decreasing steps (then index) go each to the unit
    with the fewest steps of that colour so far (ties: the fewest p-bits, then the lowest
    index; longest processing time first), so a colour's longest segment is short and every
    unit gets a p-bit while ``units <= n``. A p-bit's neighbours fill its steps ``lanes`` at a
    time, those of the colour updated longest before its own first and those of the colour just
    before it last (then in edge order): the next colour can start before this one's last
    write-backs have landed (:func:`~spinemu.hdl.pbit.phase_clocks`)."""
    colours, count = topology.colours, topology.num_colours
    neighbours = [[] for _ in range(topology.n)]
    for e, (i, j) in enumerate(topology.edges):
        neighbours[i].append((j, e))
        neighbours[j].append((i, e))
    for i, links in enumerate(neighbours):
        links.sort(key=lambda link: -((colours[i] - colours[link[0]]) % count))
    steps_of = [max(-(-len(links) // lanes), 1) for links in neighbours]
    owned = [[] for _ in range(units)]
    for colour in range(count):
        load = [0] * units
        for i in sorted((i for i in range(topology.n) if colours[i] == colour),
                        key=lambda i: (-steps_of[i], i)):
            u = min(range(units), key=lambda u: (load[u], len(owned[u]), u))
            owned[u].append(i)
            load[u] += steps_of[i]
    programs = []
    for nodes in owned:
        local = {i: slot for slot, i in enumerate(nodes)}
        steps, segments = [], []
        for colour in range(count):
            start = len(steps)
            for i in (i for i in nodes if colours[i] == colour):
                links = neighbours[i]
                chunks = [links[k:k + lanes] for k in range(0, len(links), lanes)] or [[]]
                for k, chunk in enumerate(chunks):
                    padded = tuple(chunk) + ((-1, -1),) * (lanes - len(chunk))
                    steps.append(Step(local[i], i, padded, k == 0, k == len(chunks) - 1))
            segments.append((start, len(steps)))
        programs.append(UnitProgram(tuple(nodes), tuple(steps), tuple(segments), lanes))
    return programs


#: Program ROMs of at most this many steps are left to the tools (logic or distributed RAM);
#: deeper ones go to block RAM (``_IN_BLOCK_RAM``).
ROM_IN_LOGIC = 64

#: A unit of more than this many p-bits keeps their LFSR words in block RAM: in distributed RAM
#: (ECP5 ``TRELLIS_DPR16X4``, 16 words of 4 bits in 6 LUTs' room) 24 words of 32 bits took 16
#: of them, about 100 LUTs, a sixth of a G48 unit; one ``DP16KD`` holds 512 words.
LFSRS_IN_LOGIC = 16

#: Clocks from a p-bit's last step being fetched to its write-back (stages A1-A3, B1-B3, C, D).
UPDATE_LATENCY = 3 + ACTIVATION_LATENCY

#: Clocks a unit takes past a segment of L > 0 steps to be idle again: ``L + DRAIN_CLOCKS``.
DRAIN_CLOCKS = UPDATE_LATENCY + 1

#: Clocks from a step's fetch to the read of its neighbours' state bits (stage A2).
NEIGHBOUR_READ = 2

#: Clocks from a colour's last fetch to the ``phase_go`` of the next colour in the worst case,
#: where the next colour's first step reads the p-bit fetched last: it reads ``1 +
#: NEIGHBOUR_READ`` clocks after that ``phase_go``, the clock after that p-bit's write-back
#: (``UPDATE_LATENCY`` after its last fetch). A colour phase of L steps lasts at most ``L +
#: PHASE_GAP`` clocks (6 + L); :func:`~spinemu.hdl.pbit.phase_clocks` finds the least each
#: colour's reads allow.
PHASE_GAP = UPDATE_LATENCY - NEIGHBOUR_READ


class UpdateUnit(wiring.Component):
    """One update unit: program ROM, coupling/bias/LFSR memories and an 8-clock update pipeline.

    Parameters
    ----------
    config : PBitConfig
        Number formats.
    program : UnitProgram
        The unit's p-bits (at least one) and steps (:func:`unit_programs`); K = its number of
        colours (``len(program.segments)``), S = its steps, P = its p-bits. Below,
        ``bits(x) = max(ceil(log2 x), 1)``.
    field_bits : int
        Signed width of the field ``I``, at least ``config.field_bits(program.max_degree)`` (the
        core passes the whole graph's).

    Members
    -------
    phase_go : In(1)
        Pulse: start colour ``colour``'s segment of the program; ``colour`` is read then.
    colour : In(range(max(K, 2)))
    beta : In(unsigned(beta_bits))
        Inverse-temperature code ``B``; held while the unit is busy.
    neighbour_states : In(unsigned(len(program.sources)))
        The state bits of ``program.sources`` (every lane's sources, lane 0 first), in that
        order, read :data:`NEIGHBOUR_READ` (2) clocks after each step's fetch (``m`` at the
        phase start: no edge lies inside a colour, and the core starts a colour no earlier than
        every step's reads allow (:func:`~spinemu.hdl.pbit.phase_clocks`), so the write-backs
        they need have landed). ``phase_go`` may come while the previous segment is still in
        the pipeline, the clock after its last step is fetched at the earliest.
    node_states : In(unsigned(P))
        The state bits of ``program.nodes`` (bit = local slot): the old state of a flip.
    coupling_wr : In(Signature({en: 1, slot: unsigned(program.slot_bits),
        value: signed(coupling_bits)}))
        Writes J into coupling slot ``slot`` (``step << lane_bits | lane`` of that edge end,
        :meth:`UnitProgram.slot`): the step's word (its K couplings) is read on the clock ``en``
        is high and written back with J the next, so writes to one step come 2 clocks apart at
        the least (the core's write path writes a step once per 4 clocks).
    node_wr : In(Signature({en: 1, slot: unsigned(bits(P)), bias: signed(bias_bits),
        seed: unsigned(32)}))
        Writes a p-bit's bias and LFSR seed (0 becomes 1) at local slot ``slot``. Only while the
        unit is idle.
    read : In(Signature({busy: 1, slot: unsigned(program.slot_bits),
        coupling: Out(signed(coupling_bits)),
        bias: Out(signed(bias_bits)), lfsr: Out(unsigned(32))}))
        Read-back, only while the unit is idle: while ``busy`` the memories are addressed by
        ``slot`` (coupling slot, and the bias and LFSR of local slot ``slot``); their words are
        on ``coupling``, ``bias``, ``lfsr`` one clock later.
    lut_addr : Out(unsigned(lut_bits)); lut_data : In(signed(rng_bits))
        A read port of a tanh ROM the core holds (synchronous: ``lut_data`` is ``T[lut_addr]`` one
        clock after ``lut_addr``).
    write_back : Out(Signature({valid: 1, slot: unsigned(bits(P)), up: 1}))
        While ``valid``: the p-bit at local slot ``slot`` takes the state ``up``. The owner of
        the state register applies it at that clock edge.
    delta : Out(signed(field_bits + 2))
        Energy change of the write-back of the clock before, ``-(m_new - m_old) * I`` (0 when
        there was none): registered.
    idle : Out(1)
        Nothing fetched or in flight.

    Latency and throughput
    ----------------------
    One step per clock: the clock after ``phase_go`` the unit fetches the colour's first step.
    A step adds ``+-J`` of up to ``lanes`` (K) neighbours (A1 registers the program word and
    the K couplings, A2 each lane's neighbour state bit, A3 adds the K terms through a
    balanced adder tree to the sum so far), so a p-bit of degree d takes ``max(ceil(d / K),
    1)`` steps; a p-bit's last step hands the sum to an
    :class:`~spinemu.hdl.activation.Activation` (B1 registers it, B2 ``I = sum + h`` and the
    LFSR word, B3 the product ``I * B`` and the leap of ``rng_bits`` LFSR steps and gives the ROM
    address ``a = sat(rshift_round(I * B, beta_frac), lut_bits)``, C registers the ROM word
    ``T[a]`` and D compares ``T[a] > r``; the multiplier, the rounding and the route to a ROM
    shared by every unit, then the ROM output and the compare, were each the ULX3S default
    fabric's longest path in one clock): ``write_back`` is valid
    :data:`UPDATE_LATENCY` (8) clocks after the step is fetched, ``delta`` one clock later. A
    segment of L > 0 steps started by ``phase_go`` at clock t is idle again at clock
    t + L + :data:`DRAIN_CLOCKS` (t + L + 9; t + 1 for L = 0).
    Each register breaks a path that was one of the ULX3S default fabric's longest.
    """

    def __init__(self, config: PBitConfig, program: UnitProgram, *, field_bits: int):
        if not isinstance(config, PBitConfig):
            raise TypeError(f"config must be a PBitConfig, not {type(config).__name__}")
        if not isinstance(program, UnitProgram):
            raise TypeError(f"program must be a UnitProgram, not {type(program).__name__}")
        if not program.nodes:
            raise ValueError("program.nodes is empty; a unit needs at least one p-bit")
        least = config.field_bits(max(program.max_degree, 1))
        if field_bits < least:
            raise ValueError(f"field_bits = {field_bits} is out of range; allowed >= {least} "
                             f"(config.field_bits of the program's largest degree)")
        self._config, self._program, self._field_bits = config, program, field_bits
        slot = unsigned(program.slot_bits)
        node_slot = unsigned(_bits(len(program.nodes)))
        super().__init__({
            "phase_go": In(1),
            "colour": In(range(max(len(program.segments), 2))),
            "beta": In(unsigned(config.beta_bits)),
            "neighbour_states": In(unsigned(len(program.sources))),
            "node_states": In(unsigned(len(program.nodes))),
            "coupling_wr": In(wiring.Signature({
                "en": Out(1), "slot": Out(slot), "value": Out(signed(config.coupling_bits))})),
            "node_wr": In(wiring.Signature({
                "en": Out(1), "slot": Out(node_slot), "bias": Out(signed(config.bias_bits)),
                "seed": Out(unsigned(LFSR_BITS))})),
            "read": In(wiring.Signature({
                "busy": Out(1), "slot": Out(slot),
                "coupling": In(signed(config.coupling_bits)),
                "bias": In(signed(config.bias_bits)), "lfsr": In(unsigned(LFSR_BITS))})),
            "lut_addr": Out(unsigned(config.lut_bits)),
            "lut_data": In(signed(config.rng_bits)),
            "write_back": Out(wiring.Signature({
                "valid": Out(1), "slot": Out(node_slot), "up": Out(1)})),
            "delta": Out(signed(field_bits + 2)),
            "idle": Out(1),
        })

    @property
    def config(self) -> PBitConfig:
        return self._config

    @property
    def program(self) -> UnitProgram:
        return self._program

    @property
    def field_bits(self) -> int:
        return self._field_bits

    def _program_rom(self) -> memory.Memory:
        """The steps as ROM words: local slot, first and last, and unless the program picks
        neighbours by step (:attr:`UnitProgram.by_step`) each lane's source (an index into that
        lane's part of ``neighbour_states``). A lane without a neighbour at a step adds its
        coupling slot, which no write reaches: 0. Block RAM for a deep ROM (more than
        :data:`ROM_IN_LOGIC` steps), the tools' choice otherwise."""
        program, lanes = self._program, self._program.lanes
        steps = program.steps or (Step(0, program.nodes[0], ((-1, -1),) * lanes, True, True),)
        sources = [{j: k for k, j in enumerate(lane)} for lane in program.lane_sources]
        widest = max(len(s) for s in sources)
        fields = {"local": unsigned(_bits(len(program.nodes))), "first": 1, "last": 1}
        if not program.by_step:
            fields["source"] = data.ArrayLayout(unsigned(_bits(max(widest, 1))), lanes)
        words = [{"local": step.local, "first": step.first, "last": step.last,
                  **({} if program.by_step else {"source": [
                      sources[k].get(j, 0) for k, (j, _) in enumerate(step.links)]})}
                 for step in steps]
        return memory.Memory(shape=data.StructLayout(fields), depth=len(steps), init=words,
                             attrs=_IN_BLOCK_RAM if len(steps) > ROM_IN_LOGIC else {})

    def elaborate(self, platform):
        cfg, program = self._config, self._program
        depth, slots = max(len(program.steps), 1), len(program.nodes)
        m = Module()
        m.submodules.program = program_rom = self._program_rom()
        m.submodules.biases = biases = memory.Memory(
            shape=signed(cfg.bias_bits), depth=slots, init=[])
        m.submodules.lfsrs = lfsrs = memory.Memory(
            shape=unsigned(LFSR_BITS), depth=slots, init=[1] * slots,
            attrs={"ram_style": "block"} if slots > LFSRS_IN_LOGIC else {})
        step_rd = program_rom.read_port()
        h_rd, h_wr = biases.read_port(), biases.write_port()
        r_rd, r_wr = lfsrs.read_port(), lfsrs.write_port()
        reading = self.read.busy
        m.d.comb += [
            h_wr.addr.eq(self.node_wr.slot), h_wr.data.eq(self.node_wr.bias),
            h_wr.en.eq(self.node_wr.en),
            self.read.bias.eq(h_rd.data), self.read.lfsr.eq(r_rd.data),
        ]

        # Fetch: one step per clock through this colour's segment.
        pc = Signal(range(depth + 1))
        end = Signal(range(depth + 1))
        with m.If(self.phase_go):
            starts = Array(Const(a, range(depth + 1)) for a, _ in program.segments)
            ends = Array(Const(b, range(depth + 1)) for _, b in program.segments)
            m.d.sync += [pc.eq(starts[self.colour]), end.eq(ends[self.colour])]
        issue = Signal()
        m.d.comb += [issue.eq((pc != end) & ~self.phase_go), step_rd.addr.eq(pc)]
        with m.If(issue):
            m.d.sync += pc.eq(pc + 1)

        couplings = self._couplings(m, reading, pc)
        a_valids, a3_step, partial = self._accumulate(m, issue, pc, step_rd.data, couplings)
        m.d.comb += [h_rd.addr.eq(Mux(reading, self.read.slot, a3_step.local)),
                     r_rd.addr.eq(Mux(reading, self.read.slot, a3_step.local))]
        m.submodules.activation = act = Activation(
            cfg, field_bits=self._field_bits, tag_bits=len(self.write_back.slot))
        m.d.comb += [
            act.start.valid.eq(a_valids[-1] & a3_step.last), act.start.tag.eq(a3_step.local),
            act.start.sum.eq(partial), act.h.eq(h_rd.data), act.lfsr.eq(r_rd.data),
            act.beta.eq(self.beta),
            self.lut_addr.eq(act.lut_addr), act.lut_data.eq(self.lut_data),
            act.old.eq(mux_tree(self.node_states, act.write_back.tag)),
            self.write_back.valid.eq(act.write_back.valid),
            self.write_back.slot.eq(act.write_back.tag),
            self.write_back.up.eq(act.write_back.up), self.delta.eq(act.delta),
        ]
        # Stage D writes the LFSR back (a node write, only while idle, takes the port).
        loading, seed = self.node_wr.en, self.node_wr.seed
        m.d.comb += [
            r_wr.addr.eq(Mux(loading, self.node_wr.slot, act.write_back.tag)),
            r_wr.data.eq(Mux(loading, seed | (seed == 0), act.write_back.lfsr)),
            r_wr.en.eq(act.write_back.valid | loading),
        ]
        m.d.comb += self.idle.eq((pc == end) & ~Cat(*a_valids).any() & ~act.busy)
        return m

    def _couplings(self, m, reading, pc) -> list:
        """One coupling memory of depth S whose word holds a step's K couplings (lane k at
        element k): read at ``pc``, or while ``reading`` at ``read.slot``'s step (whose lane is
        on ``read.coupling`` a clock later). ``coupling_wr`` reads its slot's word on the clock
        ``en`` is high and writes it back with the lane replaced the next clock: two writes to
        one step word must be 2 clocks apart (the core's write path writes a step once per
        coupling write, its two ends in different steps). Returns the lanes' words (a clock
        after their address)."""
        cfg, program = self._config, self._program
        depth, shift = max(len(program.steps), 1), program.lane_bits
        wr, rd = self.coupling_wr, self.read
        m.submodules.couplings = mem = memory.Memory(
            shape=data.ArrayLayout(signed(cfg.coupling_bits), program.lanes), depth=depth,
            init=[])
        w, r = mem.write_port(), mem.read_port()
        m.d.comb += r.addr.eq(Mux(wr.en, wr.slot >> shift, Mux(reading, rd.slot >> shift, pc)))
        lane, value = Signal(max(shift, 1)), Signal.like(wr.value)
        m.d.sync += w.en.eq(wr.en)
        with m.If(wr.en):
            m.d.sync += [w.addr.eq(wr.slot >> shift), lane.eq(wr.slot[:shift] if shift else 0),
                         value.eq(wr.value)]
        for k in range(program.lanes):
            m.d.comb += w.data[k].eq(Mux(lane == k, value, r.data[k]))
        read_lane = Signal(max(shift, 1))
        if shift:
            m.d.sync += read_lane.eq(rd.slot[:shift])
        m.d.comb += rd.coupling.eq(r.data[read_lane])
        return [r.data[k] for k in range(program.lanes)]

    def _accumulate(self, m, issue, pc, step, words):
        """Stage A (3 clocks) on step ``pc`` fetched while ``issue`` (program word ``step`` and
        the lanes' couplings ``words`` from the memory a clock later): A1 registers them, A2
        selects each lane's neighbour state bit (:meth:`_neighbour_bits`), A3 adds the lanes'
        ``+-J`` (a balanced adder tree) to the sum so far. In one clock, the block-RAM output,
        the neighbour multiplexer and the adder were the ULX3S default fabric's longest path.

        Returns ``(valids, a3_step, partial)``: the valids of A1 to A3, A3's step, and the sum
        so far including A3's terms (combinational)."""
        cfg, program = self._config, self._program
        lanes, j_shape = program.lanes, signed(cfg.coupling_bits)
        a1_valid, a1_index = Signal(), Signal.like(pc)
        a2_valid, a2_step, a2_index = Signal(), Signal.like(step), Signal.like(pc)
        a2_js = [Signal(j_shape, name=f"a2_j{k}") for k in range(lanes)]
        a3_valid, a3_step, a3_up = Signal(), Signal.like(step), Signal(lanes)
        a3_js = [Signal(j_shape, name=f"a3_j{k}") for k in range(lanes)]
        m.d.sync += [a1_valid.eq(issue), a2_valid.eq(a1_valid), a3_valid.eq(a2_valid)]
        with m.If(issue):
            m.d.sync += a1_index.eq(pc)
        with m.If(a1_valid):
            m.d.sync += [a2_step.eq(step), a2_index.eq(a1_index),
                         *(a.eq(j) for a, j in zip(a2_js, words, strict=True))]
        with m.If(a2_valid):
            m.d.sync += [a3_up.eq(Cat(*self._neighbour_bits(a2_step, a2_index))),
                         a3_step.eq(a2_step),
                         *(a.eq(j) for a, j in zip(a3_js, a2_js, strict=True))]
        acc = Signal(signed(self._field_bits))
        terms = [Mux(a3_up[k], j, -j) for k, j in enumerate(a3_js)]   # (J = 0: no neighbour)
        partial = Mux(a3_step.first, 0, acc) + tree_sum(terms)
        with m.If(a3_valid):
            m.d.sync += acc.eq(partial)
        return (a1_valid, a2_valid, a3_valid), a3_step, partial

    def _neighbour_bits(self, step, index) -> list:
        """Per lane, the state bit of its neighbour at the step in A2 (program word ``step``,
        step ``index``): a multiplexer tree (:func:`~spinemu.hdl.arith.mux_tree`) over the
        lane's part of ``neighbour_states`` selected by the ROM's source field, or with
        :attr:`UnitProgram.by_step` over the S steps' bits (a constant 0 where the lane has no
        neighbour) selected by the step. Trees rather than ``Array`` s (a decoder per input): a
        lane's sources can be most of the graph, and the decoders cost 5-10x the LUTs."""
        program, bits, offset = self._program, [], 0
        for lane, sources in enumerate(program.lane_sources):
            mine = self.neighbour_states[offset:offset + len(sources)]
            offset += len(sources)
            if not sources:
                bits.append(Const(0, 1))
            elif program.by_step:
                where = {j: k for k, j in enumerate(sources)}
                bits.append(mux_tree([mine[where[s.links[lane][0]]] if s.links[lane][0] >= 0
                                      else Const(0, 1) for s in program.steps], index))
            else:
                bits.append(mux_tree(mine, step.source[lane]))
        return bits
