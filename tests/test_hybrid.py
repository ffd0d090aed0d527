# amaranth: UnusedElaboratable=no
"""HybridCore RTL against the golden hybrid model, sweep by sweep (DESIGN 3.4, hybrid mode).

amaranth.sim covers random dense problems (RBM-like bipartite, one p-bit at a time, greedy
colourings; exact and padded tiles of random lanes; weights loaded at generation or through
``weight_wr``): states and energies after every sweep equal
:class:`spinemu.sim.golden.hybrid.HybridModel`'s, and every sweep takes exactly
:func:`spinemu.hdl.hybrid.cycles_per_sweep` clocks. cocotb runs a few problems on Verilator and
Icarus. The refusals of a tile that cannot compute the fields exactly come from
:func:`spinemu.sim.golden.hybrid.check_tile`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from amaranth.sim import Simulator

from spinemu.config import ConfigError, PBitConfig, TileConfig
from spinemu.hdl.activation import Activation
from spinemu.hdl.hybrid import HybridCore, cycles_per_sweep, hybrid_topology
from spinemu.hdl.tile import weight_words
from spinemu.sim.golden.hybrid import HybridModel, exact_tile_config
from spinemu.sim.golden.pbit import energy
from spinemu.sim.runner import run_hybrid
from spinemu.sim.testbench import random_pause, stream_get, stream_get_timed, stream_put

from cases import HYBRID_KINDS, random_hybrid_case, simulator_or_skip


def golden_run(case):
    model = HybridModel(case.tile, case.config, case.J, case.h, case.colours)
    return model, model.run(case.schedule, case.seeds[None], case.state0[None], record=1)


def simulate(case, *, load: str, stall: float = 0.0):
    """amaranth.sim run: (states per sweep, energies, best state, best energy, record ticks,
    cycles per sweep, LFSR states read back). ``load = "init"`` builds the weights in;
    ``"runtime"`` writes them (and reads them back). ``stall``: the probability of an idle clock
    on every write stream and of a clock the ``states`` sink is not ready. Checks the read-back
    of the biases, final states and schedule."""
    pause = random_pause(np.random.default_rng(case.seed), stall) if stall else None
    J = case.J if load == "init" else None
    dut = HybridCore(case.tile, case.config, case.colours, J=J,
                     schedule_depth=len(case.schedule))
    n, total = len(case.h), sum(s for _, s in case.schedule)
    g = np.zeros((case.tile.rows, case.tile.cols), np.int64)
    g[:n, :n] = case.J
    words = weight_words(case.tile, g)
    records, clocks, read_back = [], [], []

    async def bench(ctx):
        if load == "runtime":
            await stream_put(ctx, dut.weight_wr, [
                {"addr": a, "data": word} for a, word in enumerate(words.tolist())], pause)
        await stream_put(ctx, dut.node_wr, [
            {"node": i, "bias": int(case.h[i]), "seed": int(case.seeds[i]),
             "state": int(case.state0[i])} for i in range(n)], pause)
        await stream_put(ctx, dut.schedule_wr, [{"index": k, "beta": b, "sweeps": s}
                                                for k, (b, s) in enumerate(case.schedule)],
                         pause)
        await stream_put(ctx, dut.run, [{
            "steps": len(case.schedule), "record_every": 1,
            "energy": int(energy(case.J, case.h, case.state0))}])
        payloads, ticks = await stream_get_timed(ctx, dut.states, total, pause)
        records.extend((p.sweep, p.energy, [(p.state >> i) & 1 for i in range(n)])
                       for p in payloads)
        clocks.extend(ticks)
        while ctx.get(dut.busy):
            await ctx.tick()
        records.append((None, ctx.get(dut.best_energy),
                        [(ctx.get(dut.best_state) >> i) & 1 for i in range(n)]))
        for i in range(n):
            await stream_put(ctx, dut.node_rd.addr, [i])
            word, = await stream_get(ctx, dut.node_rd.data, 1)
            read_back.append(("node", word.bias, word.seed, word.state))
        for k in range(len(case.schedule)):
            await stream_put(ctx, dut.schedule_rd.addr, [k])
            word, = await stream_get(ctx, dut.schedule_rd.data, 1)
            read_back.append(("schedule", word.beta, word.sweeps))
        if load == "runtime":
            for a in range(len(words)):
                await stream_put(ctx, dut.weight_rd.addr, [a])
                read_back.append(("weights", *await stream_get(ctx, dut.weight_rd.data, 1)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    *sweeps, (_, best_energy, best_state) = records
    assert [s for s, _, _ in sweeps] == list(range(1, total + 1))
    # read-back after the anneal: biases, LFSR states, final states, the schedule, the weights
    nodes = [r[1:] for r in read_back if r[0] == "node"]
    assert [(b, x) for b, _, x in nodes] == [(int(v), int(x)) for v, x in
                                              zip(case.h, sweeps[-1][2], strict=True)]
    assert [r[1:] for r in read_back if r[0] == "schedule"] == list(map(tuple, case.schedule))
    if load == "runtime":
        assert [[int(v) for v in r[1]] for r in read_back if r[0] == "weights"] == words.tolist()
    return (np.array([b for _, _, b in sweeps], np.uint8), np.array([e for _, e, _ in sweeps]),
            np.array(best_state, np.uint8), best_energy, np.diff(clocks), dut.cycles_per_sweep(),
            np.array([seed for _, seed, _ in nodes], np.uint32))


CASES = [(seed, HYBRID_KINDS[seed % 3]) for seed in range(12)]


def check_against_golden(case, load: str, stall: float = 0.0) -> None:
    """States, energies and best state after every sweep equal the golden model's, and every
    sweep takes cycles_per_sweep clocks (when nothing stalls)."""
    _, golden = golden_run(case)
    states, energies, best_state, best_energy, gaps, per_sweep, lfsrs = simulate(
        case, load=load, stall=stall)
    assert (states == golden.trajectory[:, 0]).all(), case
    assert (energies == golden.energies[:, 0]).all(), case
    assert (best_state == golden.best_state[0]).all(), case
    assert best_energy == golden.best_energy[0], case
    assert (lfsrs == golden.lfsr[0]).all(), case   # read back: where every LFSR got to
    # Every recorded sweep takes cycles_per_sweep + 1 (the record), + 2 at a new schedule step.
    steps = [k for k, (_, sweeps) in enumerate(case.schedule) for _ in range(sweeps)]
    expected = [per_sweep + 1 + 2 * (a != b) for a, b in zip(steps, steps[1:], strict=False)]
    assert stall or gaps.tolist() == expected, case


@pytest.mark.parametrize("seed, kind", CASES)
def test_rtl_trajectory_equals_golden(seed, kind):
    check_against_golden(random_hybrid_case(seed, kind), ("runtime", "init")[seed % 2])


@pytest.mark.parametrize("seed, kind", [(20, "rbm"), (21, "sequential")])
def test_a_wide_tile_with_more_lanes_than_rows(seed, kind):
    """A tile far wider than the problem, its lanes more than R + 3: column groups reach the
    output stage L clocks apart, and the phases wait for every column."""
    case = random_hybrid_case(seed, kind, n=3)
    tile = TileConfig(**{**case.tile.to_dict(), "rows": 3, "cols": 19, "lanes": 8})
    assert tile.lanes > tile.rows + 3 and tile.groups == 3
    check_against_golden(replace(case, tile=tile), "runtime")


@pytest.mark.parametrize("seed, kind", [(40, "rbm"), (41, "greedy")])
def test_stalled_streams_change_nothing(seed, kind):
    """Writes with idle clocks and a ``states`` sink that is often not ready (the anneal waits
    between sweeps): the same trajectory."""
    check_against_golden(random_hybrid_case(seed, kind), "runtime", stall=0.4)


def test_one_p_bit_and_one_colour():
    """n = 1 (a 1 x 1 tile); two uncoupled p-bits of one colour (a single phase per sweep)."""
    check_against_golden(random_hybrid_case(50, "greedy", n=1), "runtime")
    case = random_hybrid_case(51, "greedy", n=2)
    J = np.zeros((2, 2), np.int64)
    check_against_golden(replace(case, J=J, colours=(0, 0),
                                 tile=exact_tile_config(J, case.config, lanes=1)), "init")


def test_cases_cover_the_parameter_space():
    """The random cases hold RBM, sequential and greedy colourings, exact and padded tiles,
    one lane and several column groups, and more than one lane."""
    cases = [random_hybrid_case(seed, kind) for seed, kind in CASES]
    assert {c.kind for c in cases} == set(HYBRID_KINDS)
    exact = [c.tile == exact_tile_config(c.J, c.config, lanes=c.tile.lanes) for c in cases]
    assert any(exact) and not all(exact)
    assert any(c.tile.lanes == 1 for c in cases) and any(c.tile.groups > 1 for c in cases)
    assert any(1 < c.tile.lanes for c in cases)


def test_cycles_per_sweep_counts_every_phase():
    """The formula by hand: a 3 x 3 tile of one lane (columns R + 3 clocks apart), two colours."""
    tile = TileConfig(rows=3, cols=3, cell_bits=4, input_bits=2, input_signed=True, adc_bits=5,
                      gain_bits=1, gain_frac=0, offset_bits=1, out_bits=5, lanes=1)
    # Z(c) = 2R + 7 + c * (R + 3) = 13, 19, 25; colour 0 ends at p-bit 2, colour 1 at p-bit 1:
    # colour 0: 1 + max(25 + 2, 25 + 7); colour 1: 1 + max(25 + 2, 19 + 7); 2 per sweep
    assert cycles_per_sweep(tile, [0, 1, 0]) == 2 + (1 + 32) + (1 + 27)


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("seed, kind, n", [(200, "rbm", 12), (201, "sequential", 7),
                                           (202, "greedy", 10)])
def test_cocotb_trajectory_equals_golden(simulator, seed, kind, n):
    case = random_hybrid_case(seed, kind, n=n, pad=True)
    _, golden = golden_run(case)
    run = run_hybrid(case.tile, case.config, case.J, case.h, case.colours, case.seeds,
                     case.state0, case.schedule, simulator=simulator_or_skip(simulator))
    assert (run.states == golden.trajectory[:, 0]).all(), case
    assert (run.energies == golden.energies[:, 0]).all(), case
    assert (run.best_state == golden.best_state[0]).all(), case
    assert run.best_energy == golden.best_energy[0], case


J3 = np.array([[0, 3, -2], [3, 0, 1], [-2, 1, 0]])


@pytest.mark.parametrize("change, J, message", [
    ({"rows": 2}, None, r"^the tile \(2 x 3\) cannot hold a problem of n = 3; allowed rows "
                        r"and cols >= 3$"),
    ({"cols": 2, "lanes": 2}, J3, r"^the tile \(3 x 2\) cannot hold a problem of n = 3; "
                                  r"allowed rows and cols >= 3$"),
    ({"input_signed": False}, None, r"^input_bits = 2, input_signed = False cannot carry "
                                    r"spins -1/\+1; allowed signed inputs of at least 2 bits$"),
    ({"adc_bits": 3}, J3, r"^couplings give fields up to 5 \(max_i sum_j \|J\[i, j\]\|\); "
                          r"adc_bits = 3 holds 3, allowed >= 4 for an exact ADC path$"),
    ({"out_bits": 3}, J3, r"^couplings give fields up to 5 .*; out_bits = 3 holds 3, allowed "
                          r">= 4 for an exact ADC path$"),
    ({"cell_bits": 2}, J3, r"^couplings reach -2\.\.3; the tile's cell_bits = 2 hold -2\.\.1$"),
])
def test_core_refuses_a_tile_that_is_not_exact(change, J, message):
    config = PBitConfig(coupling_bits=4)
    tile = TileConfig(**{**exact_tile_config(J3, config).to_dict(), **change})
    with pytest.raises(ConfigError, match=message):
        HybridCore(tile, config, [0, 1, 2], J=J)


def test_core_refuses_bad_parameters():
    config = PBitConfig(coupling_bits=4)
    tile = exact_tile_config(J3, config)
    for args, kwargs, error, message in [
        ((tile, config, [0, 1, 0]), {"J": J3}, ConfigError,
         r"^colouring is not proper: edge \(0, 2\) joins two nodes of colour 0$"),
        ((tile, config, [0, 1, 2]), {"J": J3 * 3}, ConfigError,
         r"^couplings J\[0, 1\] = 9 is out of range; allowed -8\.\.7 \(2 element"),
        ((tile, config, [0, 1, 2]), {"schedule_depth": 0}, ValueError,
         r"^schedule_depth = 0 is out of range; allowed 1\.\.4096$"),
        ((config, config, [0, 1, 2]), {}, TypeError, r"^tile must be a TileConfig, not "
                                                     r"PBitConfig$"),
        ((tile, tile, [0, 1, 2]), {}, TypeError, r"^config must be a PBitConfig, not "
                                                 r"TileConfig$"),
    ]:
        with pytest.raises(error, match=message):
            HybridCore(*args, **kwargs)


def test_energy_width_holds_every_coupling_the_colouring_allows():
    """The anneal's energy width is the p-bit core's for the complete multipartite graph of the
    colouring: every pair of different colours may couple."""
    topology = hybrid_topology([0, 1, 0, 1, 2])
    assert len(topology.edges) == 10 - 2 - 0   # (0, 2) and (1, 3) share a colour
    config = PBitConfig(coupling_bits=4, bias_bits=5)
    core = HybridCore(exact_tile_config(np.zeros((5, 5), np.int64), config), config,
                      topology.colours)
    assert core.energy_bits == (8 * 8 + 5 * 16).bit_length() + 1


def test_activation_refuses_bad_parameters():
    for kwargs, message in [({"field_bits": 1, "tag_bits": 1}, r"^field_bits = 1 is out of "
                                                                r"range; allowed >= 2$"),
                            ({"field_bits": 4, "tag_bits": 0}, r"^tag_bits = 0 is out of "
                                                               r"range; allowed >= 1$")]:
        with pytest.raises(ValueError, match=message):
            Activation(PBitConfig(), **kwargs)
