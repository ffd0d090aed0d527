"""spinemu.sim.designs: Verilog of a simulated design, converted once per configuration."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from spinemu.config import PBitConfig, TileConfig, Topology
from spinemu.gateware.convert import to_verilog
from spinemu.hdl.tile import CrossbarTile
from spinemu.sim import designs, runner
from spinemu.sim.stimulus import random_images

from cases import random_config


class CountedTile(CrossbarTile):
    """A :class:`CrossbarTile` that counts how often it is made."""

    made = 0

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


def test_a_configuration_is_converted_once(tmp_path):
    """The second request for a configuration reads the kept Verilog (nothing is made), which
    is the conversion's own; other weights, another configuration or another module name are
    converted anew."""
    rng = np.random.default_rng(11)
    config = random_config(rng, max_rows=6, max_cols=6)
    g, _, shift, gain, offset = random_images(rng, config, batch=1)
    CountedTile.made = 0
    first = designs.design_verilog(CountedTile, config, g, shift, gain, offset,
                                   name="tile", cache_dir=tmp_path)
    again = designs.design_verilog(CountedTile, config, g, shift, gain, offset,
                                   name="tile", cache_dir=tmp_path)
    assert CountedTile.made == 1
    assert first == again == to_verilog(CountedTile(config, g, shift, gain, offset), "tile")
    other_g = g.copy()
    other_g.flat[0] ^= 1
    other_config = TileConfig(**{**config.to_dict(), "out_bits": config.out_bits + 1})
    for args, name in [((config, other_g, shift, gain, offset), "tile"),
                       ((other_config, g, shift, gain, offset), "tile"),
                       ((config, g, shift, gain, offset), "tile2")]:
        made = CountedTile.made
        text = designs.design_verilog(CountedTile, *args, name=name, cache_dir=tmp_path)
        assert CountedTile.made == made + 1 and text != first
    assert len(list(tmp_path.glob("verilog/*/.built"))) == 4


class Opaque:
    """A value the key cannot encode."""


def test_an_unkeyable_design_is_converted_every_time(tmp_path):
    """An argument the key cannot encode is named, and its design, converted every time,
    leaves nothing in the cache."""
    config = TileConfig(rows=2, cols=2, lanes=2)
    with pytest.raises(designs.Unkeyable,
                       match=r"^test_designs\.Opaque cannot be part of a design key$"):
        designs.canonical({"part": [Opaque()]})
    CountedTile.made = 0
    texts = [designs.design_verilog(lambda _: CountedTile(config), Opaque(), name="tile",
                                    cache_dir=tmp_path) for _ in range(2)]
    assert CountedTile.made == 2 and texts[0] == texts[1]
    assert not (tmp_path / "verilog").exists()


def key(value) -> str:
    """What a design's key holds of ``value``."""
    return json.dumps(designs.canonical(value))


@pytest.mark.parametrize("a, b", [
    (1, True), (1, 1.0), (0.1, 0.1 + 2**-56), ((1, 2), [1, 2]), ("1", 1), (None, 0),
    (np.zeros(3, np.int64), np.zeros(3, np.int32)),
    (np.zeros(3, np.int64), np.zeros((3, 1), np.int64)),
    (np.arange(3), np.arange(3)[::-1]),
    (PBitConfig(), PBitConfig(update_units=2)),
    (Topology(3, ((0, 1), (1, 2)), (0, 1, 0)), Topology(3, ((0, 1), (0, 2)), (0, 1, 1))),
    ({"a": 1}, {"a": 2}),
])
def test_canonical_tells_apart_what_differs(a, b):
    assert key(a) != key(b)
    assert key(a) == key(a)


def test_canonical_is_the_same_for_equal_values():
    assert key({"a": 1, "b": 2}) == key({"b": 2, "a": 1})
    transposed = np.arange(6).reshape(2, 3).T
    assert key(transposed) == key(np.ascontiguousarray(transposed))
    assert key(np.int64(5)) == key(np.array(5))
    assert key(PBitConfig()) == key(PBitConfig())


def test_an_edit_of_the_source_is_a_new_key(tmp_path, monkeypatch):
    """The key holds the digest of every source file of the packages: editing one changes it."""
    package = tmp_path / "fakehdl"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("WIDTH = 8\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(designs, "PACKAGES", ("fakehdl",))
    designs.source_digest.cache_clear()
    try:
        config = TileConfig(rows=2, cols=2, lanes=2)
        before = designs.design_key(CrossbarTile, (config,), {}, "tile")
        (package / "core.py").write_text("WIDTH = 9\n")
        designs.source_digest.cache_clear()
        after = designs.design_key(CrossbarTile, (config,), {}, "tile")
    finally:
        sys.modules.pop("fakehdl", None)
        designs.source_digest.cache_clear()
    assert before != after


def test_kept_verilog_is_pruned_with_the_builds(tmp_path):
    config = TileConfig(rows=2, cols=2, lanes=2)
    designs.design_verilog(CrossbarTile, config, name="tile", cache_dir=tmp_path)
    entry, = tmp_path.glob("verilog/*")
    assert runner.prune_cache(tmp_path, limit=0) == [entry]
    assert not entry.exists()
