"""Restricted Boltzmann machines as Ising problems: block Gibbs sampling on p-bits.

A Bernoulli RBM (scikit-learn's ``BernoulliRBM``) has visible units ``v`` and hidden units ``h``
in {0, 1} and

    E(v, h) = -v W h - b v - c h,        p(v, h) ~ exp(-E(v, h)),

with ``W`` [V, H] (scikit-learn's ``components_.T``), ``b`` the visible and ``c`` the hidden
biases. With spins ``m = 2 s - 1`` (``s = (1 + m) / 2``),

    E = const - sum_ij (W_ij / 4) m_i m_j - sum_i (b_i / 2 + sum_j W_ij / 4) m_i
              - sum_j (c_j / 2 + sum_i W_ij / 4) m_j,

so the RBM is the Ising problem ``J = W / 4`` on the complete bipartite graph with those biases,
at ``beta = 1`` in the RBM's units, and a p-bit state ``s`` is the unit's value. Nodes
``0 .. H-1`` are the hidden units and ``H .. H+V-1`` the visible ones; the hidden units are
colour 0 and the visible ones colour 1, so one p-bit sweep is one step of scikit-learn's
``gibbs`` (``h ~ p(h | v)``, then ``v ~ p(v | h)``): block Gibbs sampling, without retraining.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, Topology, read_npz

from .colouring import colour
from .problem import IsingProblem

__all__ = ["RBM", "PSEUDO_LIKELIHOOD_DRAWS", "Comparison", "pseudo_likelihood",
           "rbm_from_sklearn", "sklearn_gibbs", "write_grid"]

#: Draws of scikit-learn's ``score_samples`` averaged per sample by :func:`pseudo_likelihood`.
PSEUDO_LIKELIHOOD_DRAWS = 32


@dataclass(frozen=True, eq=False)
class RBM:
    """A Bernoulli RBM.

    Attributes
    ----------
    weights : float64 [V, H]
    visible_bias : float64 [V]
    hidden_bias : float64 [H]
    """

    weights: np.ndarray
    visible_bias: np.ndarray
    hidden_bias: np.ndarray

    def __post_init__(self):
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.ndim != 2 or 0 in weights.shape:
            raise ConfigError(f"RBM weights have shape {weights.shape}; allowed a non-empty "
                              "[visible, hidden] matrix")
        for name, expected in (("visible_bias", weights.shape[0]),
                               ("hidden_bias", weights.shape[1])):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != (expected,):
                raise ConfigError(f"RBM {name} has shape {value.shape}; allowed ({expected},)")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "weights", weights)
        for name in ("weights", "visible_bias", "hidden_bias"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ConfigError(f"RBM {name} holds a value that is not finite")

    @property
    def visible(self) -> int:
        return self.weights.shape[0]

    @property
    def hidden(self) -> int:
        return self.weights.shape[1]

    @property
    def n(self) -> int:
        """p-bits: hidden then visible units."""
        return self.visible + self.hidden

    def energy(self, v, h) -> np.ndarray:
        """``E(v, h)`` (float64) of 0/1 arrays ``v [..., V]`` and ``h [..., H]``."""
        v, h = np.asarray(v, dtype=np.float64), np.asarray(h, dtype=np.float64)
        return -np.einsum("...i,ij,...j->...", v, self.weights, h) - v @ self.visible_bias \
            - h @ self.hidden_bias

    def to_ising(self) -> IsingProblem:
        """The Ising problem of the module docstring (nodes: hidden, then visible)."""
        H = self.hidden
        vis, hid = np.meshgrid(np.arange(self.visible), np.arange(H), indexing="ij")
        edges = np.stack([hid.ravel(), H + vis.ravel()], axis=1)
        quarter = self.weights / 4
        h = np.concatenate([self.hidden_bias / 2 + quarter.sum(axis=0),
                            self.visible_bias / 2 + quarter.sum(axis=1)])
        return IsingProblem(self.n, edges.astype(np.int64), quarter.ravel(), h, name="rbm")

    @property
    def colours(self) -> tuple[int, ...]:
        """The update phases of the p-bits: hidden units 0, visible units 1."""
        return (0,) * self.hidden + (1,) * self.visible

    def topology(self) -> Topology:
        """The bipartite graph, coloured by :attr:`colours`."""
        return colour(self.n, self.to_ising().edges, colours=self.colours)

    def split(self, states) -> tuple[np.ndarray, np.ndarray]:
        """``(v, h)`` of p-bit states ``[..., n]``."""
        states = np.asarray(states)
        return states[..., self.hidden:], states[..., :self.hidden]

    def join(self, v, h) -> np.ndarray:
        """p-bit states ``[..., n]`` (uint8) of ``v`` and ``h``."""
        return np.concatenate([np.asarray(h), np.asarray(v)], axis=-1).astype(np.uint8)

    def save(self, path: str | Path) -> None:
        np.savez(path, weights=self.weights, visible_bias=self.visible_bias,
                 hidden_bias=self.hidden_bias)

    @classmethod
    def load(cls, path: str | Path) -> RBM:
        """An RBM written by :meth:`save`; a file that is not one is refused, naming it."""
        try:
            arrays = read_npz(path, "RBM file")
        except ConfigError:
            raise ConfigError(f"{path} is not an RBM file; allowed an .npz archive holding "
                              "weights, visible_bias and hidden_bias") from None
        fields = {k: arrays[k] for k in ("weights", "visible_bias", "hidden_bias") if k in arrays}
        found = sorted(arrays)
        if len(fields) != 3:
            raise ConfigError(f"{path} holds {found}; an RBM file holds ['hidden_bias', "
                              "'visible_bias', 'weights']")
        return cls(**fields)

    def to_sklearn(self, seed: int = 0):
        """A ``BernoulliRBM`` with these parameters (for its ``gibbs`` and ``score_samples``),
        its random state seeded with ``seed``."""
        from sklearn.neural_network import BernoulliRBM

        estimator = BernoulliRBM(n_components=self.hidden, random_state=seed)
        estimator.components_ = self.weights.T.copy()
        estimator.intercept_visible_ = self.visible_bias.copy()
        estimator.intercept_hidden_ = self.hidden_bias.copy()
        estimator.random_state_ = np.random.RandomState(seed)
        estimator.n_features_in_ = self.visible
        return estimator


def rbm_from_sklearn(estimator) -> RBM:
    """The :class:`RBM` of a fitted ``sklearn.neural_network.BernoulliRBM``."""
    return RBM(estimator.components_.T, estimator.intercept_visible_,
               estimator.intercept_hidden_)


def sklearn_gibbs(rbm: RBM, samples: int, steps: int, seed: int = 0) -> np.ndarray:
    """``samples`` chains of scikit-learn's own sampler (``BernoulliRBM.gibbs``) from all-zero
    visible units, ``steps`` steps each: the visible units after the last, float64 [samples,
    V]."""
    estimator = rbm.to_sklearn(seed)
    v = np.zeros((samples, rbm.visible))
    for _ in range(steps):
        v = estimator.gibbs(v)
    return v.astype(np.float64)


def pseudo_likelihood(rbm: RBM, v, draws: int = PSEUDO_LIKELIHOOD_DRAWS) -> np.ndarray:
    """Per sample, scikit-learn's ``score_samples`` (the pseudo-likelihood from one random
    visible unit, times V) averaged over ``draws`` scorers seeded ``0 .. draws-1``: one draw
    varies by about its own size from sample to sample, so the mean of 1,000 samples would
    carry a 10 % error; the average tends to the full pseudo-likelihood ``sum_i log p(v_i |
    v_-i)``."""
    v = np.asarray(v, dtype=np.float64)
    return np.mean([rbm.to_sklearn(seed).score_samples(v) for seed in range(draws)], axis=0)


@dataclass(frozen=True)
class Comparison:
    """Mean pseudo-likelihoods (:func:`pseudo_likelihood`) of two sets of samples, ``ours``
    and ``theirs``, with the standard error of each mean."""

    ours: float
    ours_error: float
    theirs: float
    theirs_error: float

    @classmethod
    def of(cls, rbm: RBM, ours, theirs) -> Comparison:
        """Compare visible samples ``ours [k, V]`` with ``theirs [k', V]``."""
        a, b = pseudo_likelihood(rbm, ours), pseudo_likelihood(rbm, theirs)
        return cls(float(a.mean()), float(a.std() / np.sqrt(len(a))), float(b.mean()),
                   float(b.std() / np.sqrt(len(b))))

    @property
    def relative_difference(self) -> float:
        """``|ours / theirs - 1|``."""
        return abs(self.ours / self.theirs - 1)

    @property
    def standard_error(self) -> float:
        """One standard error of the difference of the means, relative to ``|theirs|``."""
        return float(np.hypot(self.ours_error, self.theirs_error) / abs(self.theirs))


def write_grid(images, path: str | Path, *, side: int, columns: int = 10,
               title: str = "") -> None:
    """A PNG of 0/1 images ``[k, side * side]`` in a grid of ``columns``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.4),
                                squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < len(images):
            ax.imshow(images[k].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
