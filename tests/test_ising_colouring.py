"""spinemu.ising.colouring: proper colourings, given or found by networkx."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.ising.colouring import STRATEGIES, colour


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_colourings_are_proper(strategy, random_graph):
    graph = random_graph(np.random.default_rng(3), 30, 0.3)
    topology = colour(graph.n, graph.edges, strategy)
    colours = np.array(topology.colours)
    assert (colours[graph.edges[:, 0]] != colours[graph.edges[:, 1]]).all()
    assert topology.num_colours == len(set(topology.colours))


def test_bad_colourings_are_refused():
    with pytest.raises(ConfigError, match=r"^colouring strategy = 'greedy' is not known; "):
        colour(3, [(0, 1)], "greedy")
    with pytest.raises(ConfigError, match=r"^colouring is not proper: edge \(1, 2\) joins two "
                                          r"nodes of colour 1$"):
        colour(3, [(0, 1), (1, 2)], colours=[0, 1, 1])
