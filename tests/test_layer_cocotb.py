"""Whole networks under cocotb on Verilator and Icarus, bit for bit against the golden model,
and the ``sim layer`` command; networks of convolutions too (random kernel, stride, padding,
channels, image size and pooling: :func:`cases.random_conv_plan`).

Four random two-layer networks (fixed seeds): every combination of relu on the two layers,
padded rows and columns, at least three row-tiles in the first layer so the adder tree has depth,
several columns of tiles, random widths and images over their full ranges. Images are loaded at
run time through the network's write stream; half the cases stall every stream at random.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from spinemu.cli_layer import DUMP_KEYS, layer
from spinemu.config import ConfigError
from spinemu.mapper import map_model
from spinemu.models import load_dataset
from spinemu.numeric import clog2
from spinemu.plan import Plan
from spinemu.sim.network_runner import run_network

from cases import random_conv_plan, random_inputs, random_plan, simulator_or_skip

RELU = [(True, False), (False, True), (True, True), (False, False)]


def network_case(index: int) -> tuple[Plan, np.ndarray]:
    rng = np.random.default_rng(3000 + index)
    plan = random_plan(rng, layers=2, max_features=32, max_rows=12, max_cols=12,
                       relu=RELU[index], min_row_tiles=3, max_tiles=3)
    return plan, random_inputs(rng, plan.config.layers[0], 8)


def test_cases_cover_padding_and_tree_depth():
    layers = [network_case(i)[0].config.layers for i in range(len(RELU))]
    assert all(first.row_tiles >= 3 for first, _ in layers)
    flat = [layer for pair in layers for layer in pair]
    assert any(layer.in_features % layer.tile.rows for layer in flat)
    assert any(layer.out_features % layer.tile.cols for layer in flat)
    assert any(layer.col_tiles > 1 for layer in flat)
    assert any(layer.tile.input_signed for layer in flat)
    assert {clog2(first.row_tiles) for first, _ in layers} >= {2}


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("index", range(len(RELU)))
def test_network_rtl_matches_golden(simulator, index):
    plan, x = network_case(index)
    # A few vectors: Verilator's C++ at -O0 builds in a fraction of -O2's time.
    run = run_network(plan, x, simulator=simulator_or_skip(simulator),
                      stall=(0.0, 0.2)[index % 2], seed=index, optimise=False)
    expected = plan.model()(x)
    assert run.a.shape == expected.shape
    mismatches = int((run.a != expected).sum())
    assert mismatches == 0, f"{mismatches} mismatches for case {index}: {plan.config}\n{run.log}"
    assert run.cycles > 0 and run.sim_seconds > 0


def test_bad_inputs_are_refused():
    plan, x = network_case(0)
    n = plan.config.layers[0].in_features
    lo, hi = plan.config.layers[0].tile.input_range
    bad = x.copy()
    bad[1, 2] = hi + 1
    with pytest.raises(ConfigError, match=rf"^inputs\[1, 2\] = {hi + 1} is out of range; "
                                          rf"allowed {lo}\.\.{hi} \(1 element\(s\) outside\)$"):
        run_network(plan, bad)
    with pytest.raises(ConfigError, match=rf"^inputs must be 2-D \[batch >= 1, {n}\], got "
                                          rf"shape \({n},\)$"):
        run_network(plan, x[0])
    with pytest.raises(ConfigError, match=r"^stall = 1\.0 is out of range; allowed 0 <= stall "
                                          r"< 1$"):
        run_network(plan, x, stall=1.0)
    with pytest.raises(TypeError, match=r"^plan must be a Plan, not NetworkConfig$"):
        run_network(plan.config, x)


def invoke(*args):
    return CliRunner().invoke(layer, [str(a) for a in args], catch_exceptions=False)


def test_sim_layer_command_runs_held_out_inputs(tmp_path):
    """The mapped bundled digits model (default settings: two 128x128 tiles), three held-out
    inputs quantized as its mapping says, on Verilator."""
    data = load_dataset("digits")
    result = map_model("digits", data.calibration(256), data.test_x, data.test_y)
    result.save(tmp_path / "plan")
    dump = tmp_path / "d.npz"
    output = invoke(tmp_path / "plan", "--streams", "--vectors", 3, "--dump", dump)
    assert output.exit_code == 0, output.output
    assert re.search(r"mismatches\s+│ 0 ", output.output), output.output
    assert "first 3 held-out inputs of digits" in output.output
    assert "per inference" in output.output and "simulated cycles/s" in output.output
    with np.load(dump) as saved:
        assert set(saved.files) == set(DUMP_KEYS)
        assert (saved["x"] == result.mapping.input_codes(data.test_x[:3])).all()
        assert (saved["a_rtl"] == result.plan.model()(saved["x"])).all()
    with pytest.raises(ConfigError, match=r"^vectors = 541 is out of range; allowed 1\.\.540 "
                                          r"\(the held-out inputs of digits\)$"):
        invoke(tmp_path / "plan", "--vectors", 541)


def test_sim_layer_command_draws_random_inputs(tmp_path):
    plan, _ = network_case(3)  # the build of test_network_rtl_matches_golden[3-verilator]
    plan.save(tmp_path / "plan")
    result = invoke(tmp_path / "plan", "--streams", "--vectors", 3, "--seed", 4)
    assert result.exit_code == 0, result.output
    assert "random codes (seed 4)" in result.output
    with pytest.raises(ConfigError, match=r"^vectors = 0 is out of range; allowed >= 1$"):
        invoke(tmp_path / "plan", "--vectors", 0)
    with pytest.raises(ConfigError, match=r"is not a plan: network\.toml is missing$"):
        invoke(tmp_path / "nothing")


# --- Convolutions ----------------------------------------------------------------------------

#: Seeds of :func:`conv_case`: avg 3x3 pooling (n = 9) on 3 channels; two convolutions with
#: padding and a max 2x2 pooling; a strided convolution with an avg 2x2 pooling after another
#: and a dense layer on two columns of tiles; stride 3 with padding, max 2x2, a dense layer.
CONV_SEEDS = (4000, 4021, 4017, 4008)
SIM_LAYER_CASE = 3  # the convolution case test_sim_layer_command_runs_a_conv_plan runs


def conv_case(index: int) -> tuple[Plan, np.ndarray]:
    seed = CONV_SEEDS[index]
    rng = np.random.default_rng(seed)
    plan = random_conv_plan(rng, convs=1 + seed % 2, dense=seed % 3 == 0)
    return plan, random_inputs(rng, plan.config.layers[0], 3)


def test_conv_cases_cover_the_geometry():
    layers = [layer for i in range(len(CONV_SEEDS)) for layer in conv_case(i)[0].config.layers]
    convs = [layer.conv for layer in layers if layer.conv is not None]
    assert {conv.pool for conv in convs} >= {"max", "avg"}
    assert any(conv.pool == "avg" and conv.pool_size == 3 for conv in convs)
    assert any(conv.stride > 1 for conv in convs) and any(conv.padding > 0 for conv in convs)
    assert any(conv.channels > 1 for conv in convs) and any(conv.kernel > 2 for conv in convs)
    assert any(layer.conv is None for layer in layers)
    assert any(layer.col_tiles > 1 for layer in layers)
    assert any(layer.tile.input_signed for layer in layers)


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
@pytest.mark.parametrize("index", range(len(CONV_SEEDS)))
def test_conv_network_rtl_matches_golden(simulator, index):
    plan, x = conv_case(index)
    # -O0 as above, but for the case whose -O2 build `spinemu sim layer` reuses (below)
    run = run_network(plan, x, simulator=simulator_or_skip(simulator),
                      stall=(0.0, 0.2)[index % 2], seed=index,
                      optimise=None if index == SIM_LAYER_CASE else False)
    expected = plan.model()(x)
    assert run.a.shape == expected.shape == (len(x), plan.config.layers[-1].outputs)
    mismatches = int((run.a != expected).sum())
    assert mismatches == 0, f"{mismatches} mismatches for case {index}: {plan.config}\n{run.log}"


def test_sim_layer_command_runs_a_conv_plan(tmp_path):
    """A convolution plan through the stream testbench (the build of
    test_conv_network_rtl_matches_golden[verilator-3]) and through the host link."""
    plan, _ = conv_case(SIM_LAYER_CASE)
    plan.save(tmp_path / "plan")
    for streams in (["--streams"], []):
        result = invoke(tmp_path / "plan", *streams, "--vectors", 2, "--seed", 5)
        assert result.exit_code == 0, result.output
        assert re.search(r"mismatches\s+│ 0 ", result.output), result.output
        assert "random codes (seed 5)" in result.output
        assert "steady state" in result.output
