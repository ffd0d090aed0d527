"""TileConfig and ConvConfig validation and round trips; check_image, the range check of every
array."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings

from spinemu.config import (
    ConfigError,
    ConvConfig,
    LayerConfig,
    NetworkConfig,
    TileConfig,
    check_image,
)

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


# --- check_image ------------------------------------------------------------------------------

def test_check_image_returns_int64_of_integers_in_range():
    for image in ([[-8, 7], [0, 3]], np.array([[-8, 7], [0, 3]], np.int8),
                  np.array([[-8.0, 7.0], [0.0, 3.0]]), np.array([[-8, 7], [0, 3]], np.int64)):
        got = check_image("w", image, (2, 2), -8, 7)
        assert got.dtype == np.int64 and got.tolist() == [[-8, 7], [0, 3]]
    assert check_image("s", np.array([True, False]), (2,), 0, 1).tolist() == [1, 0]
    assert check_image("e", np.zeros((0, 3)), (0, 3), 1, 1).shape == (0, 3)


@pytest.mark.parametrize("image, note, message", [
    ([[0, 1], [8, 9]], "",
     r"^w\[1, 0\] = 8 is out of range; allowed -8\.\.7 \(2 element\(s\) outside\)$"),
    ([[0, -9], [0, 0]], "cell_bits = 4",
     r"^w\[0, 1\] = -9 is out of range; allowed -8\.\.7 \(cell_bits = 4; 1 element\(s\) "
     r"outside\)$"),
    ([[0, 0.5], [0, 0]], "", r"^w must hold integers, got dtype float64$"),
    ([[0, np.nan], [0, 0]], "", r"^w must hold integers, got dtype float64$"),
    ([0, 1], "", r"^w has shape \(2,\); expected \(2, 2\)$"),
])
def test_check_image_names_field_value_and_range(image, note, message):
    with pytest.raises(ConfigError, match=message):
        check_image("w", image, (2, 2), -8, 7, note=note)


def test_check_image_compares_wide_unsigned_values_exactly():
    """A uint64 beyond int64 is refused with its own value, not the negative one its int64 cast
    would show."""
    seeds = np.array([1, 2**63 + 5], dtype=np.uint64)
    with pytest.raises(ConfigError, match=rf"^seeds\[1\] = {2**63 + 5} is out of range; "
                                          rf"allowed 1\.\.4294967295 "):
        check_image("seeds", seeds, (2,), 1, 2**32 - 1)


def test_read_npz_reads_archives_and_names_what_is_not_one(tmp_path):
    from spinemu.config import read_npz

    np.savez(tmp_path / "good.npz", a=np.arange(3), b=np.eye(2))
    arrays = read_npz(tmp_path / "good.npz", "thing")
    assert sorted(arrays) == ["a", "b"] and np.array_equal(arrays["b"], np.eye(2))
    (tmp_path / "text.npz").write_text("not an archive")
    np.save(tmp_path / "bare.npy", np.zeros(3))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:40])
    for name, why in [("text.npz", "pickled"), ("bare.npy", "a single array, not an archive"),
                      ("cut.npz", ""), ("missing.npz", "No such file")]:
        with pytest.raises(ConfigError, match=rf"{name} is not a readable npz thing: .*{why}"):
            read_npz(tmp_path / name, "thing")


# --- Convolution layers ---------------------------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    ({"padding": 3}, r"^padding = 3 is out of range; allowed 0\.\.2$"),
    ({"pool": "min", "pool_size": 2}, r"^pool = 'min' is not supported; allowed \['none', "
                                      r"'max', 'avg'\]$"),
    ({"pool_size": 2}, r"^pool_size = 2 is out of range; allowed 1\.\.1$"),
    ({"pool": "max", "pool_size": 4}, r"^pool_size = 4 does not tile the convolution output "
                                      r"height 6; allowed a divisor of 6$"),
    ({"kernel": 7}, r"^kernel = 7 is larger than the padded input 8x6; allowed 1\.\.6$"),
])
def test_conv_fields_are_refused(fields, message):
    values = {"height": 8, "width": 6, "channels": 2, "kernel": 3} | fields
    with pytest.raises(ConfigError, match=message):
        ConvConfig(**values)


def test_conv_layer_geometry_round_trips_and_chains():
    conv = ConvConfig(8, 6, 2, 3, stride=1, padding=0, pool="avg", pool_size=2)
    assert (conv.conv_height, conv.conv_width, conv.out_height, conv.out_width) == (6, 4, 3, 2)
    layer = LayerConfig(18, 5, TileConfig(rows=8, cols=4, lanes=1), act_bits=4, conv=conv)
    assert (layer.inputs, layer.outputs, layer.row_tiles) == (96, 30, 3)
    assert LayerConfig.from_toml(layer.to_toml()) == layer
    assert "conv" not in LayerConfig(3, 2).to_dict()
    dense = LayerConfig(30, 10, TileConfig(rows=8, cols=4, lanes=1, input_bits=4))
    network = NetworkConfig((layer, dense))
    assert NetworkConfig.from_toml(network.to_toml()) == network
    with pytest.raises(ConfigError, match=r"^layer 1: 29 inputs but layer 0 has 30 outputs$"):
        NetworkConfig((layer, dataclasses.replace(dense, in_features=29)))
    with pytest.raises(ConfigError, match=r"^in_features = 17 does not match the convolution's "
                                          r"patch of 18 \(kernel 3x3 x 2 channels\)$"):
        LayerConfig(17, 5, conv=conv)
