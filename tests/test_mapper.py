"""The mapper: the issue's accuracy figures, the numeric contract of the images it writes, the
device model, calibration, round trips, and refusals naming the layer."""

from __future__ import annotations

import numpy as np
import pytest

from spinemu import Emulator
from spinemu.config import ConfigError
from spinemu.mapper import (
    DenseLayer,
    DenseModel,
    DeviceModel,
    Mapping,
    MapSettings,
    load_model,
    map_model,
    network_config,
)
from spinemu.mapper.calibrate import adc_shifts
from spinemu.mapper.quantize import ratio_to_mult_shift, weight_codes
from spinemu.models import load_dataset
from spinemu.numeric import signed_range
from spinemu.sim.golden.network import LayerModel
from spinemu.sim.golden.tile import adc

CALIBRATION = 256


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def mapped(data, name="digits", device=None, **settings):
    return map_model(name, data.calibration(CALIBRATION), data.test_x, data.test_y,
                     settings=MapSettings(**settings), device=device or DeviceModel())


# --- The figures --------------------------------------------------------------------

def test_digits_4bit_weights_4bit_inputs_8bit_adc_drop_at_most_one_point(digits):
    result = mapped(digits, weight_bits=4, input_bits=4, adc_bits=8)
    report = result.report
    assert report.samples == 540 and report.metric_name == "accuracy"
    assert report.float_metric > 0.95
    assert result.plan.config == network_config(
        "digits", settings=MapSettings(weight_bits=4, input_bits=4, adc_bits=8))
    assert report.drop <= 0.010, report.to_dict()


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_sigma_5pct_stuck_0p1pct_drop_at_most_two_points_with_compensation(digits, seed):
    device = DeviceModel(sigma=0.05, stuck=0.001, seed=seed)
    on = mapped(digits, device=device).report
    off = mapped(digits, device=device, compensation=False).report
    assert on.drop <= 0.020, (seed, on.to_dict())
    # Accuracy on 540 inputs moves in steps of 0.19 points; the output error is what
    # compensation must lower.
    assert on.layers[-1].rel_error < off.layers[-1].rel_error, seed


def test_digits32_spans_eight_row_tiles_and_stays_close(digits):
    data = load_dataset("digits32")
    report = mapped(data, name="digits32").report
    first = report.layers[0]
    assert (first.in_features, first.row_tiles, first.col_tiles) == (1024, 8, 1)
    assert report.drop <= 0.02, report.to_dict()


def test_digits_cnn_4bit_weights_6bit_inputs_8bit_adc_drop_at_most_one_point(digits):
    result = mapped(digits, name="digits_cnn", weight_bits=4, input_bits=6, adc_bits=8)
    report = result.report
    assert report.float_metric > 0.97
    assert [layer.conv is not None for layer in result.plan.config.layers] == [True, True, False]
    assert report.drop <= 0.010, report.to_dict()


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_cnn_sigma_5pct_stuck_0p1pct_drop_at_most_two_points_with_compensation(digits,
                                                                                      seed):
    device = DeviceModel(sigma=0.05, stuck=0.001, seed=seed)
    widths = {"weight_bits": 4, "input_bits": 6, "adc_bits": 8}
    on = mapped(digits, name="digits_cnn", device=device, **widths).report
    off = mapped(digits, name="digits_cnn", device=device, compensation=False, **widths).report
    assert on.drop <= 0.020, (seed, on.to_dict())
    assert on.layers[-1].rel_error < off.layers[-1].rel_error, seed


