# amaranth: UnusedElaboratable=no
"""The RTL's activity counters (spinemu.hdl.activity) equal the golden model's counts
(spinemu.energy.activity) on random layers and networks, in amaranth.sim."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.config import LayerConfig, NetworkConfig, TileConfig
from spinemu.energy.activity import layer_activity, network_activity
from spinemu.hdl.layer import Network, TiledLayer
from spinemu.sim.counters import run_counted
from spinemu.sim.golden.network import LayerModel, NetworkModel
from spinemu.sim.runner import available_simulators
from spinemu.sim.testbench import random_pause

from cases import random_conv, random_inputs, random_layer_images, random_plan


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


@pytest.mark.parametrize("seed", range(3))
def test_convolution_network_counters_equal_golden_counts(seed):
    """A convolution (its im2col patches through the tiled layer, pooled) then a dense layer."""
    rng = np.random.default_rng(500 + seed)
    conv = random_conv(rng, 5, 4, 2, max_kernel=3)
    first = LayerConfig(conv.patch_features, 3, TileConfig(rows=5, cols=2, lanes=1,
                                                           input_bits=3), act_bits=4, conv=conv)
    second = LayerConfig(first.outputs, 2, TileConfig(rows=4, cols=2, lanes=1, input_bits=4),
                         relu=False)
    config = NetworkConfig((first, second))
    images = [random_layer_images(rng, layer) for layer in config.layers]
    x = random_inputs(rng, first, 2)
    got, counts = run_counted(Network(config, images, counters=True), x, second.out_features)
    model = NetworkModel(config, images)
    assert (got == model(x)).all()
    assert counts == {f"layer{i}": a.as_counters()
                      for i, a in enumerate(network_activity(model, x).layers)}, (seed, conv)


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


def _pbit_case(seed: int):
    """A random graph, its colouring, formats (random units and lanes), couplings, biases,
    seeds, initial state and a 3-step schedule."""
    from spinemu.config import PBitConfig
    from spinemu.ising import colour
    from spinemu.numeric import derive_seeds, signed_range

    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.4]
    topology = colour(n, edges)
    config = PBitConfig(coupling_bits=6, bias_bits=6, rng_bits=int(rng.integers(4, 15)),
                        update_units=int(rng.integers(1, n + 1)),
                        update_lanes=int(rng.integers(1, max(topology.max_degree, 1) + 1)))
    J = rng.integers(*signed_range(6), size=len(edges), endpoint=True)
    h = rng.integers(*signed_range(6), size=n, endpoint=True)
    state0 = rng.integers(0, 2, size=n).astype(np.uint8)
    schedule = [(int(rng.integers(0, 1 << 12)), int(rng.integers(1, 4))) for _ in range(3)]
    return config, topology, J, h, derive_seeds(seed, n), state0, schedule


@pytest.mark.parametrize("seed", range(6))
def test_pbit_counters_equal_golden_counts(seed):
    from spinemu.energy.activity import pbit_activity
    from spinemu.hdl.pbit import PBitCore
    from spinemu.sim.counters import run_pbit_counted
    from spinemu.sim.golden.pbit import PBitModel

    config, topology, J, h, seeds, state0, schedule = _pbit_case(seed)
    trajectory, counts = run_pbit_counted(
        PBitCore(config, topology, schedule_depth=len(schedule), counters=True),
        J, h, seeds, state0, schedule)
    golden = PBitModel(config, topology, J, h).run(schedule, seeds[None], state0[None],
                                                   record=True)
    assert (trajectory == golden.trajectory[:, 0]).all()
    activity = pbit_activity(config, topology, golden.sweeps, 1, state0[None],
                             golden.trajectory)
    assert counts == {"updates": activity.updates, "random_bits": activity.random_bits,
                      "state_changes": activity.state_changes}, (seed, config)
    assert activity.state_changes > 0


@pytest.mark.skipif("verilator" not in available_simulators(), reason="needs Verilator")
def test_network_counters_in_verilog_on_verilator_equal_golden_counts():
    """The counters as Verilog under cocotb (a network with several row-tiles, so its adder
    tree counts too), read once ``drained``."""
    from spinemu.sim.network_runner import run_network

    rng = np.random.default_rng(7)
    plan = random_plan(rng, layers=2, max_features=14, max_rows=4, max_cols=4,
                       min_row_tiles=3)
    x = random_inputs(rng, plan.config.layers[0], 4)
    run = run_network(plan, x, counters=True, optimise=False)  # 4 vectors: build fast
    model = plan.model()
    assert (run.a == model(x)).all()
    golden = {f"layer{i}": a.as_counters()
              for i, a in enumerate(network_activity(model, x).layers)}
    assert "tree_adds" in golden["layer0"]
    assert run.counts == golden
