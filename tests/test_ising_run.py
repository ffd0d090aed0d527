"""spinemu.ising.run: anneal and sample with many replicas, golden and rtl backends."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError, PBitConfig, Topology
from spinemu.ising.exact import all_states
from spinemu.ising.problem import IsingProblem
from spinemu.ising.run import anneal, sample


def test_anneal_finds_the_maximum_cut_of_a_small_graph(random_graph):
    graph = random_graph(np.random.default_rng(5), 12, 0.5, integer=True)
    best = graph.cut(all_states(12)).max()
    result = anneal(graph, sweeps=300, replicas=4, seed=1)
    assert result.best_cut == best
    assert result.spin_updates == 300 * 12 * 4 == result.run.spin_updates
    assert result.updates_per_second > 0 and result.wall_seconds > 0
    assert np.allclose(result.cuts, (graph.total_weight - result.energies) / 2)
    again = anneal(graph, sweeps=300, replicas=4, seed=1)
    assert (again.run.best_state == result.run.best_state).all()


def test_anneal_refuses_what_does_not_fit(random_graph):
    graph = random_graph(np.random.default_rng(6), 5, integer=True)
    with pytest.raises(ConfigError, match=r"^backend = 'fpga' is not known; allowed "
                                          r"\['golden', 'rtl', 'board'\]$"):
        anneal(graph, sweeps=5, backend="fpga")
    with pytest.raises(ConfigError, match=r"^update_units = 6 is out of range; allowed 1\.\.5 "):
        anneal(graph, sweeps=5, config=PBitConfig(update_units=6, beta_bits=16))
    with pytest.raises(ConfigError, match=r"^topology edges differ from the problem's edges$"):
        anneal(graph, sweeps=5, topology=Topology(5, (), (0,) * 5))


def test_rtl_backend_equals_golden(random_graph):
    """Three replicas of a 6-node problem one after another on one simulated core (the rtl
    backend of spinemu.Emulator, Verilator), recorded every second sweep and gathered into a
    PBitRun that must equal the golden one field by field (LFSR states read back)."""
    graph = random_graph(np.random.default_rng(11), 6, 0.6, integer=True)
    runs = [anneal(graph, sweeps=8, steps=3, replicas=3, seed=3, backend=backend,
                         record=2).run for backend in ("golden", "rtl")]
    for name in ("states", "lfsr", "energy", "best_energy", "best_state", "energies",
                 "trajectory"):
        assert (getattr(runs[0], name) == getattr(runs[1], name)).all(), name


def test_sample_matches_the_exact_distribution(random_graph):
    """1,000 replicas x 200 sweeps = 200,000 samples of 2**6 states: a perfect sampler's KL is
    about 63 / 400,000 = 0.00016 nats; 0.003 allows for the sweeps' correlation and the
    14-bit quantisation (tests/test_pbit_golden.py measures both)."""
    rng = np.random.default_rng(9)
    problem = IsingProblem(6, *(lambda g: (g.edges, -g.weights))(random_graph(rng, 6, 0.7,
                                                                              True)),
                           rng.integers(-2, 3, 6).astype(np.float64))
    result = sample(problem, beta=0.4, samples=200_000, replicas=1000, burn_in=30)
    assert result.states.shape == (200_000, 6) and result.kl < 0.003
    assert result.beta == pytest.approx(0.4, abs=1 / 2**13) and result.code == 3277


def test_hybrid_runs_the_same_chains_as_the_pbit_core(random_graph):
    """A hybrid fabric computes the same fields exactly (an exact tile), so anneal and sample
    with ``hybrid=True`` give the p-bit core's chains state for state, and its model holds the
    tile that computes them."""
    graph = random_graph(np.random.default_rng(8), 10, 0.6, integer=True)
    runs = [anneal(graph, sweeps=40, replicas=3, seed=2, record=1, hybrid=hybrid)
            for hybrid in (False, True)]
    assert (runs[0].run.trajectory == runs[1].run.trajectory).all()
    assert (runs[0].energies == runs[1].energies).all()
    samples = [sample(graph.to_ising(), beta=0.3, samples=200, burn_in=5, replicas=20,
                      hybrid=hybrid) for hybrid in (False, True)]
    assert (samples[0].states == samples[1].states).all()


def test_hybrid_refuses_fields_past_the_adc_path():
    """Dense couplings whose fields need more than the tile's 16 ADC bits are refused by name:
    300 spins all coupled by 120 (integers the 8-bit couplings hold as they are), fields up to
    120 * 299; with 4-bit couplings they scale to 7 and fit."""
    n = 300
    i, j = np.triu_indices(n, 1)
    problem = IsingProblem(n, np.stack([i, j], axis=1), np.full(len(i), 120.0), np.zeros(n))
    with pytest.raises(ConfigError, match=rf"^couplings give fields up to {120 * 299} "
                                          r"\(max_i sum_j \|J\[i, j\]\|\), which need "
                                          r"adc_bits = 17; allowed at most 16"):
        anneal(problem, sweeps=1, replicas=1, hybrid=True)
    anneal(problem, sweeps=1, replicas=1, hybrid=True,
           config=PBitConfig(coupling_bits=4, beta_bits=16))


def test_hybrid_rtl_backend_equals_golden(random_graph):
    """Two replicas of a 6-node problem on the rtl backend's hybrid fabric (a HybridFabric
    simulated under Verilator), every sweep recorded, equal the golden run field by field."""
    graph = random_graph(np.random.default_rng(9), 6, 0.7, integer=True)
    runs = [anneal(graph, sweeps=6, steps=2, replicas=2, seed=3, record=1, hybrid=True,
                   backend=backend).run for backend in ("golden", "rtl")]
    for name in ("trajectory", "energies", "best_state", "best_energy", "states", "lfsr"):
        assert np.array_equal(getattr(runs[0], name), getattr(runs[1], name)), name
