"""Tech files: units, strict validation with one-line errors naming the field, bundled files."""

from __future__ import annotations

import re
import tomllib

import pytest

from spinemu.config import ConfigError
from spinemu.energy.tech import (
    BUNDLED_TECH,
    OPTIONAL,
    SCHEMA,
    SUPPLY_SCALED,
    bundled_tech,
    load_tech,
    tech_from_dict,
)
from spinemu.energy.units import format_quantity, parse_quantity


@pytest.mark.parametrize(("text", "dimension", "si"), [
    ("0.03 pJ", "energy", 0.03e-12), ("2 ns", "time", 2e-9), ("1.2 um2", "area", 1.2e-12),
    ("28 nm", "length", 28e-9), ("1e3 fJ", "energy", 1e-12), ("5", "number", 5.0),
    ("0.9 V", "voltage", 0.9), ("650 mV", "voltage", 0.65),
    (0.62, "number", 0.62), ("2nJ", "energy", 2e-9),
])
def test_quantities_are_read_into_si(text, dimension, si):
    assert parse_quantity("x", text, dimension) == pytest.approx(si)


@pytest.mark.parametrize(("text", "dimension", "message"), [
    ("3 furlongs", "energy", r"^cell\.x = '3 furlongs': furlongs is not a unit understood; "
                             r"allowed a number and one of aJ, fJ"),
    ("3 ns", "energy", r"^cell\.x = '3 ns': ns is a unit of time; allowed a number and one of aJ"),
    ("3", "energy", r"^cell\.x = '3': no unit is not a unit understood"),
    (3, "energy", r"^cell\.x = 3 is not a quantity; allowed a number and one of aJ"),
    ("pJ", "energy", r"^cell\.x = 'pJ' is not a quantity"),
])
def test_bad_quantities_are_refused_naming_the_field(text, dimension, message):
    with pytest.raises(ConfigError, match=message):
        parse_quantity("cell.x", text, dimension)


def test_format_picks_a_readable_unit():
    assert format_quantity(2.5e-12, "energy") == "2.5 pJ"
    assert format_quantity(1.46e-7, "time") == "146 ns"
    assert format_quantity(0.0, "energy") == "0"


def _default_document() -> dict:
    from importlib import resources

    text = resources.files("spinemu.energy").joinpath("tech", BUNDLED_TECH["sot28"]).read_text()
    return tomllib.loads(text)


@pytest.mark.parametrize("name", sorted(BUNDLED_TECH))
def test_bundled_files_load_with_every_constant_ranged_and_sourced(name):
    tech = bundled_tech(name)
    expected = {f"{s}.{f}" for s, fields in SCHEMA.items() for f in fields}
    assert expected <= set(tech.values) <= expected | set(OPTIONAL)
    assert set(tech.sources) == set(tech.values)
    for key, (low, high) in tech.ranges.items():
        assert low <= tech[key] <= high, key


def test_the_default_chip_has_a_range_for_every_constant_but_published_baseline_figures():
    tech = bundled_tech()
    published = {"baseline.node", "baseline.add8", "baseline.mult8", "baseline.sram_8kb",
                 "baseline.sram_32kb", "baseline.sram_1mb"}
    assert set(tech.values) - set(tech.ranges) == published


