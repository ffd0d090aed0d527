"""Proper colourings of a problem's graph: the p-bit core's update phases (DESIGN.md 3.4)."""

from __future__ import annotations

import networkx as nx
import numpy as np

from spinemu.config import ConfigError, Topology

__all__ = ["STRATEGIES", "colour"]

#: networkx greedy colouring strategies (deterministic ones); DSATUR gives the fewest colours
#: here (G1: 15, G22: 8), hence the fewest phases per sweep.
STRATEGIES = ("DSATUR", "largest_first", "smallest_last", "independent_set",
              "connected_sequential_bfs", "connected_sequential_dfs")


def colour(n: int, edges, strategy: str = "DSATUR", colours=None) -> Topology:
    """The :class:`Topology` of a graph with a proper colouring.

    ``colours`` (one per node) is used as given when passed; otherwise networkx's greedy
    colouring with ``strategy`` (one of :data:`STRATEGIES`) makes one. Either way
    :class:`Topology` checks that it is proper (an edge inside a colour is named).
    """
    pairs = tuple((int(i), int(j)) for i, j in np.asarray(edges).reshape(-1, 2))
    if colours is None:
        if strategy not in STRATEGIES:
            raise ConfigError(f"colouring strategy = {strategy!r} is not known; allowed "
                              f"{list(STRATEGIES)}")
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(pairs)
        found = nx.greedy_color(graph, strategy=strategy)
        colours = [found[node] for node in range(n)]
    return Topology(n, pairs, tuple(int(c) for c in colours))
