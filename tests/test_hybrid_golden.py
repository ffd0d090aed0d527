"""spinemu.sim.golden.hybrid: a crossbar tile computing the fields of p-bits, against its
literal definition (spec.hybrid_run: every field through the tile's arithmetic) on random
problems, formats, colourings, schedules and seeds; and the refusals of an inexact tile."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError, PBitConfig, TileConfig
from spinemu.ising import colour
from spinemu.numeric import signed_range
from spinemu.sim.golden import spec
from spinemu.sim.golden.hybrid import HybridModel, exact_tile_config, field_bound
from spinemu.sim.golden.pbit import replica_seeds

SEEDS = range(8)


def random_problem(seed: int):
    """A random dense-ish problem: n 2..9, couplings of random width and density, biases,
    a colouring (DSATUR, or one p-bit at a time), a schedule and two replicas."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 10))
    config = PBitConfig(coupling_bits=int(rng.integers(2, 7)), bias_bits=int(rng.integers(3, 9)),
                        beta_bits=10, beta_frac=int(rng.integers(2, 8)),
                        lut_bits=int(rng.integers(4, 9)), lut_frac=3,
                        rng_bits=int(rng.integers(6, 13)))
    J = np.triu(rng.integers(*signed_range(config.coupling_bits), size=(n, n), endpoint=True), 1)
    J *= np.triu(rng.random((n, n)) < rng.uniform(0.3, 1.0), 1)
    J = J + J.T
    h = rng.integers(*signed_range(config.bias_bits), size=n, endpoint=True)
    i, j = np.nonzero(np.triu(J, 1))
    colours = (list(range(n)) if rng.random() < 0.3
               else list(colour(n, np.stack([i, j], axis=1)).colours))
    schedule = [(int(rng.integers(0, 1 << 10)), int(rng.integers(1, 4))) for _ in range(2)]
    seeds = replica_seeds(seed, 2, n)
    initial = rng.integers(0, 2, (2, n)).astype(np.uint8)
    return config, J, h, colours, schedule, seeds, initial


@pytest.mark.parametrize("seed", SEEDS)
def test_hybrid_model_equals_its_definition(seed):
    config, J, h, colours, schedule, seeds, initial = random_problem(seed)
    rng = np.random.default_rng(100 + seed)
    tile = exact_tile_config(J, config, lanes=int(rng.integers(1, 4)))
    if rng.random() < 0.5:   # a larger tile than needed: padding rows and columns
        tile = TileConfig(**{**tile.to_dict(), "rows": tile.rows + 3, "cols": tile.cols + 2,
                             "adc_bits": tile.adc_bits + 1, "out_bits": tile.out_bits + 2,
                             "input_bits": 3})
    model = HybridModel(tile, config, J, h, colours)
    got = model.run(schedule, seeds, initial, record=1)
    want = spec.hybrid_run(tile, config, model.weights(), h, colours, schedule, seeds, initial)
    for name in ("states", "lfsr", "energy", "best_energy", "best_state", "energies",
                 "trajectory"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_exact_tile_is_as_small_as_the_fields_allow():
    J = np.array([[0, 3, -2], [3, 0, 1], [-2, 1, 0]])
    tile = exact_tile_config(J, PBitConfig(coupling_bits=4))
    assert field_bound(J) == 5
    assert (tile.rows, tile.cols, tile.adc_bits, tile.out_bits, tile.cell_bits) == (3, 3, 4, 4, 4)
    assert (tile.input_bits, tile.input_signed, tile.gain_frac) == (2, True, 0)


@pytest.mark.parametrize("change, message", [
    ({"rows": 2}, r"the tile \(2 x 3\) cannot hold a problem of n = 3; allowed rows and cols"),
    ({"input_signed": False}, r"cannot carry spins -1/\+1; allowed signed inputs of at least 2"),
    ({"cell_bits": 2}, r"couplings reach -2\.\.3; the tile's cell_bits = 2 hold -2\.\.1"),
    ({"adc_bits": 3}, r"fields up to 5 .*; adc_bits = 3 holds 3, allowed >= 4 for an exact ADC"),
    ({"out_bits": 3}, r"out_bits = 3 holds 3, allowed >= 4"),
])
def test_an_inexact_tile_is_refused(change, message):
    J = np.array([[0, 3, -2], [3, 0, 1], [-2, 1, 0]])
    config = PBitConfig(coupling_bits=4)
    tile = TileConfig(**{**exact_tile_config(J, config).to_dict(), **change})
    with pytest.raises(ConfigError, match=message):
        HybridModel(tile, config, J, np.zeros(3), [0, 1, 2])


def test_bad_couplings_are_refused():
    config = PBitConfig(coupling_bits=8)
    tile = TileConfig(rows=2, cols=2, cell_bits=8, input_bits=2, input_signed=True, adc_bits=9,
                      out_bits=9, lanes=1)
    for J, message in [(np.zeros((2, 3)), r"have shape \(2, 3\); allowed a square"),
                       (np.array([[0, 1], [2, 0]]), r"symmetric with a zero diagonal"),
                       (np.array([[0, 200], [200, 0]]), r"couplings J.* out of range")]:
        with pytest.raises(ConfigError, match=message):
            HybridModel(tile, config, J, np.zeros(2), [0, 1])
    with pytest.raises(ConfigError, match=r"colour"):
        HybridModel(tile, config, np.array([[0, 1], [1, 0]]), np.zeros(2), [0, 0])
    big = np.full((300, 300), 127) - np.diag(np.full(300, 127))
    with pytest.raises(ConfigError, match=r"fields up to 37973 .* need adc_bits = 17; allowed at "
                                          r"most 16 \(an exact ADC path\)"):
        exact_tile_config(big, config)