def test_docs_cite_every_source_tag_of_the_bundled_files():
    from pathlib import Path

    docs = (Path(__file__).parents[1] / "docs" / "energy.md").read_text()
    tags = {tag for name in BUNDLED_TECH for tag in bundled_tech(name).sources.values()}
    missing = sorted(tag for tag in tags if f"`{tag}`" not in docs)
    assert not missing


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["cell"].pop("read_energy"),
     r"^t: cell\.read_energy is missing \(energy: "),
    (lambda d: d["cell"].__setitem__("read_energy", "-5 fJ"),
     r"^cell\.read_energy = '-5 fJ' is out of range; allowed > 0$"),
    (lambda d: d["adc"].__setitem__("energy", {"value": "0 fJ"}),
     r"^adc\.energy = '0 fJ' is out of range; allowed > 0$"),
    (lambda d: d["cell"].__setitem__("read_time", "2 parsecs"),
     r"^cell\.read_time = '2 parsecs': parsecs is not a unit understood; allowed"),
    (lambda d: d["cell"].__setitem__("area", "1 ns"),
     r"^cell\.area = '1 ns': ns is a unit of time; allowed a number and one of nm2, um2"),
    (lambda d: d["cell"].__setitem__("read_energy", {"value": "9 fJ", "low": "1 fJ",
                                                     "high": "8 fJ"}),
     r"^cell\.read_energy = 9e-15 is outside its own range 1e-15\.\.8e-15"),
    (lambda d: d["cell"].__setitem__("read_energy", {"low": "1 fJ", "high": "8 fJ"}),
     r"^cell\.read_energy is missing its value$"),
    (lambda d: d["cell"].__setitem__("volume", "1 fJ"),
     r"^t: unknown field\(s\) \['cell\.volume'\]; allowed"),
    (lambda d: d.pop("baseline"), r"^t: section \[baseline\] is missing$"),
    (lambda d: d.__setitem__("magic", {}), r"^t: unknown section\(s\) \['magic'\]"),
    (lambda d: d["adc"].__setitem__("model", "flash"),
     r"^adc\.model = 'flash' is not known; allowed walden, linear, thermal$"),
    (lambda d: d["adc"].__setitem__("columns_per_adc", 2.5),
     r"^adc\.columns_per_adc = 2\.5 must be a whole number$"),
    (lambda d: d["tech"].__setitem__("vdd_nominal", "0.9 fJ"),
     r"^tech\.vdd_nominal = '0\.9 fJ': fJ is a unit of energy; allowed a number and one of "
     r"mV, V$"),
    (lambda d: d["tech"].__setitem__("vdd_nominal", "-1 V"),
     r"^tech\.vdd_nominal = '-1 V' is out of range; allowed > 0$"),
])
def test_bad_tech_files_are_refused_in_one_line_naming_the_field(change, message):
    document = _default_document()
    change(document)
    with pytest.raises(ConfigError, match=message) as error:
        tech_from_dict(document, "t")
    assert "\n" not in str(error.value)


def test_load_tech_reads_a_file_and_refuses_malformed_toml(tmp_path):
    import tomli_w

    path = tmp_path / "chip.toml"
    path.write_text(tomli_w.dumps(_default_document()))
    assert load_tech(path).values == bundled_tech().values
    path.write_text("[cell\n")
    with pytest.raises(ConfigError, match=r"chip\.toml: malformed TOML"):
        load_tech(path)
    with pytest.raises(ConfigError, match=r"^tech file .*nothing\.toml cannot be read"):
        load_tech(tmp_path / "nothing.toml")
    with pytest.raises(ConfigError, match=re.escape("tech 'x' is not bundled")):
        bundled_tech("x")


def test_supply_scaling_is_c_v_squared_on_the_cmos_energies_only(nvdcim):
    """At 1.2 V from the nominal 0.9 V every CMOS energy (and its range) is (1.2 / 0.9)^2 times
    larger; the MTJ read, times and the baseline's published figures are unchanged."""
    scaled = nvdcim.at_supply(1.2)
    factor = (1.2 / 0.9) ** 2
    for key, value in nvdcim.values.items():
        expected = value * factor if key in SUPPLY_SCALED else value
        assert scaled[key] == pytest.approx(expected), key
    for key, (low, high) in nvdcim.ranges.items():
        want = factor if key in SUPPLY_SCALED else 1.0
        assert scaled.ranges[key] == pytest.approx((low * want, high * want)), key
    assert nvdcim.at_supply(0.9).values == pytest.approx(nvdcim.values)


def test_supply_scaling_needs_a_nominal_supply_and_a_supply_in_range(nvdcim):
    with pytest.raises(ConfigError, match=r"tech\.vdd_nominal is not given; supply scaling "):
        bundled_tech().at_supply(0.8)
    with pytest.raises(ConfigError, match=r"^vdd = 9 is out of range; allowed 0\.1\.\.5\.0 "
                                          r"\(V\)$"):
        nvdcim.at_supply(9)
