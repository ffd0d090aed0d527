"""Validation macros: the macro model is recounted by hand, nothing in a macro's tech file is
fitted, and the reported precision scaling is checked (docs/energy.md, "Validation")."""

from __future__ import annotations

import dataclasses
import math

import pytest

from spinemu.config import ConfigError
from spinemu.energy.estimate import adc_energy, add_energy
from spinemu.energy.tech import SCHEMA, bundled_tech
from spinemu.energy.validation import (
    CONSTANTS,
    TOLERANCE,
    ValidationPoint,
    adder_tree_energy,
    constant_status,
    end_ratio,
    macro_band,
    macro_energy,
    macro_tops_per_watt,
    validation_points,
)

MACROS = ("cai_isscc2023", "natelec2025")


def digital(rows=5, cols=3, input_bits=3, weight_bits=2, density=0.4, **changes):
    return ValidationPoint(label="x", end="high", reported=1.0, rows=rows, cols=cols,
                           input_bits=input_bits, weight_bits=weight_bits,
                           input_density=density, readout="digital", **changes)


@pytest.mark.parametrize(("leaves", "bit_adds"), [(1, 0), (2, 1), (3, 1 + 2), (5, 2 + 2 + 3),
                                                  (8, 4 + 2 * 2 + 3)])
def test_the_adder_tree_adds_pairs_level_by_level(leaves, bit_adds):
    tech = bundled_tech("natelec2025")
    assert adder_tree_energy(tech, leaves) == pytest.approx(
        bit_adds * tech["digital.add_energy_per_bit"])


def test_a_digital_macro_is_recounted_cycle_by_cycle_and_cell_by_cell():
    tech = bundled_tech("natelec2025")
    point = digital()            # 2 of 5 rows pulsed a cycle
    drive = reads = digitize = tree = 0.0
    for _cycle in range(point.input_bits):
        for _row in range(2):
            drive += tech["input.dac_energy"]
            for _cell in range(point.cols * point.weight_bits):
                drive += tech["input.wordline_energy_per_cell"]
                reads += tech["cell.read_energy"]
                digitize += tech["adc.energy"] * 2          # walden at 1 bit
        for _column in range(point.cols * point.weight_bits):
            tree += adder_tree_energy(tech, point.rows)
    joins = (3 * 2 - 1) * point.cols * add_energy(tech, 3 + 2 + 3)
    energy = macro_energy(tech, point)
    assert energy == pytest.approx({"input drive": drive, "cell reads": reads,
                                    "digitization": digitize, "adder tree": tree,
                                    "shift-and-add": joins})
    assert macro_tops_per_watt(tech, point) == pytest.approx(
        2 * 5 * 3 / sum(energy.values()) / 1e12)


def test_an_adc_macro_prices_every_pass_with_the_layer_model():
    tech = bundled_tech()
    point = ValidationPoint(label="x", end="low", reported=1.0, rows=16, cols=4, input_bits=4,
                            weight_bits=8, input_density=0.5, input_chunk=2, weight_chunk=4,
                            adc_bits=5)
    passes = 2 * 2
    energy = macro_energy(tech, point)
    assert point.passes == passes
    assert energy["ADC"] == pytest.approx(passes * 4 * adc_energy(tech, 5))
    assert energy["cell reads"] == pytest.approx(passes * 2 * 8 * 4 * 4 * tech["cell.read_energy"])
    assert energy["shift-and-add"] == pytest.approx(3 * 4 * add_energy(tech, 4 + 8 + 4))


@pytest.mark.parametrize("name", MACROS)
def test_no_constant_of_a_macro_is_fitted_and_every_assumed_energy_has_a_range(name):
    tech = bundled_tech(name)
    source, points = validation_points(tech)
    assert sorted(point.end for point in points) == ["high", "low"]
    assert not any("fit" in tag or "calibrat" in tag for tag in tech.sources.values())
    for key in CONSTANTS:
        section, field = key.split(".")
        if constant_status(tech, source, key) == "assumed" and SCHEMA[section][field][0] == \
                "energy":
            assert key in tech.ranges, key
    assert constant_status(tech, source, "tech.node") == "published"


