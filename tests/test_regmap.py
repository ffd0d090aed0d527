# amaranth: UnusedElaboratable=no
"""Register maps and the bit packer."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from spinemu.config import TileConfig
from spinemu.gateware.core import link_regmap
from spinemu.gateware.fabrics import TileFabric
from spinemu.link.regmap import (
    Access,
    Region,
    RegisterMap,
    RegisterMapError,
    bytes_to_words,
    leaf_widths,
    pack,
    pack_fields,
    unpack,
    words_to_bytes,
)

LAYOUT = data.StructLayout({
    "a": signed(5), "b": unsigned(3), "c": data.ArrayLayout(signed(4), 3),
})


def test_pack_matches_amaranth_const_and_round_trips():
    rng = np.random.default_rng(0)
    for _ in range(200):
        value = {"a": int(rng.integers(-16, 16)), "b": int(rng.integers(0, 8)),
                 "c": [int(v) for v in rng.integers(-8, 8, size=3)]}
        word = pack(LAYOUT, value)
        assert word == LAYOUT.const(value).as_bits()
        assert unpack(LAYOUT, word) == value


def test_leaf_widths_pack_as_pack_does_without_checks():
    assert leaf_widths(LAYOUT) == (5, 3, 4, 4, 4)
    assert leaf_widths(data.ArrayLayout(unsigned(7), 2)) == (7, 7)
    rng = np.random.default_rng(1)
    for _ in range(200):
        a, b, *c = (int(v) for v in rng.integers(-100, 100, size=5))
        in_range = {"a": (a + 16) % 32 - 16, "b": b % 8, "c": [(v + 8) % 16 - 8 for v in c]}
        leaves = [in_range["a"], in_range["b"], *in_range["c"]]
        assert pack_fields(leaves, leaf_widths(LAYOUT)) == pack(LAYOUT, in_range)
        # Unchecked: each value is cut to its field, as Amaranth cuts a constant.
        assert pack_fields([a, b, *c], leaf_widths(LAYOUT)) == pack(LAYOUT, in_range)


def test_pack_names_the_leaf_out_of_range():
    with pytest.raises(RegisterMapError, match=r"^c\[2\] = 8 is out of range; allowed -8\.\.7$"):
        pack(LAYOUT, {"a": 0, "b": 0, "c": [0, 0, 8]})
    with pytest.raises(RegisterMapError, match=r"^c has 2 elements, 3 expected$"):
        pack(LAYOUT, {"a": 0, "b": 0, "c": [0, 0]})


def test_words_and_bytes():
    words = [0, 1, 0xABCDEF, 0xFFFFFF]
    assert bytes_to_words(words_to_bytes(words, 3), 3) == words
    with pytest.raises(RegisterMapError, match=r"^5 bytes is not a whole number of 3-byte words$"):
        bytes_to_words(bytes(5), 3)


def test_tile_map_describes_its_regions():
    cfg = TileConfig(rows=20, cols=12, lanes=5, cell_bits=7)
    regmap = link_regmap(TileFabric(cfg))
    assert [r.name for r in regmap.regions] == ["status", "weights", "columns", "x", "z"]
    assert regmap["weights"].depth == cfg.rows * cfg.groups
    assert regmap["weights"].word_bits == cfg.lanes * cfg.cell_bits
    assert regmap["z"].access is Access.POP
    described = regmap.describe()
    assert described["hash"] == f"0x{regmap.hash:08x}"
    other = link_regmap(TileFabric(TileConfig(rows=20, cols=12, lanes=5, cell_bits=8)))
    assert other.hash != regmap.hash
    with pytest.raises(RegisterMapError, match=r"^no region 'w'; the map has status, weights"):
        regmap["w"]
    with pytest.raises(RegisterMapError, match=r"^index 12 of region 'columns' is out of range"):
        regmap["columns"].address(12)


def test_duplicate_regions_are_refused():
    r = Region("a", 1, Access.RW, 4, unsigned(8), "")
    with pytest.raises(RegisterMapError, match=r"^region ids and names must be unique"):
        RegisterMap("f", [r, r])
