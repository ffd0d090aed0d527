"""The tasks a sweep point runs: figures of a mapped model, and RTL against golden through the
Emulator (one random tile and one random p-bit problem on Icarus)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spinemu.config import TileConfig
from spinemu.mapper import DeviceModel, MapSettings, map_model
from spinemu.models import load_dataset
from spinemu.sim.stimulus import random_tile_config
from spinemu.sweep import TASKS, execute

from cases import simulator_or_skip


def test_a_map_point_is_map_model_on_the_seeded_device():
    params = {**TASKS["map"].defaults(), "weight_bits": 3, "sigma": 0.1, "stuck": 0.01,
              "calibration": 32, "test_samples": 60}
    record = execute("map", params, 4, ".")
    data = load_dataset("digits")
    report = map_model("digits", data.calibration(32), data.test_x[:60], data.test_y[:60],
                       settings=MapSettings(weight_bits=3),
                       device=DeviceModel(sigma=0.1, stuck=0.01, seed=4)).report
    assert record["figures"] == {
        "accuracy": report.emulated_metric, "float_accuracy": report.float_metric,
        "input_accuracy": report.input_metric, "drop": report.drop,
        "output_error": report.layers[-1].rel_error}
    assert record["wall_seconds"] > 0 and set(record["versions"]) == {"spinemu", "numpy",
                                                                      "python"}


@pytest.mark.icarus
@pytest.mark.parametrize("fabric, seed", [("tile", 3), ("pbit", 5)])
def test_an_rtl_point_is_the_rtl_against_golden(fabric, seed):
    params = {**TASKS["rtl"].defaults(), "fabric": fabric, "max_rows": 6, "max_cols": 5,
              "nodes": 6, "sweeps": 3, "simulator": simulator_or_skip("icarus")}
    figures = execute("rtl", params, seed, ".")["figures"]
    assert figures["mismatches"] == 0 and figures["read_back_equal"] is True
    if fabric == "tile":
        config = TileConfig.from_json(figures["config"])
        assert config == random_tile_config(np.random.default_rng(seed), 6, 5)
        assert figures["compared"] == params["vectors"] * config.cols
    else:
        assert json.loads(figures["config"])["nodes"] == 6 and figures["compared"] > 0
