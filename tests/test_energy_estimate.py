"""The estimate: energy per component is activity times the tech file's constants, the
efficiency figures follow from it (the validation macros: test_energy_validation.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spinemu.energy.activity import NetworkActivity, layer_activity, pbit_activity
from spinemu.energy.estimate import (
    adc_energy,
    estimate_network,
    estimate_pbit,
    layer_energy,
    sram_read_energy,
)
from spinemu.energy.tech import bundled_tech
from spinemu.energy.workloads import adc_bits_sweep, tile_size_sweep
from spinemu.ising import DEFAULT_CONFIG, colour
from spinemu.sim.golden.network import LayerModel


@pytest.fixture
def activity(small_layer) -> NetworkActivity:
    layer, images = small_layer
    x = np.random.default_rng(1).integers(0, 8, size=(5, layer.in_features))
    return NetworkActivity((layer_activity(LayerModel(layer, images), x),))


def test_cell_read_and_drive_energy_are_pulses_times_constants(activity):
    tech = bundled_tech()
    a = activity.layers[0]
    tile = a.layer.tile
    devices = -(-tile.cell_bits // int(tech["cell.bits_per_device"]))
    energy = layer_energy(tech, a)
    assert energy["cell reads"] == pytest.approx(
        a.pulses * tile.cols * devices * tech["cell.read_energy"])
    assert energy["input drive"] == pytest.approx(a.pulses * (
        tech["input.dac_energy"] + tile.cols * tech["input.wordline_energy_per_cell"]))
    assert energy["ADC"] == pytest.approx(a.adc_conversions * tech["adc.energy"]
                                          * 2 ** tile.adc_bits)


def test_pulse_width_inputs_weight_each_bit_by_its_length(activity):
    tech = bundled_tech()
    pwm = dataclasses.replace(tech, choices={**tech.choices, "input.encoding": "pwm"})
    a = activity.layers[0]
    weighted = sum(int(p) << b for b, p in enumerate(a.pulses_by_bit))
    assert layer_energy(pwm, a)["cell reads"] / layer_energy(tech, a)["cell reads"] == \
        pytest.approx(weighted / a.pulses)


@pytest.mark.parametrize(("model", "ratio"), [("walden", 2.0), ("linear", 9 / 8),
                                              ("thermal", 4.0)])
def test_adc_conventions_scale_with_bits_as_stated(model, ratio):
    tech = bundled_tech()
    tech = dataclasses.replace(tech, choices={**tech.choices, "adc.model": model})
    assert adc_energy(tech, 9) / adc_energy(tech, 8) == pytest.approx(ratio)


def test_efficiency_figures_follow_from_energy_and_macs(activity):
    estimate = estimate_network(bundled_tech(), activity)
    assert estimate.energy == pytest.approx(sum(estimate.components.values()))
    assert estimate.tops_per_watt == pytest.approx(
        2 * activity.macs / activity.vectors / estimate.energy / 1e12)
    no_sram, sram = estimate.baseline.values()
    assert sram > no_sram > 0
    assert estimate.latency > 0 and estimate.area > 0


def test_the_baseline_memory_grows_with_the_weights():
    tech = bundled_tech()
    reads = [sram_read_energy(tech, size) for size in (1 << 10, 16 << 10, 512 << 10, 4 << 20)]
    assert reads == sorted(reads) and reads[-1] == tech["baseline.dram"] * 0.62


def test_more_adc_bits_cost_efficiency_and_tiles_resize(activity):
    tech = bundled_tech()
    by_bits = [e.tops_per_watt for e in adc_bits_sweep(tech, activity, range(3, 12))]
    assert by_bits == sorted(by_bits, reverse=True)
    by_size = tile_size_sweep(tech, activity, (2, 4, 8))
    assert len({e.area for e in by_size}) == 3


@pytest.mark.parametrize("kind", ["smtj", "cmos"])
def test_pbit_flips_per_joule_are_updates_over_energy(kind):
    topology = colour(5, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)])
    a = pbit_activity(DEFAULT_CONFIG, topology, sweeps=7, replicas=3)
    tech = bundled_tech()
    estimate = estimate_pbit(tech, a, kind)
    assert estimate.ops == 5
    assert estimate.ops_per_joule == pytest.approx(5 / estimate.energy)
    random = tech["pbit.smtj_energy"] if kind == "smtj" else tech["pbit.cmos_update_energy"]
    name = "sMTJ random bits" if kind == "smtj" else "LFSR + tanh LUT"
    assert estimate.components[name] == pytest.approx(5 * random)
    assert estimate.latency > topology.num_colours * (tech["pbit.smtj_dwell"] if kind == "smtj"
                                                      else tech["pbit.cmos_update_time"])


def test_energy_bounds_put_every_ranged_energy_at_its_end_and_bracket_the_estimate(activity):
    tech = bundled_tech()
    low, high = tech.energies_at("low"), tech.energies_at("high")
    for key, (lo, hi) in tech.ranges.items():
        if key in ("cell.read_energy", "adc.energy", "pbit.smtj_energy"):
            assert (low[key], high[key]) == (lo, hi)
    assert low["cell.read_time"] == high["cell.read_time"] == tech["cell.read_time"]
    middle, best, worst = (estimate_network(t, activity).tops_per_watt
                           for t in (tech, low, high))
    assert worst < middle < best
