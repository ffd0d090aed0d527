"""spinemu.ising.scaling: a problem's couplings and biases onto the core's integers."""

from __future__ import annotations

import numpy as np

from spinemu.config import PBitConfig
from spinemu.ising.problem import IsingProblem
from spinemu.ising.scaling import DEFAULT_CONFIG, quantize
from spinemu.numeric import round_half_away, round_half_up


def test_integer_problems_that_fit_are_kept(random_graph):
    graph = random_graph(np.random.default_rng(0), 9, integer=True)
    q = quantize(graph.to_ising(), DEFAULT_CONFIG)
    assert q.scale == 1 and q.max_rel_error == 0 and q.zeroed == 0
    assert (q.J == -graph.weights).all() and q.J.dtype == np.int64


def test_real_problems_are_scaled_with_the_error_reported():
    problem = IsingProblem(3, np.array([[0, 1], [1, 2]]), np.array([2.0, -0.01]),
                           np.array([0.5, 0.0, 0.3]))
    config = PBitConfig(coupling_bits=4, bias_bits=8)
    q = quantize(problem, config)
    assert q.scale == 7 / 2  # |J| <= 7 limits; biases would allow 127 / 0.5
    assert q.J.tolist() == [7, 0] and q.h.tolist() == [2, 0, 1]  # 1.75 -> 2, 1.05 -> 1
    values, codes = np.array([2.0, -0.01, 0.5, 0.3]), np.array([7, 0, 2, 1])
    error = np.abs(codes / q.scale - values) / np.abs(values)
    assert q.max_rel_error == error.max() == 1.0 and q.zeroed == 1  # -0.01 became 0
    wide = quantize(IsingProblem(2, np.array([[0, 1]]), np.array([300.0]), np.zeros(2)),
                    DEFAULT_CONFIG)
    assert wide.scale == 127 / 300 and wide.J.tolist() == [127]


def test_scaling_rounds_halves_away_from_zero():
    """Every half from -127 to 127 at scale 1: ties of both signs round as
    spinemu.numeric.round_half_away does, which the mapper's round_half_up (ties up, so -0.5 ->
    0) does not."""
    values = np.arange(-254, 255) / 2
    pairs = np.array([(i, j) for i in range(33) for j in range(i + 1, 33)])[:len(values)]
    q = quantize(IsingProblem(33, pairs, values, np.zeros(33)), DEFAULT_CONFIG)
    expected = [round_half_away(v) for v in values]
    assert q.scale == 1 and q.J.dtype == np.int64 and q.J.tolist() == expected
    negative_ties = (values < 0) & (values % 1 == 0.5)
    assert ((q.J != round_half_up(values)) == negative_ties).all() and negative_ties.any()
    no_edges = quantize(IsingProblem(2, np.zeros((0, 2), np.int64), np.zeros(0),
                                     np.array([2.5, -0.75])), DEFAULT_CONFIG)
    assert no_edges.J.dtype == np.int64 and no_edges.J.shape == (0,)
    assert no_edges.h.tolist() == [round_half_away(v * no_edges.scale) for v in (2.5, -0.75)]
