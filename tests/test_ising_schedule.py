"""spinemu.ising.schedule: beta codes, geometric and linear schedules, the default range."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.ising.scaling import DEFAULT_CONFIG
from spinemu.ising.schedule import (
    beta_code,
    default_beta_range,
    geometric_schedule,
    linear_schedule,
    make_schedule,
)


def test_geometric_and_linear_schedules():
    config = DEFAULT_CONFIG
    steps = geometric_schedule(config, 0.1, 3.0, 1000)
    assert sum(k for _, k in steps) == 1000 and len(steps) == 100
    codes = [code for code, _ in steps]
    assert codes[0] == beta_code(config, 0.1) and codes[-1] == beta_code(config, 3.0)
    assert all(b > a for a, b in zip(codes, codes[1:], strict=False))
    ratios = np.array(codes[1:]) / np.array(codes[:-1])
    assert np.allclose(ratios, (3.0 / 0.1) ** (1 / 99), rtol=0.01)
    line = linear_schedule(config, 0.0, 1.0, 10, steps=3)
    assert line == [(0, 4), (beta_code(config, 0.5), 3), (beta_code(config, 1.0), 3)]
    # Problem units: a problem held twice as large needs half the hardware beta.
    assert beta_code(config, 1.0, scale=2.0) == beta_code(config, 0.5) == 4096
    # Equal neighbouring codes merge into one step; sweeps are kept.
    assert make_schedule("linear", config, 0.5, 0.5, 7) == [(beta_code(config, 0.5), 7)]


@pytest.mark.parametrize("call, message", [
    (lambda: beta_code(DEFAULT_CONFIG, 9.0),
     r"^beta = 9 needs B = 73728, out of range; allowed B 0\.\.65535 \(beta 0\.\.7\.99988 with "
     r"beta_bits = 16, beta_frac = 7, lut_frac = 6, scale = 1\)$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, 0.5, 20.0, 10, scale=2.0),
     r"^beta_end = 20 needs B = 81920, out of range; allowed B 0\.\.65535 \(beta_end "
     r"0\.\.15\.9998 with beta_bits = 16, beta_frac = 7, lut_frac = 6, scale = 2\)$"),
    (lambda: geometric_schedule(DEFAULT_CONFIG, 0.0, 1.0, 10),
     r"^beta_start = 0 is out of range; allowed > 0 for a geometric schedule$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, -1.0, 1.0, 10),
     r"^beta_start = -1 is out of range; allowed >= 0$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, 0.0, 1.0, 0),
     r"^sweeps = 0 is out of range; allowed >= 1$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, 0.0, 1.0, 5, steps=6),
     r"^steps = 6 is out of range; allowed 1\.\.5 \(sweeps\)$"),
    (lambda: make_schedule("cosine", DEFAULT_CONFIG, 0.1, 1.0, 5),
     r"^schedule = 'cosine' is not known; allowed \['geometric', 'linear'\]$"),
])
def test_bad_schedules_name_the_value(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_default_beta_range(random_graph):
    graph = random_graph(np.random.default_rng(4), 12, integer=True)
    J = -graph.weights
    start, end = default_beta_range(J, np.zeros(12), 12, graph.edges)
    squares = np.zeros(12)
    np.add.at(squares, graph.edges.ravel(), np.repeat(J**2, 2))
    assert start == pytest.approx(1 / np.sqrt(squares.mean()))
    assert end == 3 / np.abs(J[J != 0]).min()
    with pytest.raises(ConfigError, match=r"^the problem has no non-zero coupling or bias"):
        default_beta_range(np.zeros(1), np.zeros(2), 2, [(0, 1)])
