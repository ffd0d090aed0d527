"""Validation macros: the macro model is recounted by hand from a point's activity (toggle rate,
input density, weight sparsity) and supply, nothing in a macro's tech file is fitted, and bad
operating conditions are refused naming the field (docs/energy.md, "Validation")."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from spinemu.config import ConfigError
from spinemu.energy.estimate import adc_energy, add_energy
from spinemu.energy.tech import SCHEMA, SUPPLY_SCALED, bundled_tech
from spinemu.energy.validation import (
    CONSTANTS,
    RANDOM_ACTIVITY,
    TOLERANCE,
    ValidationPoint,
    adder_tree_energy,
    condition_band,
    constant_status,
    corners,
    end_ratio,
    macro_band,
    macro_energy,
    macro_tops_per_watt,
    validation_points,
    within_tolerance,
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


def test_a_digital_macro_is_recounted_cycle_by_cycle_and_cell_by_cell(nvdcim):
    """2 of 5 rows read a cycle (density 0.4); 1.25 of 5 row inputs toggle a cycle; a quarter
    of the weight bits are 1 (half the weights zero, the others' bits random)."""
    point = digital(toggle_rate=0.25, weight_sparsity=0.5)
    tech, weight_ones, cells = nvdcim, 0.25, 3 * 2
    drive = reads = digitize = tree = 0.0
    for _cycle in range(point.input_bits):
        drive += 1.25 * (tech["input.dac_energy"]
                         + cells * tech["input.wordline_energy_per_cell"])
        for _row in range(2):
            for _cell in range(cells):
                reads += tech["cell.read_energy"]
        for _cell in range(cells):
            digitize += 1.25 * weight_ones * tech["adc.energy"] * 2      # walden at 1 bit
            tree += adder_tree_energy(tech, point.rows) * 0.25 * weight_ones / RANDOM_ACTIVITY
    joins = (3 * 2 - 1) * point.cols * add_energy(tech, 3 + 2 + 3)
    energy = macro_energy(tech, point)
    assert energy == pytest.approx({"input drive": drive, "cell reads": reads,
                                    "digitization": digitize, "adder tree": tree,
                                    "shift-and-add": joins})
    assert macro_tops_per_watt(tech, point) == pytest.approx(
        2 * 5 * 3 / sum(energy.values()) / 1e12)


def test_left_out_the_toggle_rate_is_that_of_independent_bits():
    assert digital(density=0.4).toggles == pytest.approx((0.48, 0.48))
    assert digital(density=0.5).toggles == (0.5, 0.5)


@pytest.mark.parametrize("field", ["toggle_rate", "weight_sparsity"])
def test_lower_activity_raises_tops_per_watt_monotonically(nvdcim, field):
    values = [0.0625, 0.125, 0.25, 0.5]
    tops = [macro_tops_per_watt(nvdcim, digital(density=0.5, **{field: v})) for v in values]
    steps = [later / earlier for earlier, later in itertools.pairwise(tops)]
    # more toggles: lower; more zero weights: fewer product toggles, higher
    assert all(step < 1 for step in steps) if field == "toggle_rate" else \
        all(step > 1 for step in steps)


def test_supply_scales_every_cmos_component_as_v_squared_and_not_the_mtj_reads(nvdcim):
    nominal = macro_energy(nvdcim, digital())
    scaled = macro_energy(nvdcim, digital(vdd=0.65))
    for name, joules in nominal.items():
        factor = 1.0 if name == "cell reads" else (0.65 / 0.9) ** 2
        assert scaled[name] == pytest.approx(joules * factor), name
    assert "cell.read_energy" not in SUPPLY_SCALED


def test_a_span_is_priced_at_its_corners_and_the_band_holds_them(nvdcim):
    point = digital(density=0.5, toggle_rate=[0.0625, 0.5], vdd=[0.65, 1.2])
    ends = corners(point)
    assert [(c.toggle_rate, c.vdd) for c in ends] == [(0.0625, 0.65), (0.0625, 1.2),
                                                       (0.5, 0.65), (0.5, 1.2)]
    tops = [macro_tops_per_watt(nvdcim, c) for c in ends]
    assert condition_band(nvdcim, point) == (min(tops), max(tops))
    assert max(tops) == tops[0] and min(tops) == tops[-1]   # low toggles and supply: best
    worst, best = macro_band(nvdcim, point)
    assert worst < min(tops) and max(tops) < best
    with pytest.raises(ConfigError, match=r"^x: toggle_rate, weight_sparsity or vdd is a span; "):
        macro_energy(nvdcim, point)


@pytest.mark.parametrize(("band", "within"), [
    ((10.0, 10.0), True), ((13.0, 20.0), True), ((13.1, 20.0), False), ((1.0, 7.0), True),
    ((1.0, 6.9), False), ((1.0, 100.0), True),
])
def test_within_tolerance_asks_for_some_estimate_within_30_percent(band, within):
    assert TOLERANCE == 0.30
    assert within_tolerance(10.0, band) is within


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
    """An energy the macro's paper does not state is either a cited figure (Horowitz's adder at
    its nominal supply) or an assumption or derivation with a range."""
    tech = bundled_tech(name)
    source, points = validation_points(tech)
    assert sorted(point.end for point in points if point.end) == ["high", "low"]
    assert not any("fit" in tag or "calibrat" in tag for tag in tech.sources.values())
    for key in CONSTANTS:
        section, field = key.split(".")
        tag = tech.sources.get(key, "")
        if SCHEMA[section][field][0] == "energy" and tag.startswith(("assumption:",
                                                                       "derived:")):
            assert key in tech.ranges, key
    assert constant_status(tech, source, "tech.node") == "published"


@pytest.mark.parametrize("name", MACROS)
def test_the_ranges_bracket_each_estimate(name):
    tech = bundled_tech(name)
    for point in validation_points(tech)[1]:
        worst, best = macro_band(tech, point)
        low, high = condition_band(tech, point)
        assert worst < low <= high < best


def test_the_estimate_does_not_read_the_reported_figure():
    tech = bundled_tech("natelec2025")
    point = validation_points(tech)[1][0]
    assert condition_band(tech, dataclasses.replace(point, reported=1e3)) == \
        condition_band(tech, point)


def test_the_end_ratio_prices_both_ends_at_the_same_conditions(nvdcim):
    source, points = validation_points(nvdcim)
    reported, (lowest, highest) = end_ratio(nvdcim, points)
    assert reported == pytest.approx(112.3 / 7.02)
    high, low = (next(p for p in points if p.end == end) for end in ("high", "low"))
    ratios = [macro_tops_per_watt(nvdcim, c)
              / macro_tops_per_watt(nvdcim, dataclasses.replace(
                  low, toggle_rate=c.toggle_rate, weight_sparsity=c.weight_sparsity, vdd=c.vdd))
              for c in corners(high)]
    assert (lowest, highest) == (min(ratios), max(ratios))


def test_nvdcim_points_carry_the_published_conditions(nvdcim):
    """Extended Data Fig. 5: 4-bit mode, 50 % weight sparsity, toggle rate 6.25-50 %, 40.1
    TOPS/W at 1.20 V and 86.0 at 0.65 V (toggle rate not stated: the span); main text p. 5: the
    abstract's ends at 0.65 V, 6.25 % toggle rate, 50 % sparsity; 64 banks of 256 rows x 4
    bitcells, so 256 rows of 64 four-bit or 16 sixteen-bit weights."""
    by_figure = {p.figure: p for p in validation_points(nvdcim)[1]}
    g, h = by_figure["Extended Data Fig. 5g"], by_figure["Extended Data Fig. 5h"]
    assert (g.reported, g.supply, h.reported, h.supply) == (40.1, (1.2, 1.2), 86.0, (0.65, 0.65))
    assert g.toggles == h.toggles == (0.0625, 0.5)
    ends = [p for p in by_figure.values() if p.end]
    assert sorted(p.reported for p in ends) == [7.02, 112.3]
    for point in ends:
        assert (point.toggles, point.supply) == ((0.0625, 0.0625), (0.65, 0.65))
    for point in by_figure.values():
        assert point.sparsity == (0.5, 0.5) and point.rows == 256
        assert point.rows * point.cols * point.weight_bits == 64 * 1024
    assert nvdcim["tech.vdd_nominal"] == 0.9


def test_the_ends_need_one_point_each():
    tech = bundled_tech("natelec2025")
    high = validation_points(tech)[1][0]
    with pytest.raises(ConfigError, match=r"^end ratio needs one point at each end "
                                          r"\('low', 'high'\), not \['high', 'high'\]$"):
        end_ratio(tech, [high, high])


@pytest.mark.parametrize(("changes", "message"), [
    ({"end": "middle"}, r"^end = 'middle' is not known; allowed low, high or '' "),
    ({"toggle_rate": 1.5}, r"^toggle_rate = 1\.5 is out of range; allowed 0\.0\.\.1\.0$"),
    ({"toggle_rate": -0.1}, r"^toggle_rate = -0\.1 is out of range; allowed 0\.0\.\.1\.0$"),
    ({"toggle_rate": [0.5, 0.1]}, r"^toggle_rate = \[0\.5, 0\.1\]: low > high; allowed "),
    ({"toggle_rate": [0.1, 0.2, 0.3]}, r"^toggle_rate = \[0\.1, 0\.2, 0\.3\] must be a number "
                                       r"or a \[low, high\] pair in 0\.0\.\.1\.0$"),
    ({"input_density": 0.1, "toggle_rate": 0.5},
     r"^toggle_rate = 0\.5 with input_density = 0\.1: .* allowed 0\.\.0\.2$"),
    ({"weight_sparsity": 1.2}, r"^weight_sparsity = 1\.2 is out of range; allowed 0\.0\.\.1\.0$"),
    ({"vdd": 9.0}, r"^vdd = 9\.0 is out of range; allowed 0\.1\.\.5\.0$"),
    ({"vdd": "1.2 V"}, r"^vdd must be a number in 0\.1\.\.5\.0, not '1\.2 V'$"),
    ({"readout": "adc", "input_chunk": 2, "weight_chunk": 4, "adc_bits": 4, "toggle_rate": 0.2},
     r"^toggle_rate = 0\.2 is used only with readout = 'digital' .*; allowed left out$"),
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
    assert all(math.isfinite(x) for x in condition_band(tech, validation_points(tech)[1][0]))
