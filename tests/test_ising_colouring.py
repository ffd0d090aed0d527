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


def test_tabu_finds_fewer_colours_than_dsatur(random_graph):
    """On dense random graphs DSATUR leaves colours that Tabucol removes; the result is proper,
    never worse than DSATUR's and the same on every call (seeded). A bipartite graph keeps 2."""
    fewer = 0
    for seed in range(3):
        graph = random_graph(np.random.default_rng(seed), 80, 0.3)
        dsatur = colour(graph.n, graph.edges)
        tabu = colour(graph.n, graph.edges, "tabu")
        colours = np.array(tabu.colours)
        assert (colours[graph.edges[:, 0]] != colours[graph.edges[:, 1]]).all()
        assert tabu.num_colours <= dsatur.num_colours
        assert colour(graph.n, graph.edges, "tabu").colours == tabu.colours
        fewer += tabu.num_colours < dsatur.num_colours
    assert fewer == 3
    ring = [(i, i + 1) for i in range(9)] + [(0, 9)]
    assert colour(10, ring, "tabu").num_colours == 2
