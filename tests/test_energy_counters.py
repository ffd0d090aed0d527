# amaranth: UnusedElaboratable=no
"""The RTL's activity counters (spinemu.hdl.activity) equal the golden model's counts
(spinemu.energy.activity) on random layers and networks, in amaranth.sim."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import ConfigError, ConvConfig, LayerConfig, NetworkConfig, TileConfig
from spinemu.energy.activity import layer_activity, network_activity
from spinemu.hdl.layer import Network, TiledLayer
from spinemu.sim.counters import run_counted
from spinemu.sim.golden.network import LayerModel
from spinemu.sim.testbench import random_pause

from cases import random_inputs, random_plan


@pytest.mark.parametrize("seed", range(8))
def test_layer_counters_equal_golden_counts(seed):
    rng = np.random.default_rng(300 + seed)
    plan = random_plan(rng, layers=1, max_features=20, max_rows=6, max_cols=5,
                       min_row_tiles=3 if seed % 2 else 1)
    layer, images = plan.config.layers[0], plan.images[0]
    x = random_inputs(rng, layer, 4)
    pause = random_pause(rng, 0.3) if seed % 3 == 0 else None
    got, counts = run_counted(TiledLayer(layer, images, counters=True), x, layer.out_features,
                              pause)
    model = LayerModel(layer, images)
    assert (got == model(x)).all()
    assert counts == layer_activity(model, x).as_counters(), (seed, layer)


def test_the_cases_cover_signed_inputs_and_trees_of_several_levels():
    seen = set()
    for seed in range(8):
        rng = np.random.default_rng(300 + seed)
        layer = random_plan(rng, layers=1, max_features=20, max_rows=6, max_cols=5,
                            min_row_tiles=3 if seed % 2 else 1).config.layers[0]
        seen |= {("signed", layer.tile.input_signed), ("levels >= 2", layer.row_tiles >= 3),
                 ("col_tiles > 1", layer.col_tiles > 1)}
    assert seen >= {(name, flag) for name in ("signed", "levels >= 2") for flag in (False, True)}
    assert ("col_tiles > 1", True) in seen


@pytest.mark.parametrize("seed", range(3))
def test_network_counters_equal_golden_counts_layer_by_layer(seed):
    rng = np.random.default_rng(400 + seed)
    plan = random_plan(rng, layers=2 + seed % 2, max_features=14, max_rows=5, max_cols=5)
    x = random_inputs(rng, plan.config.layers[0], 3)
    dut = Network(plan.config, plan.images, counters=True)
    got, counts = run_counted(dut, x, plan.config.layers[-1].out_features)
    model = plan.model()
    assert (got == model(x)).all()
    activity = network_activity(model, x)
    for index, layer in enumerate(activity.layers):
        assert counts[f"layer{index}"] == layer.as_counters(), (seed, index)


def test_counters_refuse_convolution_networks():
    conv = ConvConfig(height=4, width=4, channels=1, kernel=3)
    layer = LayerConfig(conv.patch_features, 2, TileConfig(rows=9, cols=2, lanes=1), conv=conv)
    with pytest.raises(ConfigError, match=r"^counters: convolution layers have no activity "):
        Network(NetworkConfig((layer,)), counters=True)


def test_layers_without_counters_have_no_activity_port(small_layer):
    layer, _ = small_layer
    assert "activity" not in TiledLayer(layer).signature.members


def test_digits_network_counters_equal_golden_counts():
    """Must-show 2: the bundled digits MLP mapped with the defaults of ``spinemu map digits``,
    its first 16 held-out inputs."""
    from spinemu.mapper import map_model
    from spinemu.models import load_dataset

    data = load_dataset("digits")
    result = map_model("digits", data.calibration(256), data.test_x, data.test_y)
    plan, x = result.plan, result.mapping.input_codes(data.test_x[:16])
    got, counts = run_counted(Network(plan.config, plan.images, counters=True), x,
                              plan.config.layers[-1].out_features)
    model = plan.model()
    assert (got == model(x)).all()
    activity = network_activity(model, x)
    assert counts == {f"layer{i}": a.as_counters() for i, a in enumerate(activity.layers)}
