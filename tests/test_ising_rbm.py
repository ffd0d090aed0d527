"""spinemu.ising.rbm: RBMs as Ising problems, block Gibbs sampling on p-bits (golden model).

The statistical tests use fixed seeds; their thresholds come from the sampling statistics of a
perfect sampler: ``2 N KL(empirical || exact)`` of N samples over K states is about chi-square
with K - 1 degrees of freedom (mean K - 1, standard deviation sqrt(2 (K - 1))), so a sampler
that is right stays under ``(K - 1 + 5 sqrt(2 (K - 1))) / (2 N)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from spinemu.config import ConfigError
from spinemu.ising import (
    RBM,
    Comparison,
    all_states,
    exact_distribution,
    kl_divergence,
    pseudo_likelihood,
    rbm_from_sklearn,
    sample_rbm,
    sklearn_gibbs,
    state_index,
    write_grid,
)
from spinemu.models import bundled_rbm


def random_rbm(seed: int, visible: int, hidden: int, scale: float = 1.0) -> RBM:
    rng = np.random.default_rng(seed)
    return RBM(rng.normal(0, scale, (visible, hidden)), rng.normal(0, scale, visible),
               rng.normal(0, scale, hidden))


def chi_square_bound(states: int, samples: int) -> float:
    """The KL a perfect sampler stays under (module docstring)."""
    return (states - 1 + 5 * np.sqrt(2 * (states - 1))) / (2 * samples)


def rbm_distribution(rbm: RBM) -> np.ndarray:
    """``p(v, h) ~ exp(-E(v, h))`` over :func:`all_states` of the p-bits (hidden first)."""
    v, h = rbm.split(all_states(rbm.n))
    energies = rbm.energy(v, h)
    weights = np.exp(-(energies - energies.min()))
    return weights / weights.sum()


@pytest.mark.parametrize("seed", range(4))
def test_the_ising_problem_has_the_rbm_distribution(seed):
    rng = np.random.default_rng(seed)
    rbm = random_rbm(seed, int(rng.integers(1, 7)), int(rng.integers(1, 6)), scale=1.5)
    problem = rbm.to_ising()
    assert problem.n == rbm.n and len(problem.edges) == rbm.visible * rbm.hidden
    np.testing.assert_allclose(exact_distribution(*problem.dense(), 1.0), rbm_distribution(rbm),
                               rtol=1e-9, atol=1e-15)


def test_hidden_units_update_first_then_visible():
    rbm = random_rbm(0, 5, 3)
    topology = rbm.topology()
    assert topology.colours == (0,) * 3 + (1,) * 5
    v, h = rbm.split(np.arange(8))
    assert list(h) == [0, 1, 2] and list(v) == [3, 4, 5, 6, 7]
    assert np.array_equal(rbm.join(v, h), np.arange(8))


def test_samples_follow_the_rbm_distribution():
    """10 p-bits (1,024 states), 200,000 chains of 40 sweeps: KL to the RBM's own distribution
    under the perfect-sampler bound plus 0.002 for 8-bit couplings, and under 0.01 nats."""
    rbm = random_rbm(7, 6, 4)
    samples = 200_000
    result = sample_rbm(rbm, samples=samples, steps=40, seed=3)
    empirical = np.bincount(state_index(result.states), minlength=1 << rbm.n) / samples
    kl_integer = kl_divergence(empirical, result.exact)
    kl_rbm = kl_divergence(empirical, rbm_distribution(rbm))
    bound = chi_square_bound(1 << rbm.n, samples)
    assert kl_integer < bound, (kl_integer, bound)
    assert kl_rbm < min(bound + 0.002, 0.01), (kl_rbm, bound)


def test_one_sweep_is_one_gibbs_step():
    """After one sweep from all zeros, v follows the one-step law of scikit-learn's ``gibbs``
    (h ~ sigma(c), then v ~ sigma(b + W h)), not the visible-first one."""
    rbm = random_rbm(11, 4, 3, scale=2.0)
    samples = 100_000
    hidden = all_states(rbm.hidden).astype(np.float64)
    p_h = np.prod(np.where(hidden == 1, expit(rbm.hidden_bias), expit(-rbm.hidden_bias)), axis=1)
    visible = all_states(rbm.visible).astype(np.float64)
    fields = rbm.visible_bias + hidden @ rbm.weights.T                  # [2**H, V]
    p_v_given_h = np.prod(np.where(visible[None] == 1, expit(fields)[:, None],
                                   expit(-fields)[:, None]), axis=2)   # [2**H, 2**V]
    one_step = p_h @ p_v_given_h
    v, _ = rbm.split(sample_rbm(rbm, samples=samples, steps=1, seed=5).states)
    empirical = np.bincount(state_index(v), minlength=1 << rbm.visible) / samples
    assert kl_divergence(empirical, one_step) < chi_square_bound(1 << rbm.visible, samples)
    wrong_order = expit(rbm.visible_bias)     # visible first from h = 0: v ~ sigma(b)
    p_wrong = np.prod(np.where(visible == 1, wrong_order, 1 - wrong_order), axis=1)
    assert kl_divergence(empirical, p_wrong) > 10 * chi_square_bound(1 << rbm.visible, samples)


def test_scikit_learn_round_trip_and_its_sampler():
    rbm = bundled_rbm()
    again = rbm_from_sklearn(rbm.to_sklearn(seed=4))
    for name in ("weights", "visible_bias", "hidden_bias"):
        assert np.array_equal(getattr(again, name), getattr(rbm, name))
    v = sklearn_gibbs(rbm, samples=50, steps=3, seed=2)
    assert v.shape == (50, 64) and set(np.unique(v)) <= {0.0, 1.0}
    assert np.array_equal(v, sklearn_gibbs(rbm, samples=50, steps=3, seed=2))
    scores = pseudo_likelihood(rbm, v, draws=4)
    single = np.mean([rbm.to_sklearn(s).score_samples(v) for s in range(4)], axis=0)
    assert np.allclose(scores, single) and np.all(scores <= 0)


def test_comparison_of_two_sample_sets():
    rbm = bundled_rbm()
    ours, theirs = (sklearn_gibbs(rbm, samples=40, steps=2, seed=s) for s in (1, 2))
    both = Comparison.of(rbm, ours, theirs)
    a, b = pseudo_likelihood(rbm, ours), pseudo_likelihood(rbm, theirs)
    assert (both.ours, both.theirs) == (a.mean(), b.mean())
    assert both.ours_error == pytest.approx(a.std() / np.sqrt(40))
    assert both.relative_difference == pytest.approx(abs(a.mean() / b.mean() - 1))
    assert both.standard_error == pytest.approx(
        np.sqrt(a.var() / 40 + b.var() / 40) / abs(b.mean()))
    assert rbm.colours == (0,) * 64 + (1,) * 64 == rbm.topology().colours


def test_bundled_rbm_is_the_digits_one():
    rbm = bundled_rbm()
    assert (rbm.visible, rbm.hidden) == (64, 64)
    with pytest.raises(ConfigError, match=r"rbm = 'G14' is not bundled; allowed \['digits_rbm'\]"):
        bundled_rbm("G14")


def test_grid_is_a_png(tmp_path):
    write_grid(np.eye(4, 64), tmp_path / "g.png", side=8, columns=3, title="t")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- Bad input -----------------------------------------------------------------------------------

def test_rbm_files_that_are_not_one_are_refused(tmp_path):
    text, npy, wrong = tmp_path / "a.txt", tmp_path / "b.npy", tmp_path / "c.npz"
    text.write_text("not an rbm")
    np.save(npy, np.zeros(3))
    np.savez(wrong, weights=np.zeros((2, 2)))
    for path in (text, npy):
        with pytest.raises(ConfigError, match=r"is not an RBM file; allowed an \.npz archive"):
            RBM.load(path)
    with pytest.raises(ConfigError, match=r"holds \['weights'\]; an RBM file holds"):
        RBM.load(wrong)


@pytest.mark.parametrize("fields, message", [
    ((np.zeros(3), np.zeros(3), np.zeros(1)), r"weights have shape \(3,\); allowed a non-empty"),
    ((np.zeros((3, 2)), np.zeros(2), np.zeros(2)),
     r"visible_bias has shape \(2,\); allowed \(3,\)"),
    ((np.zeros((3, 2)), np.zeros(3), np.zeros(3)),
     r"hidden_bias has shape \(3,\); allowed \(2,\)"),
    ((np.full((1, 1), np.nan), np.zeros(1), np.zeros(1)), r"weights holds a value that is not"),
])
def test_bad_rbm_fields_are_named(fields, message):
    with pytest.raises(ConfigError, match=message):
        RBM(*fields)


def test_zero_steps_are_refused():
    with pytest.raises(ConfigError, match=r"steps = 0 is out of range; allowed >= 1"):
        sample_rbm(random_rbm(0, 2, 2), samples=5, steps=0)
