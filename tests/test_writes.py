# amaranth: UnusedElaboratable=no
"""The write address map of layers and networks: host-side writes (packing, addresses), the
address decoder and the write demux, in amaranth.sim."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth.hdl import unsigned
from amaranth.sim import Simulator

from spinemu.config import LayerConfig
from spinemu.hdl.periphery import periphery_layout
from spinemu.hdl.tile import column_layout, weight_words, weight_write_layout
from spinemu.hdl.writes import LayerTargets, WriteDemux, WriteKind, WriteMap, layer_writes
from spinemu.images import LayerImages
from spinemu.link.regmap import unpack
from spinemu.numeric import signed_range, unsigned_range


def run(dut, bench):
    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def test_write_map_fields(small_layer):
    layer, images = small_layer
    wmap = WriteMap.of([layer])
    assert wmap.address(0, WriteKind.COLUMNS, 5, 1) == 1 | 5 << wmap.local_bits | 1 << (
        wmap.local_bits + wmap.tile_bits)
    writes = layer_writes(layer, images)
    t = layer.tile
    tiles = layer.row_tiles * layer.col_tiles
    assert len(writes) == tiles * (t.rows * t.groups + t.cols) + layer.out_features
    assert all(a < 1 << wmap.addr_bits and d < 1 << wmap.data_bits for a, d in writes)


def extreme_images(layer: LayerConfig, rng) -> LayerImages:
    """Images whose every element is the least or the greatest value :meth:`LayerImages.checked`
    allows (so each field of each word is at an end of its range)."""
    t = layer.tile
    grid = (layer.row_tiles, layer.col_tiles, t.cols)
    ranges = {"g": ((layer.in_features, layer.out_features), signed_range(t.cell_bits)),
              "adc_shift": (grid, (0, t.max_adc_shift)),
              "gain": (grid, unsigned_range(t.gain_bits)),
              "offset": (grid, signed_range(t.offset_bits)),
              "bias": ((layer.out_features,), signed_range(layer.bias_bits)),
              "mult": ((layer.out_features,), unsigned_range(layer.mult_bits)),
              "shift": ((layer.out_features,), (0, layer.max_shift))}
    return LayerImages(**{name: np.array(bounds)[rng.integers(0, 2, size=shape)]
                          for name, (shape, bounds) in ranges.items()})


def assert_writes_unpack_to_the_images(layer: LayerConfig, images: LayerImages) -> None:
    t = layer.tile
    data = [d for _, d in layer_writes(layer, images)]
    g = images.tile_weights(layer)
    cells, words = weight_write_layout(t)["data"].shape, t.rows * t.groups
    for p, q in itertools.product(range(layer.row_tiles), range(layer.col_tiles)):
        tile, data = data[:words + t.cols], data[words + t.cols:]
        assert [unpack(cells, w) for w in tile[:words]] == weight_words(t, g[p][q]).tolist()
        assert [unpack(column_layout(t), w) for w in tile[words:]] == [
            {"adc_shift": images.adc_shift[p, q, c], "gain": images.gain[p, q, c],
             "offset": images.offset[p, q, c]} for c in range(t.cols)]
    assert [unpack(periphery_layout(layer), w) for w in data] == [
        {"bias": images.bias[o], "mult": images.mult[o], "shift": images.shift[o]}
        for o in range(layer.out_features)]


def test_layer_writes_unpack_to_the_images(small_layer):
    """Every word of :func:`layer_writes`, unpacked with its store's layout, is the image it
    came from: weight words, column registers of tile (p, q), output registers; for random
    images and for images at the ends of their ranges (the words are packed unchecked, so a
    field narrower than its image's range would show here)."""
    layer, images = small_layer
    assert_writes_unpack_to_the_images(layer, images)
    extremes = extreme_images(layer, np.random.default_rng(3))
    assert {int(v) for v in extremes.bias} == set(signed_range(layer.bias_bits))
    assert_writes_unpack_to_the_images(layer, extremes)


def test_layer_targets_name_every_store_of_layer_addresses(small_layer):
    """LayerTargets: the addresses of each store (in :func:`layer_addresses` order: per tile its
    weight words, then its columns; then the outputs) decode to that store; every other address
    of the layer (bad kind, tile, word, column or output, a periphery write naming a tile)
    decodes to none."""
    layer, images = small_layer
    wmap = WriteMap.of([layer])
    t = layer.tile
    expected = {}
    stores = iter(addr for addr, _ in layer_writes(layer, images))
    for tile in range(layer.row_tiles * layer.col_tiles):
        for target, count in ((2 * tile, t.rows * t.groups), (2 * tile + 1, t.cols)):
            expected.update((next(stores), target) for _ in range(count))
    expected.update((addr, 2 * layer.row_tiles * layer.col_tiles) for addr in stores)
    dut = LayerTargets(layer, wmap)
    assert dut.targets == 2 * layer.row_tiles * layer.col_tiles + 1
    got = {}

    async def bench(ctx):
        for addr in range(1 << wmap.layer_addr_bits):
            ctx.set(dut.addr, addr)
            got[addr] = ctx.get(dut.target)

    run(dut, bench)
    assert got == {addr: expected.get(addr, dut.targets) for addr in got}


def test_write_demux_routes_to_the_selected_target_only():
    """WriteDemux, every select (none included), ``en``, ``valid`` and target ``ready``: only
    the selected target sees valid, and ``i.ready`` is its ready (1 for none) while ``en``."""
    targets = 3
    dut = WriteDemux(unsigned(8), targets)
    rows = []

    async def bench(ctx):
        for select, en, valid, *ready in itertools.product(range(targets + 1), (0, 1), (0, 1),
                                                           *[(0, 1)] * targets):
            ctx.set(dut.select, select)
            ctx.set(dut.en, en)
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.payload, 0xA5 ^ select)
            for o, r in zip(dut.o, ready, strict=True):
                ctx.set(o.ready, r)
            rows.append((select, en, valid, ready, ctx.get(dut.i.ready),
                         [(ctx.get(o.valid), ctx.get(o.payload)) for o in dut.o]))

    run(dut, bench)
    for select, en, valid, ready, i_ready, outs in rows:
        assert i_ready == en & (ready[select] if select < targets else 1)
        assert outs == [(valid & en & (k == select), 0xA5 ^ select) for k in range(targets)]


def test_write_demux_needs_a_target():
    with pytest.raises(ValueError, match=r"^targets must be an integer >= 1, not 0$"):
        WriteDemux(unsigned(8), 0)
