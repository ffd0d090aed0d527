"""spinemu.ising.problem: Ising problems, Max-Cut graphs and the one into the other."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.ising.colouring import colour
from spinemu.ising.exact import all_states
from spinemu.ising.problem import IsingProblem, ising_to_maxcut, toroidal_spin_glass


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


@pytest.mark.parametrize("side", [3, 4, 7, 16])
def test_toroidal_spin_glass_is_a_degree_4_torus_of_plus_minus_one(side):
    g = toroidal_spin_glass(side, seed=side)
    assert g.n == side * side and len(g.edges) == 2 * side * side
    assert (g.edges[:, 0] < g.edges[:, 1]).all()
    assert len({tuple(e) for e in g.edges.tolist()}) == len(g.edges)  # no edge twice
    assert np.bincount(g.edges.ravel(), minlength=g.n).tolist() == [4] * g.n
    assert set(g.weights.tolist()) <= {-1.0, 1.0}
    # node (r, c) touches (r, c +- 1) and (r +- 1, c), wrapping
    r, c = np.divmod(g.edges, side)
    dr, dc = (r[:, 1] - r[:, 0]) % side, (c[:, 1] - c[:, 0]) % side
    steps = (1, side - 1)
    assert (((dr == 0) & np.isin(dc, steps)) | ((dc == 0) & np.isin(dr, steps))).all()
    if side % 2 == 0:  # bipartite
        assert colour(g.n, g.edges).num_colours == 2
    assert np.array_equal(toroidal_spin_glass(side, seed=side).weights, g.weights)  # seeded


@pytest.mark.parametrize("side", [2, 0, 4.0, True])
def test_toroidal_spin_glass_refuses_bad_sides(side):
    with pytest.raises(ConfigError, match=r"^side = .* is not allowed; an integer >= 3$"):
        toroidal_spin_glass(side)
