"""TileConfig validation and round trips."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings

from spinemu.config import ConfigError, TileConfig

from cases import tile_configs


@pytest.mark.parametrize("field, value, message", [
    ("rows", 0, r"^rows = 0 is out of range; allowed 1\.\.4096$"),
    ("cols", 4097, r"^cols = 4097 is out of range; allowed 1\.\.4096$"),
    ("cell_bits", 1, r"^cell_bits = 1 is out of range; allowed 2\.\.12$"),
    ("cell_bits", 13, r"^cell_bits = 13 is out of range; allowed 2\.\.12$"),
    ("input_bits", 9, r"^input_bits = 9 is out of range; allowed 1\.\.8$"),
    ("adc_bits", 17, r"^adc_bits = 17 is out of range; allowed 1\.\.16$"),
    ("gain_bits", 0, r"^gain_bits = 0 is out of range; allowed 1\.\.16$"),
    ("gain_frac", 8, r"^gain_frac = 8 is out of range; allowed 0\.\.7$"),
    ("offset_bits", 17, r"^offset_bits = 17 is out of range; allowed 1\.\.16$"),
    ("out_bits", 33, r"^out_bits = 33 is out of range; allowed 1\.\.32$"),
    ("lanes", 65, r"^lanes = 65 is out of range; allowed 1\.\.64$"),
    ("lanes", 0, r"^lanes = 0 is out of range; allowed 1\.\.64$"),
    ("rows", 2.5, r"^rows must be an integer in 1\.\.4096, not 2\.5$"),
    ("rows", True, r"^rows must be an integer in 1\.\.4096, not True$"),
    ("input_signed", 1, r"^input_signed must be true or false, not 1$"),
])
def test_out_of_range_fields_are_refused(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TileConfig(**{field: value})


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TileConfig().rows = 3


@settings(max_examples=50, deadline=None)
@given(config=tile_configs(max_rows=4096, max_cols=4096))
def test_round_trips(config):
    assert TileConfig.from_toml(config.to_toml()) == config
    assert TileConfig.from_json(config.to_json()) == config


def test_derived_widths():
    config = TileConfig(rows=100, cols=10, cell_bits=5, input_bits=3, lanes=4)
    assert config.acc_bits == 3 + 5 + 7
    assert config.groups == 3
    assert config.shift_bits == (3 + 5 + 7).bit_length()


@pytest.mark.parametrize("text, message", [
    ("[tile]\nrows = 'a'\n", r"^rows must be an integer in 1\.\.4096, not 'a'$"),
    ("[tile]\nrowz = 3\n", r"^unknown tile config field\(s\) \['rowz'\]; allowed \["),
    ("[tile\n", r"^malformed TOML: "),
    ("[fabric]\n", r"^a tile config file holds one \[tile\] table, found \['fabric'\]$"),
    ("tile = 3\n", r"^a tile config must be a table of fields, not int$"),
])
def test_malformed_toml_is_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        TileConfig.from_toml(text)


def test_load_reads_toml_and_json(tmp_path):
    config = TileConfig(rows=7, cols=5, lanes=5)
    (tmp_path / "a.toml").write_text(config.to_toml())
    (tmp_path / "a.json").write_text(config.to_json())
    assert TileConfig.load(tmp_path / "a.toml") == config
    assert TileConfig.load(tmp_path / "a.json") == config