@pytest.mark.parametrize("name", MACROS)
def test_the_ranges_bracket_each_estimate(name):
    tech = bundled_tech(name)
    for point in validation_points(tech)[1]:
        worst, best = macro_band(tech, point)
        assert worst < macro_tops_per_watt(tech, point) < best


def test_the_estimate_does_not_read_the_reported_figure():
    tech = bundled_tech("natelec2025")
    point = validation_points(tech)[1][0]
    assert macro_tops_per_watt(tech, dataclasses.replace(point, reported=1e3)) == \
        macro_tops_per_watt(tech, point)


def test_nvdcim_precision_scaling_matches_its_reported_end_ratio():
    """Fit-free: 4x4 to 16x16 bits, the ratio of the ends depends on the model's structure
    (bit-serial inputs, one device a weight bit, shift-and-add), not on an absolute constant."""
    tech = bundled_tech("natelec2025")
    reported, estimated = end_ratio(tech, validation_points(tech)[1])
    assert reported == pytest.approx(112.3 / 7.02)
    assert abs(estimated / reported - 1) < TOLERANCE


def test_the_ends_need_one_point_each():
    tech = bundled_tech("natelec2025")
    high = validation_points(tech)[1][0]
    with pytest.raises(ConfigError, match=r"^end ratio needs one point at each end "
                                          r"\('low', 'high'\), not \['high', 'high'\]$"):
        end_ratio(tech, [high, high])


@pytest.mark.parametrize(("changes", "message"), [
    ({"end": "middle"}, r"^end = 'middle' is not known; allowed low, high$"),
    ({"readout": "analog"}, r"^readout = 'analog' is not known; allowed adc, digital$"),
    ({"adc_bits": 4}, r"^adc_bits = 4 is not used with readout = 'digital' .*; allowed 0 or "
                      r"left out$"),
    ({"input_density": 1.5}, r"^input_density = 1\.5 is out of range; allowed 0\.0\.\.1\.0$"),
    ({"readout": "adc", "input_chunk": 9, "input_bits": 16, "weight_chunk": 4, "adc_bits": 4},
     r"^input_chunk = 9 is out of range; allowed 1\.\.8$"),
])
def test_bad_points_are_refused_naming_the_field(changes, message):
    fields = {"label": "x", "end": "high", "reported": 1.0, "rows": 4, "cols": 4,
              "input_bits": 4, "weight_bits": 4, "input_density": 0.5, "readout": "digital"}
    with pytest.raises(ConfigError, match=message):
        ValidationPoint(**{**fields, **changes})


def test_a_digital_macro_needs_binary_devices_and_bit_serial_inputs():
    tech = bundled_tech("natelec2025")
    with pytest.raises(ConfigError, match=r"^cell\.bits_per_device = 2 with readout = "
                                          r"'digital'; allowed 1 "):
        macro_energy(tech.replace(cell__bits_per_device=2), digital())
    pwm = dataclasses.replace(tech, choices={**tech.choices, "input.encoding": "pwm"})
    with pytest.raises(ConfigError, match=r"^input\.encoding = 'pwm' with readout = 'digital'; "
                                          r"allowed bit_serial$"):
        macro_energy(pwm, digital())


def test_a_validation_section_with_a_fitted_constant_is_refused():
    tech = bundled_tech("natelec2025")
    fitted = dataclasses.replace(tech, extra={"validation": {
        **tech.extra["validation"], "fitted": "cell.read_energy"}})
    with pytest.raises(ConfigError, match=r"unknown \[validation\] key\(s\) \['fitted'\]; "
                                          r"allowed \['point', 'source'\] \(nothing is fitted\)$"):
        validation_points(fitted)
    assert math.isfinite(macro_tops_per_watt(tech, validation_points(tech)[1][0]))
