# amaranth: UnusedElaboratable=no
"""PBitCore RTL against the golden p-bit model, sweep by sweep (DESIGN 3.4).

amaranth.sim covers small random graphs with every update-unit count from 1 to N; cocotb runs
graphs up to 64 p-bits on Verilator and Icarus. Expected trajectories come from
:class:`spinemu.sim.golden.pbit.PBitModel`; the RTL must equal it after every sweep, and equal
itself for every U.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from amaranth.sim import Simulator

from spinemu.config import PBitConfig, Topology
from spinemu.hdl import pbit
from spinemu.hdl.pbit import PBitCore, cycles_per_sweep
from spinemu.hdl.pbit_unit import PHASE_GAP, unit_programs
from spinemu.numeric import derive_seeds, signed_range
from spinemu.sim.golden.pbit import PBitModel, dense_couplings, energy
from spinemu.sim.runner import run_pbit
from spinemu.sim.testbench import stream_get_timed, stream_put

from cases import simulator_or_skip


def random_problem(seed: int, n: int, density: float, units: int | None = None,
                   lanes: int | None = None):
    """A random graph, colouring, formats (update units and lanes random unless given),
    couplings, biases, seeds, state and schedule."""
    rng = np.random.default_rng(seed)
    graph = nx.gnp_random_graph(n, density, seed=seed)
    edges = tuple(sorted((min(a, b), max(a, b)) for a, b in graph.edges))
    colouring = nx.greedy_color(graph, strategy="largest_first")
    topology = Topology(n, edges, tuple(colouring[i] for i in range(n)))
    lut_bits = int(rng.integers(4, 11))
    config = PBitConfig(
        coupling_bits=int(rng.integers(2, 9)), bias_bits=int(rng.integers(2, 11)),
        beta_bits=int(rng.integers(4, 13)), beta_frac=int(rng.integers(0, 7)),
        lut_bits=lut_bits, lut_frac=int(rng.integers(0, lut_bits)),
        rng_bits=int(rng.integers(4, 17)),
        update_units=units or int(rng.integers(1, n + 1)),
        update_lanes=lanes or int(rng.integers(1, max(topology.max_degree, 1) + 1)))
    J = rng.integers(*signed_range(config.coupling_bits), size=len(edges), endpoint=True)
    h = rng.integers(*signed_range(config.bias_bits), size=n, endpoint=True)
    seeds = derive_seeds(seed, n)
    state0 = rng.integers(0, 2, size=n).astype(np.uint8)
    hi = (1 << config.beta_bits) - 1
    schedule = [(int(rng.integers(0, hi + 1)), int(rng.integers(1, 4))) for _ in range(3)]
    return config, topology, J, h, seeds, state0, schedule


def golden_run(config, topology, J, h, seeds, state0, schedule):
    return PBitModel(config, topology, J, h).run(schedule, seeds[None], state0[None],
                                                 record=True)


def simulate(config, topology, J, h, seeds, state0, schedule):
    """amaranth.sim run: (states per sweep, energies, best state, best energy, clocks/sweep)."""
    dut = PBitCore(config, topology, schedule_depth=len(schedule))
    total = sum(s for _, s in schedule)
    records, clocks = [], []
    e0 = int(energy(dense_couplings(topology, J), h, state0))

    async def bench(ctx):
        await stream_put(ctx, dut.coupling_wr, [{"edge": k, "value": int(v)}
                                                for k, v in enumerate(J)])
        await stream_put(ctx, dut.node_wr, [
            {"node": i, "bias": int(h[i]), "seed": int(seeds[i]), "state": int(state0[i])}
            for i in range(topology.n)])
        await stream_put(ctx, dut.schedule_wr, [{"index": k, "beta": b, "sweeps": s}
                                                for k, (b, s) in enumerate(schedule)])
        await stream_put(ctx, dut.run, [{"steps": len(schedule), "record_every": 1,
                                         "energy": e0}])
        payloads, ticks = await stream_get_timed(ctx, dut.states, total)
        records.extend((p.sweep, p.energy, [(p.state >> i) & 1 for i in range(topology.n)])
                       for p in payloads)
        clocks.extend(ticks)
        while ctx.get(dut.busy):
            await ctx.tick()
        records.append((None, ctx.get(dut.best_energy),
                        [(ctx.get(dut.best_state) >> i) & 1 for i in range(topology.n)]))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    *sweeps, (_, best_energy, best_state) = records
    assert [s for s, _, _ in sweeps] == list(range(1, total + 1))
    return (np.array([b for _, _, b in sweeps], np.uint8), np.array([e for _, e, _ in sweeps]),
            np.array(best_state, np.uint8), best_energy, np.diff(clocks), dut.cycles_per_sweep())


@pytest.mark.parametrize("seed", range(10))
def test_rtl_trajectory_equals_golden(seed):
    n = int(np.random.default_rng(seed).integers(2, 13))
    problem = random_problem(seed, n, density=(0.2, 0.5, 0.9)[seed % 3])
    golden = golden_run(*problem)
    states, energies, best_state, best_energy, gaps, per_sweep = simulate(*problem)
    assert (states == golden.trajectory[:, 0]).all(), problem[0]
    assert (energies == golden.energies[:, 0]).all()
    assert (best_state == golden.best_state[0]).all() and best_energy == golden.best_energy[0]
    # Within one schedule step every recorded sweep takes cycles_per_sweep + 1 (the record).
    assert per_sweep + 1 in gaps and set(gaps) <= {per_sweep + 1, per_sweep + 3}


def test_every_unit_and_lane_count_gives_the_same_trajectory():
    """Every U = 1..N at one lane, every K = 1..largest degree at one unit, and random (U, K)
    pairs: the same trajectory, and each takes the clocks of cycles_per_sweep(U, K)."""
    config, topology, *rest = random_problem(42, 9, density=0.4, units=1, lanes=1)
    golden = golden_run(config, topology, *rest).trajectory[:, 0]
    rng = np.random.default_rng(42)
    top = max(topology.max_degree, 1)
    pairs = ([(u, 1) for u in range(1, topology.n + 1)] + [(1, k) for k in range(2, top + 1)]
             + [(int(rng.integers(2, topology.n + 1)), int(rng.integers(2, top + 1)))
                for _ in range(4)])
    # both ways a lane picks its neighbour: by ROM field (deep programs), by step (shallow)
    assert {p.by_step for units, lanes in pairs
            for p in unit_programs(topology, units, lanes)} == {False, True}
    for units, lanes in pairs:
        formats = PBitConfig(**{**config.to_dict(), "update_units": units,
                                "update_lanes": lanes})
        states, *_, gaps, per_sweep = simulate(formats, topology, *rest)
        assert (states == golden).all(), (units, lanes)
        assert per_sweep == cycles_per_sweep(topology, units, lanes)
        assert per_sweep + 1 in gaps, (units, lanes)


def test_colour_phases_start_as_early_as_the_reads_allow(monkeypatch):
    """phase_clocks starts the next colour as soon as its steps' reads see the write-backs
    they need, earlier than the worst case (PHASE_GAP after the last fetch) where the
    neighbours a p-bit reads first were updated long before; one clock earlier at every colour
    a read binds, a p-bit reads a neighbour's bit before its write-back lands and the
    trajectory departs from golden (the phases are as short as the pipeline allows)."""
    problem = random_problem(9, 24, density=0.5, units=8, lanes=3)
    config, topology = problem[:2]
    programs = unit_programs(topology, 8, 3)
    longest = [max(end - begin for begin, end in (p.segments[c] for p in programs))
               for c in range(topology.num_colours)]
    clocks = pbit.phase_clocks(topology, 8, 3)
    bound = [c for c in range(topology.num_colours - 1) if clocks[c] > max(longest[c] + 1, 2)]
    assert bound and all(clocks[c] <= longest[c] + PHASE_GAP for c in bound)
    assert any(clocks[c] < longest[c] + PHASE_GAP for c in bound)
    golden = golden_run(*problem).trajectory[:, 0]
    assert (simulate(*problem)[0] == golden).all()
    shorter = tuple(k - (c in bound) for c, k in enumerate(clocks))
    monkeypatch.setattr(pbit, "phase_clocks", lambda *args: shorter)
    assert (simulate(*problem)[0] != golden).any()


def test_unit_programs_balance_colours_and_read_the_last_colour_last():
    """Each colour's p-bits are dealt longest first to the unit with the fewest steps of that
    colour (every unit gets one while U <= N), and a p-bit's neighbours of the colour updated
    just before its own come after all its others."""
    config, topology, *_ = random_problem(5, 40, density=0.3, units=1, lanes=1)
    count = topology.num_colours
    degree = np.bincount(np.ravel(topology.edges), minlength=topology.n)
    for units, lanes in [(1, 1), (3, 2), (7, 1), (40, 3)]:
        programs = unit_programs(topology, units, lanes)
        assert all(p.nodes for p in programs)
        assert sorted(i for p in programs for i in p.nodes) == list(range(topology.n))
        for c in range(count):
            loads = [end - begin for begin, end in (p.segments[c] for p in programs)]
            steps = [max(-(-int(degree[i]) // lanes), 1)
                     for i in range(topology.n) if topology.colours[i] == c]
            # longest-first list scheduling: within the longest job of the least-loaded unit
            assert max(loads) - min(loads) <= max(steps)
        for p in programs:
            order = {}
            for step in p.steps:
                order.setdefault(step.node, []).extend(j for j, _ in step.links if j >= 0)
            for i, links in order.items():
                back = [(topology.colours[i] - topology.colours[j]) % count for j in links]
                assert back == sorted(back, reverse=True), (units, lanes, i)


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("seed, n, units, lanes", [(100, 64, 1, 1), (101, 64, 64, 1),
                                                   (102, 40, 7, 1), (103, 23, 23, 1),
                                                   (104, 64, 4, 4), (105, 40, 1, 8),
                                                   (106, 48, 16, 2)])
def test_cocotb_trajectory_equals_golden(simulator, seed, n, units, lanes):
    problem = random_problem(seed, n, density=0.15, units=units, lanes=lanes)
    golden = golden_run(*problem)
    # Short anneals: Verilator's C++ at -O0 (n = 64, U = 64 builds in about 30 s; at -O2, which
    # its size would choose, about 240 s).
    run = run_pbit(*problem, simulator=simulator_or_skip(simulator), optimise=False)
    assert (run.states == golden.trajectory[:, 0]).all()
    assert (run.energies == golden.energies[:, 0]).all()
    assert (run.best_state == golden.best_state[0]).all()
    assert run.best_energy == golden.best_energy[0]


def test_core_refuses_bad_parameters():
    topology = Topology(3, ((0, 1), (1, 2)), (0, 1, 0))
    for kwargs, error, message in [
        ({"config": PBitConfig(update_units=4)}, ValueError,
         r"^update_units = 4 is out of range; allowed 1\.\.3 \(n\)$"),
        ({"config": PBitConfig(update_lanes=3)}, ValueError,
         r"^update_lanes = 3 is out of range; allowed 1\.\.2 \(the largest degree\)$"),
        ({"config": PBitConfig(), "schedule_depth": 0}, ValueError,
         r"^schedule_depth = 0 is out of range; allowed 1\.\.4096$"),
        ({"config": {}}, TypeError, r"^config must be a PBitConfig, not dict$"),
    ]:
        config = kwargs.pop("config")
        with pytest.raises(error, match=message):
            PBitCore(config, topology, **kwargs)
