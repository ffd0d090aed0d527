"""Ising problems and Max-Cut graphs, and the one into the other.

The p-bit core (DESIGN.md 3.4) minimises, or samples ``exp(-beta E)`` of,

    E(m) = - sum_{i<j} J[i, j] m[i] m[j] - sum_i h[i] m[i],       m in {-1, +1}^n.

A Max-Cut graph with edge weights ``w`` is the Ising problem ``J = -w``, ``h = 0``: with
``W = sum_e w_e``, the cut of a partition is ``sum_e w_e [m_i != m_j] = sum_e w_e (1 - m_i m_j)
/ 2 = (W - E) / 2``, so a largest cut is a lowest energy. An Ising problem with biases becomes a
Max-Cut graph on one more node (the ancilla ``n``, coupled to ``i`` by ``h[i]``) with
``E = W - 2 cut`` for the state read relative to the ancilla (:func:`ising_to_maxcut`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinemu.config import ConfigError

__all__ = ["IsingProblem", "MaxCut", "ising_to_maxcut", "toroidal_spin_glass"]


@dataclass(frozen=True, eq=False)
class IsingProblem:
    """``E(m) = -sum_e J_e m_i m_j - sum_i h_i m_i`` over edges ``(i, j)``, ``i < j``.

    Attributes
    ----------
    n : int
    edges : int64 [E, 2]
        Pairs ``i < j``, each once.
    J : float64 [E]
    h : float64 [n]
    name : str
    """

    n: int
    edges: np.ndarray
    J: np.ndarray
    h: np.ndarray
    name: str = ""

    def energy(self, states) -> np.ndarray:
        """Energies (float64) of states ``[..., n]`` of 0/1 values."""
        m = 2 * np.asarray(states, dtype=np.float64) - 1
        i, j = self.edges.T
        return -(m[..., i] * m[..., j]) @ self.J - m @ self.h

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(J[n, n], h[n])`` as float64, ``J`` symmetric with a zero diagonal."""
        J = np.zeros((self.n, self.n))
        i, j = self.edges.T
        J[i, j] = J[j, i] = self.J
        return J, self.h


@dataclass(frozen=True, eq=False)
class MaxCut:
    """A weighted graph whose largest cut is wanted; nodes ``0..n-1``, edges ``i < j``."""

    n: int
    edges: np.ndarray
    weights: np.ndarray
    name: str = ""

    @property
    def total_weight(self) -> float:
        return float(self.weights.sum())

    def cut(self, states) -> np.ndarray:
        """``sum_e w_e [s_i != s_j]`` for states ``[..., n]`` of 0/1 values."""
        s = np.asarray(states)
        i, j = self.edges.T
        return (s[..., i] != s[..., j]) @ self.weights

    def to_ising(self) -> IsingProblem:
        """``J = -w``, ``h = 0``: then ``cut = (W - E) / 2``."""
        return IsingProblem(self.n, self.edges, -self.weights, np.zeros(self.n), self.name)


def ising_to_maxcut(problem: IsingProblem) -> MaxCut:
    """The Max-Cut graph of an Ising problem: ``w = -J``, plus node ``n`` coupled by ``h``.

    For a state ``s`` of the ``n + 1`` nodes let ``m_i' = m_i m_n`` (the Ising state read
    relative to the ancilla); then ``E(m') = W - 2 cut(s)``. Without biases there is no
    ancilla and ``E(m) = W - 2 cut(s)`` directly.
    """
    if not problem.h.any():
        return MaxCut(problem.n, problem.edges, -problem.J, problem.name)
    nodes = np.flatnonzero(problem.h)
    ancilla = np.stack([nodes, np.full(len(nodes), problem.n)], axis=1)
    return MaxCut(problem.n + 1, np.concatenate([problem.edges, ancilla]),
                  np.concatenate([-problem.J, -problem.h[nodes]]), problem.name)


def toroidal_spin_glass(side: int, seed: int = 0) -> MaxCut:
    """The +-J Edwards-Anderson spin glass on a ``side`` x ``side`` torus, as a Max-Cut graph.

    Node ``r * side + c`` is coupled to its right and lower neighbours (wrapping), so every node
    has degree 4 and the graph has ``2 side**2`` edges; each weight is -1 or +1 with equal
    probability from ``numpy.random.default_rng(seed)``, drawn edge by edge in that order (right
    then down, row-major). With an even ``side`` the graph is bipartite (two colours).
    """
    if isinstance(side, bool) or not isinstance(side, int) or side < 3:
        raise ConfigError(f"side = {side!r} is not allowed; an integer >= 3")
    rng = np.random.default_rng(seed)
    edges, weights = [], []
    for r in range(side):
        for c in range(side):
            i = r * side + c
            for j in (r * side + (c + 1) % side, ((r + 1) % side) * side + c):
                edges.append((min(i, j), max(i, j)))
                weights.append(float(rng.choice((-1, 1))))
    return MaxCut(side * side, np.array(edges, dtype=np.int64), np.array(weights),
                  f"torus{side}")
