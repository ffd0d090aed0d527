"""``spinemu map`` and the mapper benches: plans written, figures printed, one-line refusals."""

from __future__ import annotations

import importlib
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from spinemu.cli import main
from spinemu.cli_map import map_command
from spinemu.mapper import DeviceModel, Mapping, MapSettings, map_model
from spinemu.models import load_dataset
from spinemu.sweep import load_spec


def run(*args):
    return CliRunner().invoke(main, ["map", *args])


def test_map_is_a_spinemu_command():
    assert main.commands.get("map") is map_command


def test_map_digits_writes_the_plan_and_prints_the_figures(tmp_path):
    result = run("digits", "--sigma", "5%", "--stuck", "0.1%", "--seed", "3", "-o",
                 str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    mapping = Mapping.load(tmp_path / "p")
    assert mapping.device == DeviceModel(sigma=0.05, stuck=0.001, seed=3)
    assert mapping.settings == MapSettings()
    data = load_dataset("digits")
    expected = map_model("digits", data.calibration(256), data.test_x, data.test_y,
                         device=mapping.device).report
    assert (f"overall accuracy: float {100 * expected.float_metric:.2f} %, emulated "
            f"{100 * expected.emulated_metric:.2f} %") in result.output
    for layer in expected.layers:
        assert re.search(rf"layer {layer.index} coefs_\[{layer.index}\] .* "
                         rf"{layer.rel_error:.3f} .* {100 * layer.metric:.2f} %", result.output)
    saved = json.loads((tmp_path / "p" / "mapping.json").read_text())["report"]
    assert saved["emulated_metric"] == expected.emulated_metric


def test_map_onnx_file_with_bundled_data_and_options(tmp_path):
    import onnx
    from test_mapper_importers import digits_onnx

    from spinemu.models import load_bundled

    onnx.save(digits_onnx(load_bundled("digits")), str(tmp_path / "d.onnx"))
    result = run(str(tmp_path / "d.onnx"), "--data", "digits", "--tile", "16x32",
                 "--weight-bits", "3", "--adc-bits", "6", "--no-compensation", "-o",
                 str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    mapping = Mapping.load(tmp_path / "p")
    first = mapping.plan.config.layers[0]
    assert (first.row_tiles, first.col_tiles, first.tile.adc_bits) == (4, 2, 6)
    assert mapping.layer_names == ("fc0", "fc1") and not mapping.settings.compensation


@pytest.mark.parametrize("args, message", [
    (["digits", "--weight-bits", "10", "--frac-bits", "4"],
     r"cell_bits = weight_bits \+ frac_bits = 10 \+ 4 = 14 is out of range; allowed 2\.\.12"),
    (["digits", "--bias-bits", "4"],
     r"layer 0 \('coefs_\[0\]'\): bias\[\d+\] = -?\d+ is out of range; allowed -8\.\.7 "
     r"\(bias_bits = 4, in units of the column sum; \d+ element\(s\) outside\)"),
    (["digits", "--sigma", "11"], r"sigma = 11\.0 is out of range; allowed 0\.0\.\.10\.0"),
    (["model.onnx"], r"model 'model\.onnx' is not bundled: give --data \(a bundled data set "
                     r"\['digits', 'digits32'\] or an \.npz file\)"),
    (["digits", "--data", "digits32"],
     r"layer 0 \('coefs_\[0\]'\): inputs have shape \(256, 1024\); expected \[batch, 64\]"),
])
def test_refusals_are_one_line(tmp_path, args, message):
    result = run(*args, "-o", str(tmp_path / "p"))
    assert result.exit_code == 2, result.output
    assert re.fullmatch(rf"error: {message}\n", result.output), result.output
    assert not (tmp_path / "p").exists()


def test_bad_option_syntax_is_refused(tmp_path):
    result = run("digits", "--tile", "12", "-o", str(tmp_path))
    assert result.exit_code == 2 and "'12' is not ROWSxCOLS, e.g. 128x128" in result.output
    result = run("digits", "--stuck", "1x", "-o", str(tmp_path))
    assert result.exit_code == 2 and "'1x' is not a number or a percentage" in result.output
    result = run("digits", "--input-shape", "1x8", "-o", str(tmp_path))
    assert result.exit_code == 2 and "'1x8' is not CHANNELSxHEIGHTxWIDTH, e.g. 1x8x8" in \
        result.output


def test_user_data_file(tmp_path):
    data = load_dataset("digits")
    np.savez(tmp_path / "data.npz", train_x=data.train_x[:300], train_y=data.train_y[:300],
             test_x=data.test_x[:100], test_y=data.test_y[:100])
    result = run("digits", "--data", str(tmp_path / "data.npz"), "--calibration", "64", "-o",
                 str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    assert "held-out" in result.output and json.loads(
        (tmp_path / "p" / "mapping.json").read_text())["report"]["samples"] == 100
    np.savez(tmp_path / "bad.npz", train_x=data.train_x)
    result = run("digits", "--data", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "q"))
    assert result.exit_code == 2
    assert re.fullmatch(r"error: .*bad\.npz lacks \['train_y', 'test_x', 'test_y'\]; a data "
                        r"file holds \['train_x', 'train_y', 'test_x', 'test_y'\]\n",
                        result.output), result.output


# --- Benches --------------------------------------------------------------------------------

def load_bench(name: str):
    return importlib.import_module(f"bench.{name}")


def test_accuracy_bench_is_the_accuracy_sweep(tmp_path):
    bench = load_bench("accuracy")
    assert bench.arguments(["--workers", "2"]) == [
        "sweep", str(bench.SPEC), "-o", str(bench.OUTPUT), "--workers", "2"]
    assert bench.arguments(["-o", str(tmp_path)]) == ["sweep", str(bench.SPEC), "-o",
                                                      str(tmp_path)]
    spec = load_spec(bench.SPEC)
    assert spec.task.name == "map" and [g.name for g in spec.grids] == [
        "weight_bits", "ideal", "sigma"]
    assert spec.grids[0].axes["weight_bits"] == list(range(2, 9))


def test_mapper_bench_entry(monkeypatch):
    bench = load_bench("mapper")
    entry = bench.bench_model("digits", 1, 0)
    assert [layer["in_features"] for layer in entry["layers"]] == [64, 64]
    for threads in ("default", "1"):
        for batch in ("batch_1", "batch_all"):
            assert entry["golden"][threads][batch]["inferences_per_second"]["median"] > 0
    assert entry["rtl"] == {"cycles_per_inference": None, "vectors": 0, "simulator": "verilator",
                            "status": "skipped"}


def test_anneal_bench_trial_statistics_and_plot(tmp_path, monkeypatch):
    bench = load_bench("anneal")
    rng = np.random.default_rng(5)
    cuts = rng.integers(550, 565, size=(7, 10)).astype(float)
    stats = bench.trial_statistics(cuts, 564)
    best = cuts.max(axis=1)
    assert stats["best_cuts"] == best.tolist() and stats["best_cut"] == best.max()
    assert stats["best_of_10"] == pytest.approx(best.mean())
    assert stats["best_of_10_sem"] == pytest.approx(np.std(best, ddof=1) / np.sqrt(7))
    assert stats["mean_cut"] == pytest.approx(cuts.mean())
    assert stats["gap_to_best_known"] == pytest.approx((564 - best.mean()) / 564)
    assert stats["trials_at_best_known"] == int((best >= 564).sum())
    case = {"sweeps": 100, "golden": stats, "sa": bench.trial_statistics(cuts[::-1], 564)}
    instances = [{"instance": "G11", "best_known": 564, "cases": [case]}]
    bench.plot(instances, (100,), tmp_path / "anneal.png")
    assert (tmp_path / "anneal.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_map_bundled_cnn_prints_its_layers(tmp_path):
    result = run("digits_cnn", "--input-bits", "6", "-o", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    for line in (r"layer 0 conv1 .* 9 x 8 ", r"layer 1 conv2 .* 72 x 16 ",
                 r"layer 2 fc .* 64 x 10 ", r"overall accuracy: float 98\.\d\d %",
                 r"\nlayer 1 conv2: conv 3x3 s1 p1, max 2, im2col 72 x 16 on every output "):
        assert re.search(line, result.output), result.output
    mapping = Mapping.load(tmp_path / "p")
    assert mapping.plan.config.layers[1].conv.channels == 8


def test_map_refuses_a_grouped_convolution_in_one_line(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", group=2),
             helper.make_node("Flatten", ["c"], ["y"], name="flat")]
    onnx.save(helper.make_model(helper.make_graph(
        nodes, "grouped", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 72])],
        [numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")])),
        str(tmp_path / "g.onnx"))
    result = run(str(tmp_path / "g.onnx"), "--data", "digits", "-o", str(tmp_path / "p"))
    assert result.exit_code == 2, result.output
    assert result.output == ("error: ONNX node 'conv' (Conv): group = 2 is not supported; "
                             "allowed 1\n")
