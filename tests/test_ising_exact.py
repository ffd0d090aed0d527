"""spinemu.ising.exact: enumerated states and exact Boltzmann distributions."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.ising.exact import all_states, exact_distribution, kl_divergence, state_index


def test_exact_distribution_and_kl(random_graph):
    rng = np.random.default_rng(8)
    problem = random_graph(rng, 5).to_ising()
    J, h = problem.dense()
    p = exact_distribution(J, h, 0.7)
    weights = np.exp(-0.7 * problem.energy(all_states(5)))
    assert np.allclose(p, weights / weights.sum()) and p.sum() == pytest.approx(1)
    assert (state_index(all_states(5)) == np.arange(32)).all()
    assert kl_divergence(p, p) == pytest.approx(0)
    q = exact_distribution(J, h, 0.2)
    assert kl_divergence(p, q) > 0 and kl_divergence(np.eye(32)[3], p) == -np.log(p[3])
    with pytest.raises(ConfigError, match=r"^n = 21 is out of range for enumeration; "):
        all_states(21)
