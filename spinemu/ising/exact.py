"""Exact Boltzmann distributions of small problems, by enumerating their states."""

from __future__ import annotations

import numpy as np

from spinemu.config import ConfigError

__all__ = ["EXACT_MAX_N", "all_states", "state_index", "exact_distribution", "kl_divergence"]

#: Largest n whose 2**n states are enumerated for exact Boltzmann distributions.
EXACT_MAX_N = 20


def all_states(n: int) -> np.ndarray:
    """Every state of ``n`` p-bits, ``[2**n, n]`` uint8; row ``k`` holds the bits of ``k``."""
    if not 1 <= n <= EXACT_MAX_N:
        raise ConfigError(f"n = {n} is out of range for enumeration; allowed 1..{EXACT_MAX_N}")
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def state_index(states) -> np.ndarray:
    """``sum_k s_k 2**k`` of states ``[..., n]`` (n <= 62), int64: the row of
    :func:`all_states`."""
    s = np.asarray(states, dtype=np.int64)
    return s @ (np.int64(1) << np.arange(s.shape[-1], dtype=np.int64))


def exact_distribution(J: np.ndarray, h: np.ndarray, beta: float) -> np.ndarray:
    """``p[k] = exp(-beta E(k)) / Z`` over :func:`all_states` for dense ``J[n, n]``, ``h[n]``."""
    m = 2 * all_states(len(h)).astype(np.float64) - 1
    energies = -0.5 * np.einsum("ki,ij,kj->k", m, J, m) - m @ h
    weights = np.exp(-beta * (energies - energies.min()))
    return weights / weights.sum()


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """``KL(p || q) = sum_{p > 0} p log(p / q)`` in nats."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    seen = p > 0
    return float(np.sum(p[seen] * np.log(p[seen] / q[seen])))
