"""The bundled graphs: what the files hold, and that the generated one is reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.ising import colour, toroidal_spin_glass
from spinemu.models import GRAPHS, TORUS_SEED, bundled_graph


def test_bundled_torus_is_the_generators_output():
    bundled = bundled_graph("torus16")
    generated = toroidal_spin_glass(16, seed=TORUS_SEED)
    assert bundled.n == generated.n == 256
    assert np.array_equal(bundled.edges, generated.edges)
    assert np.array_equal(bundled.weights, generated.weights)
    assert colour(bundled.n, bundled.edges).num_colours == 2


def test_bundled_g14_is_the_gset_instance():
    g14 = bundled_graph("G14")
    assert (g14.n, len(g14.edges)) == (800, 4694)
    assert set(g14.weights.tolist()) == {1.0}


def test_unknown_graph_names_the_bundled_ones():
    with pytest.raises(ConfigError) as error:
        bundled_graph("G99")
    assert str(error.value) == f"graph = 'G99' is not bundled; allowed {list(GRAPHS)}"