@pytest.mark.parametrize("tile", [(16, 16), (7, 5)])
def test_small_tiles_give_wide_adder_trees_and_keep_accuracy(digits, tile):
    result = mapped(digits, tile_rows=tile[0], tile_cols=tile[1])
    first = result.plan.config.layers[0]
    assert first.row_tiles == -(-64 // tile[0]) and first.col_tiles == -(-64 // tile[1])
    assert result.report.drop <= 0.01, (tile, result.report.to_dict())


# --- The numeric contract of the images -----------------------------------------------------

@pytest.mark.parametrize("weight_bits, frac_bits", [(2, 3), (4, 4), (8, 4), (6, 0)])
def test_ideal_cells_are_weight_codes_shifted_by_the_fraction_bits(digits, weight_bits,
                                                                   frac_bits):
    result = mapped(digits, weight_bits=weight_bits, frac_bits=frac_bits)
    model = load_model("digits")
    level = (1 << (weight_bits - 1)) - 1
    for dense, config, image in zip(model.layers, result.plan.config.layers,
                                    result.plan.images, strict=True):
        assert config.tile.cell_bits == weight_bits + frac_bits
        codes, _ = weight_codes(dense.weight, weight_bits)
        assert (image.g == codes << frac_bits).all()
        assert np.abs(codes).max() <= level


def test_layers_chain_codes_and_input_quantization(digits):
    result = mapped(digits)
    mapping, (first, second) = result.mapping, result.plan.config.layers
    assert (first.tile.input_bits, first.tile.input_signed) == (4, False)
    assert (first.relu, first.act_bits, second.relu, second.act_bits) == (True, 4, False, 8)
    x = digits.test_x[:20]
    codes = mapping.input_codes(x)
    expected = np.clip(np.floor(x / mapping.input_scale + 0.5), 0, 15)
    assert (codes == expected).all()
    hidden = LayerModel(first, result.plan.images[0])(codes)
    out = result.plan.model()(codes)
    assert (out == LayerModel(second, result.plan.images[1])(hidden)).all()
    np.testing.assert_array_equal(mapping.activations(x)[-1], out * mapping.output_scales[-1])


def test_adaptive_shift_is_the_smallest_that_does_not_saturate():
    rng = np.random.default_rng(4)
    for adc_bits in (1, 3, 8):
        hi = rng.integers(0, 1 << 14, size=50)
        lo = -rng.integers(0, 1 << 14, size=50)
        shift = adc_shifts(lo, hi, adc_bits, 20)
        a_lo, a_hi = signed_range(adc_bits)
        for s, low, high in zip(shift, lo, hi, strict=True):
            # An ADC 8 bits wider shows what the adc_bits one would have saturated.
            assert a_lo <= adc(np.array([low, high]), s, adc_bits + 8).min()
            assert adc(np.array([low, high]), s, adc_bits + 8).max() <= a_hi
            if s:
                finer = adc(np.array([low, high]), s - 1, adc_bits + 8)
                assert finer.min() < a_lo or finer.max() > a_hi, (adc_bits, s, low, high)


def test_every_used_adc_column_is_at_the_smallest_unsaturated_shift(digits):
    """On the calibration batch, no column of the coarsest row-tile could use a smaller shift."""
    result = mapped(digits)
    codes = result.mapping.input_codes(digits.calibration(CALIBRATION))
    first, image = result.plan.config.layers[0], result.plan.images[0]
    acc = codes @ image.g
    shift = image.adc_shift[0, 0, :first.out_features]
    assert (shift == adc_shifts(acc.min(axis=0), acc.max(axis=0), first.tile.adc_bits,
                                first.tile.max_adc_shift)).all()


def test_compensation_undoes_a_column_gain_spread(digits):
    """A 20 % spread of the column gains and nothing else: with the fitted gains the first
    layer's outputs are as close to the float ones as with an ideal array, without them not."""
    device = DeviceModel(gain_spread=0.2, seed=3)
    ideal, on, off = (mapped(digits, tile_rows=16, tile_cols=16, device=d, compensation=c)
                      for d, c in ((DeviceModel(), True), (device, True), (device, False)))
    error = {name: result.report.layers[0].rel_error
             for name, result in (("ideal", ideal), ("on", on), ("off", off))}
    assert error["on"] < 1.05 * error["ideal"] and error["off"] > 2 * error["on"], error
    assert (off.plan.images[0].offset == 0).all()
    assert len(np.unique(on.plan.images[0].gain)) > 10 and on.stats[0]["clamped_registers"] == 0


def test_same_seed_same_plan_other_seed_other_cells(digits):
    device = DeviceModel(sigma=0.1, stuck=0.01, gain_spread=0.05, seed=7)
    a, b = mapped(digits, device=device), mapped(digits, device=device)
    c = mapped(digits, device=DeviceModel(sigma=0.1, stuck=0.01, gain_spread=0.05, seed=8))
    for x, y, z in zip(a.plan.images, b.plan.images, c.plan.images, strict=True):
        for name in ("g", "adc_shift", "gain", "offset", "bias", "mult", "shift"):
            assert (getattr(x, name) == getattr(y, name)).all(), name
        assert (x.g != z.g).any()


# --- Device model ---------------------------------------------------------------------------

def test_device_statistics():
    rng = np.random.default_rng(5)
    codes = rng.integers(-4, 5, size=(400, 300))  # far enough from the rails not to clip
    lo, hi = signed_range(8)
    noisy = DeviceModel(sigma=0.5, seed=1).program(codes, 4, 8, 100, 0)
    error = (noisy - (codes << 4)) / 16
    assert abs(error.std() - 0.5) < 0.01 and abs(error.mean()) < 0.01
    stuck = DeviceModel(stuck=0.2, seed=1).program(codes, 4, 8, 100, 0)
    moved = stuck != codes << 4
    assert abs(moved.mean() - 0.2) < 0.01
    assert abs((stuck[moved] == lo).mean() - 0.5) < 0.03
    assert set(np.unique(stuck[moved])) <= {lo, hi}
    spread = DeviceModel(gain_spread=0.1, seed=1).program(np.full((400, 300), 4), 4, 8, 100, 0)
    column_gain = spread.reshape(4, 100, 300).mean(axis=1) / 64
    assert abs(column_gain.std() - 0.1) < 0.01
    assert (spread.reshape(4, 100, 300).std(axis=1) < 0.5).all()  # one gain per tile column


def test_device_refusals():
    with pytest.raises(ConfigError,
                       match=r"^sigma = -0\.1 is out of range; allowed 0\.0\.\.10\.0$"):
        DeviceModel(sigma=-0.1)
    with pytest.raises(ConfigError, match=r"^stuck = 2 is out of range; allowed 0\.0\.\.1\.0$"):
        DeviceModel(stuck=2)
    with pytest.raises(ConfigError, match=r"^seed = -1 is out of range; allowed 0\.\.2\*\*63-1$"):
        DeviceModel(seed=-1)


# --- Round trips ----------------------------------------------------------------------------

def test_plan_folder_round_trip_predicts_the_same(digits, tmp_path):
    result = mapped(digits, device=DeviceModel(sigma=0.05, stuck=0.001, seed=2))
    result.save(tmp_path / "plan")
    assert sorted(p.name for p in (tmp_path / "plan").iterdir()) == [
        "images.npz", "mapping.json", "network.toml"]
    again = Mapping.load(tmp_path / "plan")
    assert again.plan.config == result.plan.config
    assert again.settings == result.mapping.settings and again.device == result.mapping.device
    assert (again.predict(digits.test_x) == result.mapping.predict(digits.test_x)).all()
    accuracy = np.mean(again.predict(digits.test_x) == digits.test_y)
    assert accuracy == result.report.emulated_metric


def test_cnn_plan_round_trips_and_runs_on_the_golden_backend(digits, tmp_path):
    result = mapped(digits, name="digits_cnn", input_bits=6)
    result.save(tmp_path / "plan")
    again = Mapping.load(tmp_path / "plan")
    assert again.plan.config == result.plan.config
    assert (again.predict(digits.test_x) == result.mapping.predict(digits.test_x)).all()
    codes = again.input_codes(digits.test_x[:16])
    with Emulator(again.plan) as emulator:
        emulator.program()
        assert (emulator.infer(codes) == again.plan.model()(codes)).all()


def test_mapping_load_refuses_a_bare_plan(digits, tmp_path):
    mapped(digits).plan.save(tmp_path)
    with pytest.raises(ConfigError, match=r"holds a plan but no mapping\.json$"):
        Mapping.load(tmp_path)


def test_regressor_maps_and_reports_r2():
    rng = np.random.default_rng(6)
    x = rng.random((300, 8))
    w1, w2 = rng.normal(size=(8, 12)), rng.normal(size=(12, 1))
    model = DenseModel((DenseLayer("h", w1, np.zeros(12), True), DenseLayer("o", w2, [0.5], False)),
                       task="regressor", name="toy")
    y = model(x)[:, 0]
    result = map_model(model, x[:200], x[200:], y[200:],
                       settings=MapSettings(weight_bits=8, input_bits=8, adc_bits=12,
                                            output_bits=12))
    assert result.report.metric_name == "r2"
    assert result.report.float_metric == 1.0 and result.report.emulated_metric > 0.99


def test_signed_inputs_and_linear_hidden_layer():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 5))
    model = DenseModel((DenseLayer("a", rng.normal(size=(5, 6)), np.zeros(6), False),
                        DenseLayer("b", rng.normal(size=(6, 3)), np.zeros(3), False)))
    result = map_model(model, x[:100], x[100:], model.predict(x[100:]),
                       settings=MapSettings(input_bits=6, weight_bits=6))
    first, second = result.plan.config.layers
    assert first.tile.input_signed and second.tile.input_signed and not first.relu
    assert result.report.emulated_metric > 0.9


