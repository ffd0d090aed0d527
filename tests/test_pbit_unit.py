# amaranth: UnusedElaboratable=no
"""The parts of the p-bit core alone, in amaranth.sim (DESIGN 3.4).

An :class:`UpdateUnit` on small random graphs, driven directly, against the golden update of
each of its p-bits (:func:`spinemu.sim.golden.spec.pbit_run` of that p-bit alone, its field as
its bias); the :class:`AnnealController`'s phases, sweeps, records and best state clock for clock
against the timing its docstring gives; the :class:`WritePath`'s unit writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest
from amaranth.hdl import Module, signed
from amaranth.lib import memory
from amaranth.sim import Simulator

from spinemu.config import PBitConfig, Topology
from spinemu.hdl.pbit import AnnealController, WritePath, energy_bits
from spinemu.hdl.pbit_unit import (
    DRAIN_CLOCKS,
    UPDATE_LATENCY,
    UnitProgram,
    UpdateUnit,
    unit_programs,
)
from spinemu.numeric import derive_seeds, signed_range, tanh_table, unsigned_range
from spinemu.sim.golden import spec
from spinemu.sim.golden.pbit import dense_couplings, energy, fields
from spinemu.sim.testbench import random_pause, stream_put

from cases import random_topology


def run(dut, *benches, background=(), clocks: int = 20_000):
    """Simulate until ``benches`` end; fail if they run for more than ``clocks``."""
    async def watchdog(ctx):
        count = 0
        async for _ in ctx.tick():
            count += 1
            assert count < clocks, f"the testbench did not end in {clocks} clocks"

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for bench in (*background, watchdog):
        sim.add_testbench(bench, background=True)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()


def random_config(rng, units: int) -> PBitConfig:
    """Every format field over its whole range."""
    lut_bits = int(rng.integers(2, 15))
    return PBitConfig(
        coupling_bits=int(rng.integers(2, 17)), bias_bits=int(rng.integers(2, 25)),
        beta_bits=int(rng.integers(1, 17)), beta_frac=int(rng.integers(0, 25)),
        lut_bits=lut_bits, lut_frac=int(rng.integers(0, 17)),
        rng_bits=int(rng.choice([2, int(rng.integers(2, 33)), 14, 32])), update_units=units)


# --- UpdateUnit -------------------------------------------------------------------------------

@dataclass
class UnitCase:
    seed: int
    config: PBitConfig
    topology: Topology
    program: UnitProgram
    J: np.ndarray
    h: np.ndarray
    seeds: np.ndarray
    state: np.ndarray
    codes: list[int]

    def __repr__(self) -> str:
        return (f"UnitCase(seed={self.seed}, config={self.config}, topology={self.topology}, "
                f"unit of {self.program.nodes})")


def unit_case(seed: int) -> UnitCase:
    """One unit of a random core (every fourth seed the only unit; every third one lane, the
    others 1 up to the largest degree); couplings, biases and codes
    over their whole ranges (B = 0 and the largest code included; odd seeds small couplings and
    biases and one small code, so that activations are not all saturated), one LFSR seed 0."""
    rng = np.random.default_rng(seed)
    topology = random_topology(rng, int(rng.integers(1, 11)), float(rng.random()))
    units = 1 if seed % 4 == 0 else int(rng.integers(1, topology.n + 1))
    lanes = 1 if seed % 3 == 0 else int(rng.integers(1, max(topology.max_degree, 1) + 1))
    config = PBitConfig(**{**random_config(rng, units).to_dict(), "update_lanes": lanes})
    program = unit_programs(topology, units, lanes)[int(rng.integers(units))]
    J = rng.integers(*signed_range(config.coupling_bits), size=len(topology.edges), endpoint=True)
    h = rng.integers(*signed_range(config.bias_bits), size=topology.n, endpoint=True)
    seeds = derive_seeds(seed, topology.n)
    seeds[rng.integers(topology.n)] = 0
    if seed % 2:  # small values, where the activation is not saturated
        J, h = J >> (config.coupling_bits // 2), h >> (config.bias_bits // 2)
    state = rng.integers(0, 2, size=topology.n)
    hi = unsigned_range(config.beta_bits)[1]
    codes = [int(rng.integers(0, hi + 1)), 0, hi, int(rng.integers(0, (hi >> 3) + 1))]
    return UnitCase(seed, config, topology, program, J, h, seeds, state, codes)


def golden_update(config: PBitConfig, field: int, code: int, lfsr: int, old: int):
    """The update of one p-bit with field ``field``, by the specification: ``spec.pbit_run`` of
    that p-bit alone with ``field`` as its bias. Returns ``(new state, new LFSR state)``."""
    alone = spec.pbit_run(config, Topology(1, (), (0,)), [], [field], [(code, 1)], [[lfsr]],
                          [[old]])
    return int(alone.states[0, 0]), int(alone.lfsr[0, 0])


def unit_with_rom(config: PBitConfig, program: UnitProgram, field_bits: int):
    """An :class:`UpdateUnit` with a tanh ROM read port on its ``lut_addr`` / ``lut_data``."""
    m = Module()
    m.submodules.unit = unit = UpdateUnit(config, program, field_bits=field_bits)
    table = tanh_table(config.lut_bits, config.lut_frac, config.rng_bits)
    m.submodules.lut = lut = memory.Memory(shape=signed(config.rng_bits), depth=len(table),
                                            init=[int(v) for v in table])
    port = lut.read_port()
    m.d.comb += [port.addr.eq(unit.lut_addr), unit.lut_data.eq(port.data)]
    return m, unit


def bits(state, nodes) -> int:
    return sum(int(state[i]) << k for k, i in enumerate(nodes))


@pytest.mark.parametrize("seed", range(24))
def test_update_unit_equals_golden_updates(seed):
    """Four sweeps (at a random code, 0, the largest, a small one) of every colour phase: each
    write-back (slot, state, clock) and energy change equal the golden update of that p-bit from
    the phase-start states; the LFSR states read back after them equal the golden ones."""
    case = unit_case(seed)
    config, topology, program = case.config, case.topology, case.program
    dense = dense_couplings(topology, case.J)
    dut, unit = unit_with_rom(config, program, config.field_bits(max(topology.max_degree, 1)))
    rng = np.random.default_rng(seed + 1)
    state = case.state.copy()
    lfsr = {i: int(case.seeds[i]) or 1 for i in program.nodes}
    got, expected = [], []

    def show(ctx):
        ctx.set(unit.neighbour_states, bits(state, program.sources))
        ctx.set(unit.node_states, bits(state, program.nodes))

    async def bench(ctx):
        for slot, _, _, e in program.coupling_slots():   # (read-modify-write: 2 clocks each)
            ctx.set(unit.coupling_wr.en, 1)
            ctx.set(unit.coupling_wr.slot, slot)
            ctx.set(unit.coupling_wr.value, int(case.J[e]))
            await ctx.tick()
            ctx.set(unit.coupling_wr.en, 0)
            await ctx.tick()
        ctx.set(unit.node_wr.en, 1)
        for slot, i in enumerate(program.nodes):
            ctx.set(unit.node_wr.slot, slot)
            ctx.set(unit.node_wr.bias, int(case.h[i]))
            ctx.set(unit.node_wr.seed, int(case.seeds[i]))
            await ctx.tick()
        ctx.set(unit.node_wr.en, 0)
        for sweep, code in enumerate(case.codes):
            for colour, (start, end) in enumerate(program.segments):
                # p-bits of other units change between phases in a core: any states will do
                others = [i for i in range(topology.n) if i not in program.nodes]
                state[others] = rng.integers(0, 2, size=len(others))
                field = fields(dense, case.h, state)
                for k, (local, i, _, _, last) in enumerate(program.steps[start:end]):
                    if last:
                        new, lfsr[i] = golden_update(config, int(field[i]), code, lfsr[i],
                                                     int(state[i]))
                        after = state.copy()
                        after[i] = new
                        change = int(energy(dense, case.h, after) - energy(dense, case.h, state))
                        expected.append((sweep, colour, k + UPDATE_LATENCY + 1, local, new, change))
                show(ctx)
                ctx.set(unit.beta, code)
                ctx.set(unit.colour, colour)
                ctx.set(unit.phase_go, 1)
                await ctx.tick()
                ctx.set(unit.phase_go, 0)
                length = end - start
                settled = length + DRAIN_CLOCKS if length else 1
                changes = {}
                for clock in range(1, settled + 3):
                    _, _, valid, slot, up, delta, idle = await ctx.tick().sample(
                        unit.write_back.valid, unit.write_back.slot, unit.write_back.up,
                        unit.delta, unit.idle)
                    assert idle == (clock >= settled), (clock, settled)
                    if delta:
                        changes[clock - 1] = delta
                    if valid:
                        got.append([sweep, colour, clock, slot, up, 0])
                        state[program.nodes[slot]] = up
                        show(ctx)
                for record in got:
                    if record[:2] == [sweep, colour]:
                        record[5] = changes.pop(record[2], 0)
                assert not changes, changes  # no change without a write-back
        ctx.set(unit.read.busy, 1)
        for slot, i in enumerate(program.nodes):
            ctx.set(unit.read.slot, slot)
            await ctx.tick()
            assert ctx.get(unit.read.lfsr) == lfsr[i], case
            assert ctx.get(unit.read.bias) == case.h[i], case
        for slot, _, _, e in program.coupling_slots():
            ctx.set(unit.read.slot, slot)
            await ctx.tick()
            assert ctx.get(unit.read.coupling) == case.J[e], case

    run(dut, bench)
    assert len(expected) == len(program.nodes) * len(case.codes)
    assert [tuple(r) for r in got] == expected, case


def test_update_unit_cases_cover_the_cases_they_claim():
    cases = [unit_case(seed) for seed in range(24)]
    assert any(c.config.update_units == 1 for c in cases)
    assert any(c.config.update_units > 1 for c in cases)
    assert any(all(j < 0 for j, _ in step.links) for c in cases for step in c.program.steps)
    assert any(c.program.lanes > 1 and any(step.links[-1][0] < 0 for step in c.program.steps)
               for c in cases)  # a lane left empty
    assert any(c.program.lanes > 1 and c.program.max_degree > c.program.lanes for c in cases)
    assert any(c.program.max_degree >= 3 for c in cases)
    assert any(start == end for c in cases for start, end in c.program.segments)  # empty phase
    assert any(c.topology.num_colours >= 3 for c in cases)


def test_update_unit_refuses_bad_parameters():
    topology = Topology(3, ((0, 1), (1, 2)), (0, 1, 0))
    program = unit_programs(topology, 1)[0]
    config = PBitConfig(coupling_bits=4, bias_bits=4)
    least = config.field_bits(2)
    with pytest.raises(ValueError, match=rf"^field_bits = {least - 1} is out of range; "
                                         rf"allowed >= {least} \("):
        UpdateUnit(config, program, field_bits=least - 1)
    with pytest.raises(ValueError, match=r"^program\.nodes is empty"):
        UpdateUnit(config, UnitProgram((), (), ((0, 0),)), field_bits=least)
    with pytest.raises(TypeError, match=r"^program must be a UnitProgram, not tuple$"):
        UpdateUnit(config, (), field_bits=least)
    unit = UpdateUnit(config, program, field_bits=least)
    assert unit.neighbour_states.shape().width == len(program.sources) == 3
    two = UpdateUnit(config, unit_programs(topology, 1, 2)[0], field_bits=least)
    # lane 0 reads 1 (for p-bits 0 and 2) and 0 (for 1); lane 1 reads 2 (for 1)
    assert two.neighbour_states.shape().width == len(two.program.sources) == 3
    assert two.program.sources == (1, 0, 2)
    assert unit.delta.shape() == signed(least + 2)


# --- AnnealController -------------------------------------------------------------------------

@dataclass
class ControllerCase:
    seed: int
    topology: Topology
    depth: int
    schedule: list[tuple[int, int]]
    steps: int
    record_every: int
    energy: int
    drains: list[int]
    waits: list[int]
    phase_clocks: tuple[int, ...] | None

    def __repr__(self) -> str:
        return (f"ControllerCase(seed={self.seed}, K={self.topology.num_colours}, "
                f"schedule={self.schedule}, steps={self.steps}, every={self.record_every}, "
                f"phase_clocks={self.phase_clocks})")


def controller_case(seed: int) -> ControllerCase:
    rng = np.random.default_rng(seed)
    density = 0.0 if seed % 4 == 3 else float(rng.random())  # one colour: no edges
    topology = random_topology(rng, int(rng.integers(4, 9)), density)
    depth = int(rng.integers(1, 5))
    beta_hi = unsigned_range(PBitConfig().beta_bits)[1]
    schedule = [(int(rng.integers(0, beta_hi + 1)), int(rng.integers(0, 4)))
                for _ in range(depth)]
    return ControllerCase(
        seed, topology, depth, schedule, steps=int(rng.integers(0, 1 << depth.bit_length())),
        record_every=int(rng.integers(0, 4)), energy=int(rng.integers(-200, 201)),
        drains=[int(rng.integers(1, 6)) for _ in range(200)],
        waits=[int(rng.integers(0, 4)) for _ in range(50)],
        phase_clocks=(tuple(int(c) for c in rng.integers(2, 7, topology.num_colours))
                      if seed % 2 else None))


def controller_timeline(case: ControllerCase, start: int):
    """The clocks of AnnealController's docstring, from a ``run`` transfer at clock ``start``
    with the units draining in ``case.drains[k]`` clocks in the k-th phase (in the last
    colour's only, with ``case.phase_clocks``: the others last ``phase_clocks[c]``) and the k-th
    record taken ``case.waits[k]`` clocks late. Returns phases ``(clock, colour, beta)``, sweep ends
    ``(clock, sweep)``, records ``(clock, sweep)`` and the clock the controller is idle again."""
    phases, sweep_ends, records = [], [], []
    clock, sweep, since = start + 1, 0, 0  # STEP
    for beta, sweeps in case.schedule[:min(case.steps, case.depth)]:
        clock += 1  # SWEEP
        for _ in range(sweeps):
            for colour in range(case.topology.num_colours):
                clock += 1  # PHASE
                phases.append((clock, colour, beta))
                overlapped = case.phase_clocks and colour < case.topology.num_colours - 1
                clock += (case.phase_clocks[colour] - 1 if overlapped
                          else case.drains[len(phases) - 1])  # the last DRAIN clock
            clock += 1  # SWEEP_END
            sweep += 1
            sweep_ends.append((clock, sweep))
            since += 1
            if case.record_every and since == case.record_every:
                since = 0
                clock += 1 + case.waits[len(records)]  # RECORD until taken
                records.append((clock, sweep))
            clock += 1  # SWEEP
        clock += 1  # STEP
    return phases, sweep_ends, records, clock + 1


@pytest.mark.parametrize("seed", range(12))
def test_anneal_controller_clock_for_clock(seed):
    """Phases, colours, betas, sweep ends, records and the end of the run at the clocks of the
    docstring; the energy is the run's plus every delta since; the best state and energy the
    first lowest at a sweep end; ``run`` waits for ``enable``; schedule writes past the depth are
    dropped."""
    case = controller_case(seed)
    config, n = PBitConfig(), case.topology.n
    dut = AnnealController(config, case.topology, case.depth, case.phase_clocks)
    rng = np.random.default_rng(seed + 1)
    log = []

    async def monitor(ctx):
        """Logs every clock; drives a new state and energy change for each."""
        signals = (dut.phase_go, dut.colour, dut.beta, dut.idle, dut.run.valid, dut.run.ready,
                   dut.enable, dut.schedule_wr.ready, dut.states.valid, dut.states.ready,
                   dut.states.payload, dut.state, dut.delta, dut.energy)
        async for _, _, *values in ctx.tick().sample(*signals):
            log.append(dict(zip(["go", "colour", "beta", "idle", "run_valid", "run_ready",
                                 "enable", "schedule_ready", "valid", "ready", "payload",
                                 "state", "delta", "energy"], values, strict=True)))
            ctx.set(dut.state, int(rng.integers(0, 1 << n)))
            ctx.set(dut.delta, int(rng.integers(-2, 3)))

    async def units(ctx):
        phase, left = 0, 0
        ctx.set(dut.units_idle, 1)
        async for _, _, go in ctx.tick().sample(dut.phase_go):
            if go:
                left = case.drains[phase] - 1
                phase += 1
            elif left:
                left -= 1
            ctx.set(dut.units_idle, left == 0)

    async def sink(ctx):
        taken, held = 0, 0
        ctx.set(dut.states.ready, case.waits[0] == 0)
        async for _, _, valid, ready in ctx.tick().sample(dut.states.valid, dut.states.ready):
            if valid and ready:
                taken, held = taken + 1, 0
                ctx.set(dut.states.ready, case.waits[taken] == 0)
            elif valid:
                held += 1
                if held == case.waits[taken]:
                    ctx.set(dut.states.ready, 1)

    async def bench(ctx):
        writes = [{"index": k, "beta": b, "sweeps": s} for k, (b, s) in enumerate(case.schedule)]
        past = (1 << dut.schedule_wr.payload.index.shape().width) - 1
        if past >= case.depth:  # dropped
            writes.append({"index": past, "beta": 1, "sweeps": 1})
        await stream_put(ctx, dut.schedule_wr, writes)
        ctx.set(dut.run.payload, {"steps": case.steps, "record_every": case.record_every,
                                  "energy": case.energy})
        ctx.set(dut.run.valid, 1)
        await ctx.tick().repeat(3)
        ctx.set(dut.enable, 1)
        await ctx.tick().until(dut.run.ready)
        ctx.set(dut.run.valid, 0)
        await ctx.tick().until(dut.idle)
        await ctx.tick().repeat(3)
        assert [ctx.get(dut.betas[k]) for k in range(case.depth)] == [b for b, _ in case.schedule]
        assert [ctx.get(dut.sweeps[k]) for k in range(case.depth)] == [s for _, s in
                                                                       case.schedule]
        assert ctx.get(dut.sweep) == sum(s for _, s in case.schedule[:min(case.steps,
                                                                          case.depth)])
        result.extend([ctx.get(dut.best_energy), ctx.get(dut.best_state),
                       ctx.get(dut.best_sweep)])

    result = []
    run(dut, bench, background=(monitor, units, sink))
    start = next(c for c, v in enumerate(log) if v["run_valid"] and v["run_ready"])
    phases, sweep_ends, records, end = controller_timeline(case, start)
    assert all(not v["run_ready"] for v in log if not v["enable"]), case
    assert all(v["schedule_ready"] == v["idle"] for v in log)
    assert [c for c, v in enumerate(log) if v["go"]] == [c for c, _, _ in phases], case
    assert [(log[c]["colour"], log[c]["beta"]) for c, _, _ in phases] == \
        [(colour, beta) for _, colour, beta in phases]
    assert [c for c, v in enumerate(log[start + 1:], start + 1) if v["idle"]][0] == end, case
    assert [c for c, v in enumerate(log) if v["valid"] and v["ready"]] == [c for c, _ in records]
    energies = np.cumsum([case.energy] + [v["delta"] for v in log[start + 1:]])
    assert (np.abs(energies) < 1 << (energy_bits(config, case.topology) - 1)).all()
    assert [v["energy"] for v in log[start + 1:]] == list(energies[:-1]), case
    for clock, sweep in records:
        payload = log[clock]["payload"]
        assert (payload.sweep, payload.energy, payload.state) == \
            (sweep, log[clock]["energy"], log[clock]["state"])
    best = (case.energy, log[start]["state"], 0)
    for clock, sweep in sweep_ends:
        if log[clock]["energy"] < best[0]:
            best = (log[clock]["energy"], log[clock]["state"], sweep)
    assert tuple(result) == best, case


def test_anneal_controller_cases_cover_the_cases_they_claim():
    cases = [controller_case(seed) for seed in range(12)]
    assert any(c.steps == 0 for c in cases) and any(c.steps > c.depth for c in cases)
    assert any(0 < c.steps <= c.depth for c in cases)
    assert {c.record_every for c in cases} >= {0, 1, 2}
    assert any(s == 0 for c in cases for _, s in c.schedule[:c.steps])  # a step of no sweeps
    assert any(c.topology.num_colours == 1 for c in cases)
    assert any(c.topology.num_colours >= 3 for c in cases)
    assert any(c.depth & (c.depth - 1) for c in cases)  # an index past the depth is written
    assert any(c.phase_clocks and c.topology.num_colours >= 3 for c in cases)
    assert any(c.phase_clocks is None and c.topology.num_colours >= 3 for c in cases)


def test_anneal_controller_refuses_bad_phase_clocks():
    topology = Topology(3, ((0, 1), (1, 2)), (0, 1, 0))
    for clocks in [(2,), (2, 3, 4), (1, 5)]:
        with pytest.raises(ValueError, match=rf"^phase_clocks = {re.escape(str(clocks))} is "
                                             r"out of range; allowed 2 values \(one per colour\) "
                                             r"of at least 2$"):
            AnnealController(PBitConfig(), topology, 4, clocks)


# --- WritePath --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_write_path_sends_each_write_to_its_units(seed):
    """A coupling write reaches the unit and slot of end ``a`` 2 clocks after its transfer and
    of end ``b`` 3 clocks after, a node write (bias, seed and state) its unit 2 clocks after;
    each write takes 3 clocks; nothing is taken while ``enable`` is low."""
    rng = np.random.default_rng(seed)
    topology = random_topology(rng, int(rng.integers(2, 10)), 0.5)
    config = random_config(rng, int(rng.integers(1, topology.n + 1)))
    programs = unit_programs(topology, config.update_units,
                             int(rng.integers(1, max(topology.max_degree, 1) + 1)))
    dut = WritePath(config, topology, programs)
    J = rng.integers(*signed_range(config.coupling_bits), size=len(topology.edges), endpoint=True)
    nodes = [{"node": int(i), "bias": int(rng.integers(*signed_range(config.bias_bits),
                                                       endpoint=True)),
              "seed": int(rng.integers(0, 1 << 32)), "state": int(rng.integers(0, 2))}
             for i in rng.permutation(topology.n)]
    names = {"coupling_valid": dut.coupling_wr.valid, "coupling_ready": dut.coupling_wr.ready,
             "node_valid": dut.node_wr.valid, "node_ready": dut.node_wr.ready,
             "enable": dut.enable, "j_en": dut.coupling.en, "j_slot": dut.coupling.slot,
             "j_value": dut.coupling.value, "h_en": dut.node.en, "h_slot": dut.node.slot,
             "bias": dut.node.bias, "seed": dut.node.seed, "state": dut.node.state}
    log = []

    async def monitor(ctx):
        async for _, _, *values in ctx.tick().sample(*names.values()):
            log.append(dict(zip(names, values, strict=True)))

    async def bench(ctx):
        await ctx.tick().repeat(2)
        ctx.set(dut.enable, 1)
        pause = random_pause(rng, 0.3)
        await stream_put(ctx, dut.coupling_wr, [{"edge": e, "value": int(v)}
                                                for e, v in enumerate(J)], pause)
        ctx.set(dut.enable, 0)
        ctx.set(dut.node_wr.payload, nodes[0])
        ctx.set(dut.node_wr.valid, 1)
        await ctx.tick().repeat(2)
        ctx.set(dut.enable, 1)
        await stream_put(ctx, dut.node_wr, nodes, pause)
        await ctx.tick().repeat(4)

    run(dut, bench, background=[monitor])
    assert not any(v["coupling_ready"] or v["node_ready"] for v in log if not v["enable"])
    ends = {}
    for u, program in enumerate(programs):
        for slot, i, j, e in program.coupling_slots():
            ends[e, i > j] = (u, slot)  # end a: the smaller node's
    homes = {i: (u, slot) for u, p in enumerate(programs) for slot, i in enumerate(p.nodes)}

    def transfers(kind: str, busy: int) -> list[int]:
        """Transfer clocks, each checked to be the first offered clock ``busy`` after the last."""
        taken = [c for c, v in enumerate(log) if v[f"{kind}_valid"] and v[f"{kind}_ready"]]
        for before, after in zip(taken, taken[1:], strict=False):
            assert after == next(c for c in range(before + busy, len(log))
                                 if log[c][f"{kind}_valid"]), (kind, before, after)
        return taken

    def one_hot(en: int) -> list[int]:
        return [u for u in range(len(programs)) if en >> u & 1]

    assert [(c, u, v["j_slot"], v["j_value"]) for c, v in enumerate(log)
            for u in one_hot(v["j_en"])] == \
        [(c + 2 + b, *ends[e, b], J[e]) for e, c in enumerate(transfers("coupling", 4))
         for b in (False, True)]
    assert [(c, u, v["h_slot"], v["bias"], v["seed"], v["state"]) for c, v in enumerate(log)
            for u in one_hot(v["h_en"])] == \
        [(c + 2, *homes[w["node"]], w["bias"], w["seed"], w["state"])
         for c, w in zip(transfers("node", 3), nodes, strict=True)]
