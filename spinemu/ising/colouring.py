"""Proper colourings of a problem's graph: the p-bit core's update phases (DESIGN.md 3.4)."""

from __future__ import annotations

import networkx as nx
import numpy as np

from spinemu.config import ConfigError, Topology

__all__ = ["STRATEGIES", "colour", "tabu_colours"]

#: networkx greedy colouring strategies (deterministic ones); DSATUR gives the fewest colours
#: of them (G1: 15, G22: 8), hence the fewest phases per sweep. ``"tabu"`` starts from DSATUR
#: and searches for colourings with fewer colours (:func:`tabu_colours`; G1: 13): seconds on a
#: G-set graph, for cores where every colour phase costs clocks.
STRATEGIES = ("DSATUR", "largest_first", "smallest_last", "independent_set",
              "connected_sequential_bfs", "connected_sequential_dfs", "tabu")

#: Moves :func:`tabu_colours` tries for each colour count before it settles for the last found,
#: and the moves it tries without reaching fewer conflicts than ever before it gives up.
TABU_MOVES = 100_000
TABU_PATIENCE = 20_000


def colour(n: int, edges, strategy: str = "DSATUR", colours=None) -> Topology:
    """The :class:`Topology` of a graph with a proper colouring.

    ``colours`` (one per node) is used as given when passed; otherwise networkx's greedy
    colouring with ``strategy`` (one of :data:`STRATEGIES`; ``"tabu"``: DSATUR's, then
    :func:`tabu_colours`) makes one. Either way
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
        found = nx.greedy_color(graph, strategy="DSATUR" if strategy == "tabu" else strategy)
        colours = [found[node] for node in range(n)]
        if strategy == "tabu":
            colours = tabu_colours(n, pairs, colours)
    return Topology(n, pairs, tuple(int(c) for c in colours))


def tabu_colours(n: int, edges, colours, *, moves: int = TABU_MOVES, seed: int = 0) -> list[int]:
    """A proper colouring with as few colours as Tabucol finds (Hertz and de Werra, 1987),
    starting from the proper colouring ``colours`` of k colours: for k - 1, k - 2, ... it
    searches up to ``moves`` single-node recolourings (at most :data:`TABU_PATIENCE` of them
    without a new fewest) that lower the number of edges inside a colour (the last colour's
    nodes dealt at random, a move's reverse tabu for a while) and returns the last proper
    colouring found. Deterministic for a given ``seed``."""
    best = [int(c) for c in colours]
    neighbours = [[] for _ in range(n)]
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    neighbours = [np.array(a, dtype=np.int64) for a in neighbours]
    rng = np.random.default_rng(seed)
    while edges and max(best) + 1 > 2:
        found = _tabucol(neighbours, np.array(best), max(best), moves, rng)
        if found is None:
            break
        best = [int(c) for c in found]
    return best


def _tabucol(neighbours, colours: np.ndarray, k: int, moves: int, rng) -> np.ndarray | None:
    """A proper colouring in ``k`` colours from ``colours`` (``k + 1`` colours: the last one's
    nodes are dealt at random), or None after ``moves`` moves. ``clash[v, c]``: v's neighbours
    of colour c; the conflicts are the edges inside a colour."""
    n = len(colours)
    colours = colours.copy()
    last = colours == k
    colours[last] = rng.integers(0, k, int(last.sum()))
    clash = np.zeros((n, k), dtype=np.int64)
    for v in range(n):
        np.add.at(clash[v], colours[neighbours[v]], 1)
    nodes = np.arange(n)
    conflicts = int(clash[nodes, colours].sum()) // 2
    fewest, tabu = conflicts, np.zeros((n, k), dtype=np.int64)
    since = 0
    for move in range(moves):
        if conflicts == 0:
            return colours
        if since > TABU_PATIENCE:
            return None
        own = clash[nodes, colours]
        clashing = np.flatnonzero(own > 0)
        gain = clash[clashing] - own[clashing, None]
        gain[np.arange(len(clashing)), colours[clashing]] = n * n
        # a tabu move is allowed when it reaches fewer conflicts than ever (aspiration)
        gain[(tabu[clashing] > move) & (conflicts + gain >= fewest)] = n * n
        options = np.flatnonzero(gain == gain.min())
        row, new = divmod(int(options[rng.integers(len(options))]), k)
        if gain[row, new] == n * n:
            continue
        v, old = clashing[row], colours[clashing[row]]
        conflicts += int(gain[row, new])
        colours[v] = new
        clash[neighbours[v], old] -= 1
        clash[neighbours[v], new] += 1
        tabu[v, old] = move + 10 + int(0.6 * conflicts) + int(rng.integers(10))
        since = 0 if conflicts < fewest else since + 1
        fewest = min(fewest, conflicts)
    return None
