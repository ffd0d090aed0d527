"""Golden tiled layers and networks against a direct reference, and plan files."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError, LayerConfig, NetworkConfig, TileConfig
from spinemu.images import LayerImages
from spinemu.numeric import signed_range, unsigned_range
from spinemu.plan import Plan
from spinemu.sim.golden import tile_forward
from spinemu.sim.golden.network import LayerModel
from spinemu.sim.stimulus import random_images


def random_layer(rng, relu: bool, input_bits=4, input_signed=False) -> tuple:
    tile = TileConfig(rows=int(rng.integers(2, 9)), cols=int(rng.integers(2, 7)), lanes=1,
                      cell_bits=int(rng.integers(2, 7)), input_bits=input_bits,
                      input_signed=input_signed, adc_bits=int(rng.integers(4, 10)),
                      out_bits=int(rng.integers(4, 12)))
    layer = LayerConfig(int(rng.integers(1, 30)), int(rng.integers(1, 20)), tile, relu=relu,
                        act_bits=int(rng.integers(2, 9)), mult_bits=8, bias_bits=10)
    grid = (layer.row_tiles, layer.col_tiles, tile.cols)
    tiles = [random_images(rng, tile, 1) for _ in range(layer.row_tiles * layer.col_tiles)]
    images = LayerImages(
        g=rng.integers(*signed_range(tile.cell_bits), size=(layer.in_features,
                                                             layer.out_features), endpoint=True),
        adc_shift=np.array([t[2] for t in tiles]).reshape(grid),
        gain=np.array([t[3] for t in tiles]).reshape(grid),
        offset=np.array([t[4] for t in tiles]).reshape(grid),
        bias=rng.integers(*signed_range(10), size=layer.out_features, endpoint=True),
        mult=rng.integers(*unsigned_range(8), size=layer.out_features, endpoint=True),
        shift=rng.integers(0, 12, size=layer.out_features, endpoint=True))
    return layer, images


def reference(layer: LayerConfig, images: LayerImages, x) -> np.ndarray:
    """DESIGN 3.2 written out: one tile at a time, then per-output Python-int periphery."""
    t = layer.tile
    out = np.zeros((len(x), layer.out_features), np.int64)
    for o in range(layer.out_features):
        q, c = divmod(o, t.cols)
        for b in range(len(x)):
            y = 0
            for p in range(layer.row_tiles):
                g = np.zeros((t.rows, t.cols), np.int64)
                rows = range(p * t.rows, min((p + 1) * t.rows, layer.in_features))
                cols = range(q * t.cols, min((q + 1) * t.cols, layer.out_features))
                g[: len(rows), : len(cols)] = images.g[np.ix_(rows, cols)]
                xp = np.zeros((1, t.rows), np.int64)
                xp[0, : len(rows)] = x[b, rows]
                y += int(tile_forward(t, g, xp, images.adc_shift[p, q], images.gain[p, q],
                                      images.offset[p, q])[0, c])
            v = y + int(images.bias[o])
            if layer.relu:
                v = max(v, 0)
            s = int(images.shift[o])
            v = v * int(images.mult[o])
            v = (v + (1 << (s - 1))) >> s if s else v
            lo, hi = (0, (1 << layer.act_bits) - 1) if layer.relu else signed_range(
                layer.act_bits)
            out[b, o] = min(max(v, lo), hi)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_layer_matches_reference(seed):
    rng = np.random.default_rng(seed)
    layer, images = random_layer(rng, relu=bool(seed % 2), input_signed=bool(seed % 3 == 0))
    x = rng.integers(*layer.tile.input_range, size=(3, layer.in_features), endpoint=True)
    assert (LayerModel(layer, images)(x) == reference(layer, images, x)).all(), (seed, layer)


def two_layer_plan(rng) -> Plan:
    first, first_images = random_layer(rng, relu=True)
    second_tile = TileConfig(rows=5, cols=3, lanes=1, input_bits=first.act_bits)
    second = LayerConfig(first.out_features, 4, second_tile, relu=False, act_bits=8)
    return Plan(NetworkConfig((first, second)),
                (first_images, LayerImages.identity(second, rng.integers(
                    -8, 8, size=(first.out_features, 4)))))


def test_plan_round_trip_and_network(tmp_path):
    rng = np.random.default_rng(5)
    plan = two_layer_plan(rng)
    plan.save(tmp_path / "p")
    loaded = Plan.load(tmp_path / "p")
    assert loaded.config == plan.config
    x = rng.integers(0, 16, size=(4, plan.config.layers[0].in_features))
    acts = plan.model().activations(x)
    assert (loaded.model()(x) == acts[-1]).all()
    assert (acts[1] == LayerModel(plan.config.layers[1], plan.images[1])(acts[0])).all()


def test_bad_plans_are_refused(tmp_path):
    rng = np.random.default_rng(6)
    plan = two_layer_plan(rng)
    plan.save(tmp_path / "p")
    with np.load(tmp_path / "p" / "images.npz") as data:
        arrays = dict(data)
    arrays["layer1.mult"] = arrays["layer1.mult"] - 2
    np.savez(tmp_path / "p" / "images.npz", **arrays)
    with pytest.raises(ConfigError, match=r"^layer 1 mult\[0\] = -1 is out of range; allowed"):
        Plan.load(tmp_path / "p")
    with pytest.raises(ConfigError, match=r"is not a plan: network\.toml is missing$"):
        Plan.load(tmp_path / "nothing")
    (tmp_path / "p" / "images.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=r"is not a readable npz"):
        Plan.load(tmp_path / "p")


def test_network_widths_must_chain():
    tile = TileConfig(rows=4, cols=4, lanes=1)
    with pytest.raises(ConfigError, match=r"^layer 1: in_features = 5 but layer 0 has "
                                          r"out_features = 4$"):
        NetworkConfig((LayerConfig(8, 4, tile), LayerConfig(5, 2, tile)))
    with pytest.raises(ConfigError, match=r"^layer 1: inputs are 4-bit unsigned but layer 0 "
                                          r"outputs 8-bit unsigned codes$"):
        NetworkConfig((LayerConfig(8, 4, tile, act_bits=8), LayerConfig(4, 2, tile)))