# --- Refusals -------------------------------------------------------------------------------

def test_refusals_name_the_layer(digits):
    calibration = digits.calibration(32)
    with pytest.raises(ConfigError, match=r"^layer 0 \('coefs_\[0\]'\): bias\[\d+\] = -?\d+ is out "
                                          r"of range; allowed -8\.\.7 \(bias_bits = 4, in units "
                                          r"of the column sum; \d+ element\(s\) outside\)$"):
        map_model("digits", calibration, settings=MapSettings(bias_bits=4))
    with pytest.raises(ConfigError, match=r"^layer 0 \('coefs_\[0\]'\): output \d+ needs a "
                                          r"requantization ratio .* allowed 1\.6%"):
        map_model("digits", calibration, settings=MapSettings(mult_bits=2))
    with pytest.raises(ConfigError, match=r"^layer 0 \('coefs_\[0\]'\): inputs have shape "
                                          r"\(5, 10\); expected \[batch, 64\]$"):
        map_model("digits", np.zeros((5, 10)))
    big = DenseModel((DenseLayer("big", np.zeros((65537, 1)), np.zeros(1), False),))
    with pytest.raises(ConfigError, match=r"^layer 0 \('big'\): in_features = 65537 is out of "
                                          r"range; allowed 1\.\.65536$"):
        map_model(big, np.zeros((1, 65537)))


def test_settings_refusals():
    with pytest.raises(ConfigError, match=r"^cell_bits = weight_bits \+ frac_bits = 10 \+ 4 = 14 "
                                          r"is out of range; allowed 2\.\.12$"):
        MapSettings(weight_bits=10, frac_bits=4)
    with pytest.raises(ConfigError, match=r"^input_bits = 9 is out of range; allowed 1\.\.8$"):
        MapSettings(input_bits=9)
    with pytest.raises(ConfigError, match=r"^gain_frac = 10 is out of range; allowed 0\.\.9$"):
        MapSettings(gain_frac=10)
    assert MapSettings(weight_bits=10).frac_bits == 2


def test_requantization_ratio_round_trip():
    rng = np.random.default_rng(8)
    ratio = np.exp(rng.uniform(-12, 6, size=200))
    mult, shift = ratio_to_mult_shift(ratio, 16, 48, "layer")
    assert (mult < 1 << 16).all() and (mult >= 1 << 15).all() and (shift > 0).all()
    np.testing.assert_allclose(mult / np.exp2(shift), ratio, rtol=2.0 ** -15)
