"""Activity counts from the golden model, checked against counts made independently from the
shapes and the input codes (explicit loops over tiles, rows and bits)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spinemu.config import ConvConfig, LayerConfig, TileConfig
from spinemu.energy.activity import (
    anneal_activity,
    layer_activity,
    network_activity,
    pbit_activity,
    retiled,
    tree_adds_per_level,
)
from spinemu.ising import DEFAULT_CONFIG, anneal
from spinemu.sim.golden import spec
from spinemu.sim.golden.network import LayerModel

from cases import random_layer_images, random_plan


def _loop_counts(layer: LayerConfig, patches: np.ndarray) -> dict:
    """Counts of a dense layer's patches by walking every tile, row and input bit."""
    t = layer.tile
    pulses = np.zeros(t.input_bits, np.int64)
    for vector, p, _tile_column, r in itertools.product(range(len(patches)), range(layer.row_tiles),
                                             range(layer.col_tiles), range(t.rows)):
        feature = p * t.rows + r
        if feature < layer.in_features:
            value = abs(int(patches[vector, feature]))
            for b in range(t.input_bits):
                pulses[b] += (value >> b) & 1
    return {"pulses": pulses, "cell_reads": int(pulses.sum()) * t.cols,
            "conversions": len(patches) * layer.row_tiles * layer.col_tiles * t.cols,
            "tree_adds": (layer.row_tiles - 1) * len(patches) * layer.col_tiles * t.cols,
            "macs": len(patches) * layer.in_features * layer.out_features}


@pytest.mark.parametrize("seed", range(6))
def test_dense_layer_counts_equal_a_walk_over_tiles_rows_and_bits(seed):
    rng = np.random.default_rng(seed)
    signed = bool(seed % 2)
    tile = TileConfig(rows=int(rng.integers(2, 9)), cols=int(rng.integers(1, 7)), lanes=1,
                      input_bits=int(rng.integers(1, 6)), input_signed=signed)
    layer = LayerConfig(int(rng.integers(1, 30)), int(rng.integers(1, 20)), tile)
    model = LayerModel(layer, random_layer_images(rng, layer))
    x = rng.integers(*tile.input_range, size=(int(rng.integers(1, 5)), layer.in_features),
                     endpoint=True)
    x[:, rng.random(layer.in_features) < 0.3] = 0  # zero inputs cost no pulses
    got = layer_activity(model, x)
    want = _loop_counts(layer, x)
    assert (got.pulses_by_bit == want["pulses"]).all(), (seed, layer)
    assert got.cell_reads == want["cell_reads"]
    assert got.adc_conversions == got.calibration_ops == want["conversions"]
    assert sum(got.tree_adds) == want["tree_adds"]
    assert len(got.tree_adds) == int(np.ceil(np.log2(layer.row_tiles)))
    assert got.macs == want["macs"]
    assert got.periphery_ops == len(x) * layer.out_features
    assert got.buffer_bits_read == len(x) * layer.in_features * tile.input_bits


def test_tree_adds_per_level_halve_with_odd_ones_passing():
    assert tree_adds_per_level(1) == []
    assert tree_adds_per_level(2) == [1]
    assert tree_adds_per_level(5) == [2, 1, 1]
    assert all(sum(tree_adds_per_level(p)) == p - 1 for p in range(1, 70))


def test_convolution_counts_every_window_position():
    rng = np.random.default_rng(3)
    conv = ConvConfig(height=5, width=4, channels=2, kernel=3, pool="max", pool_size=1)
    tile = TileConfig(rows=8, cols=4, lanes=1, input_bits=3)
    layer = LayerConfig(conv.patch_features, 3, tile, conv=conv)
    model = LayerModel(layer, random_layer_images(rng, layer))
    x = rng.integers(0, 8, size=(2, conv.inputs))
    got = layer_activity(model, x)
    images = x.reshape(2, 5, 4, 2)  # NHWC
    bits = np.zeros(3, np.int64)
    for v, i, j in itertools.product(range(2), range(3), range(2)):
        window = images[v, i:i + 3, j:j + 3, :]
        for b in range(3):
            bits[b] += int(((window >> b) & 1).sum())
    assert got.patches == 2 * 6
    assert (got.pulses_by_bit == bits * layer.col_tiles).all()
    assert got.macs == 12 * conv.patch_features * 3


def test_network_counts_each_layer_on_the_codes_the_layer_before_produced():
    rng = np.random.default_rng(5)
    plan = random_plan(rng, layers=3, max_features=20, max_rows=6, max_cols=5)
    model = plan.model()
    first = plan.config.layers[0]
    x = rng.integers(*first.tile.input_range, size=(4, first.inputs), endpoint=True)
    activity = network_activity(model, x)
    inputs = [x, *model.activations(x)[:-1]]
    for layer, a, codes in zip(plan.config.layers, activity.layers, inputs, strict=True):
        assert (a.pulses_by_bit == _loop_counts(layer, codes)["pulses"]).all()
    assert activity.vectors == 4
    assert activity.macs == sum(4 * layer.in_features * layer.out_features
                                for layer in plan.config.layers)


def test_retiled_layers_keep_their_inputs_and_recount_the_shapes():
    rng = np.random.default_rng(8)
    tile = TileConfig(rows=4, cols=3, lanes=1, input_bits=4)
    layer = LayerConfig(10, 7, tile)
    model = LayerModel(layer, random_layer_images(rng, layer))
    x = rng.integers(0, 16, size=(3, 10))
    wide = retiled(layer_activity(model, x), rows=16, cols=8, adc_bits=5)
    direct = _loop_counts(LayerConfig(10, 7, TileConfig(rows=16, cols=8, lanes=1,
                                                        input_bits=4)), x)
    assert (wide.pulses_by_bit == direct["pulses"]).all()
    assert wide.adc_conversions == direct["conversions"]
    assert wide.layer.tile.adc_bits == 5


def test_pbit_counts_equal_a_walk_over_the_spec_chains(random_graph):
    rng = np.random.default_rng(2)
    result = anneal(random_graph(rng, 9, 0.5, integer=True), sweeps=6, steps=2, replicas=3,
                    seed=4, record=1)
    activity = anneal_activity(result)
    topology, config = result.topology, result.config
    slow = spec.pbit_run(config, topology, result.quantized.J, result.quantized.h,
                         result.schedule, result.seeds, result.initial)
    assert (slow.trajectory == result.run.trajectory).all()
    changes = 0
    for r in range(3):
        previous = result.initial[r]
        for sweep in range(6):
            state = slow.trajectory[sweep, r]
            changes += sum(int(a != b) for a, b in zip(previous, state, strict=True))
            previous = state
    degree_sum = sum(sum(i in edge for edge in topology.edges) for i in range(9))
    assert activity.updates == 6 * 3 * 9
    assert activity.random_bits == 6 * 3 * 9 * config.rng_bits
    assert activity.coupling_reads == 6 * 3 * degree_sum
    assert activity.phases == 6 * 3 * topology.num_colours
    assert activity.state_changes == changes


def test_pbit_counts_without_a_trajectory_leave_state_changes_unknown():
    from spinemu.ising import colour

    topology = colour(4, [(0, 1), (1, 2), (2, 3)])
    activity = pbit_activity(DEFAULT_CONFIG, topology, 10, 2)
    assert activity.state_changes is None and activity.updates == 80
