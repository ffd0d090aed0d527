"""spinemu.ising.problem: Ising problems, Max-Cut graphs and the one into the other."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.ising.exact import all_states
from spinemu.ising.problem import IsingProblem, ising_to_maxcut


@pytest.mark.parametrize("seed", range(5))
def test_cut_is_total_weight_minus_energy_over_two(seed, random_graph):
    rng = np.random.default_rng(seed)
    graph = random_graph(rng, 8)
    states = all_states(8)
    energies = graph.to_ising().energy(states)
    cuts = graph.cut(states)
    assert np.allclose(cuts, (graph.total_weight - energies) / 2)
    assert np.argmax(cuts) == np.argmin(energies)


@pytest.mark.parametrize("seed", range(5))
def test_ising_with_biases_becomes_maxcut_with_an_ancilla(seed, random_graph):
    rng = np.random.default_rng(seed)
    base = random_graph(rng, 6).to_ising()
    problem = IsingProblem(6, base.edges, base.J, rng.normal(size=6))
    graph = ising_to_maxcut(problem)
    assert graph.n == 7
    states = all_states(7)
    relative = 1 - (states[:, :6] ^ states[:, 6:])  # m_i' = m_i m_ancilla
    assert np.allclose(problem.energy(relative), graph.total_weight - 2 * graph.cut(states))
    plain = ising_to_maxcut(base)
    assert plain.n == 6 and np.allclose(plain.weights, -base.J)
