# amaranth: UnusedElaboratable=no
"""The hybrid core on the host link (HybridFabric behind LinkCore) in amaranth.sim, against golden.

Random dense problems are programmed through frames (the tile's weights, the nodes, the
schedule) and read back; an anneal records its states; recorded, final and best states and
energies, and the LFSR states read back afterwards, equal
:class:`~spinemu.sim.golden.hybrid.HybridModel`'s bit for bit. The regions match the core's
streams.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import unsigned
from amaranth.lib.wiring import In
from amaranth.sim import Simulator

from spinemu.config import ConfigError, PBitConfig, TileConfig
from spinemu.gateware.core import LinkCore, link_regmap
from spinemu.gateware.hybrid_fabric import HybridFabric, hybrid_regions
from spinemu.gateware.pbit_fabric import RESULT_FIELDS, STATES_DEPTH
from spinemu.hdl.hybrid import HybridCore, stream_layouts
from spinemu.hdl.link import RegionSignature
from spinemu.hdl.tile import weight_words
from spinemu.link.pbit_client import ChainRun
from spinemu.link.regmap import Access
from spinemu.sim.golden.hybrid import HybridModel, exact_tile_config
from spinemu.sim.golden.pbit import energy
from spinemu.sim.link_sim import SimHost

from cases import (
    link_chain_run,
    link_read,
    link_records,
    link_result,
    link_wait_idle,
    link_write,
    random_hybrid_case,
)


def bits(word: int, n: int) -> np.ndarray:
    return np.array([(word >> i) & 1 for i in range(n)], np.uint8)


@pytest.mark.parametrize("seed, kind", [(30, "rbm"), (31, "sequential")])
def test_anneal_through_link_equals_golden(seed, kind):
    case = random_hybrid_case(seed, kind, n=6)
    n, depth = len(case.h), len(case.schedule)
    fabric = HybridFabric(case.tile, case.config, case.colours, schedule_depth=depth)
    core = LinkCore(fabric, divisor=None)
    regmap = core.regmap
    g = np.zeros((case.tile.rows, case.tile.cols), np.int64)
    g[:n, :n] = case.J
    images = {
        "weights": weight_words(case.tile, g).tolist(),
        "nodes": [{"bias": int(b), "seed": int(s), "state": int(x)}
                  for b, s, x in zip(case.h, case.seeds, case.state0, strict=True)],
        "schedule": [{"beta": b, "sweeps": k} for b, k in case.schedule],
    }
    e0 = int(energy(case.J, case.h, case.state0))
    sweeps = sum(k for _, k in case.schedule)
    seen = {}

    async def bench(ctx):
        host = SimHost(ctx, core)
        for name, values in images.items():
            await link_write(host, regmap[name], values)
        seen["before"] = {name: await link_read(host, regmap[name], len(values))
                          for name, values in images.items()}
        await link_write(host, regmap["run"], [{"steps": depth, "record_every": 1,
                                                "energy": e0}])
        seen["records"] = await link_records(host, regmap, sweeps, n)
        await link_wait_idle(host, regmap)
        seen["result"] = await link_result(host, regmap, n)
        seen["nodes"] = await link_read(host, regmap["nodes"], n)

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

    assert seen["before"] == images, case
    model = HybridModel(case.tile, case.config, case.J, case.h, case.colours)
    expected = ChainRun.from_golden(
        model.run(case.schedule, case.seeds[None], case.state0[None], record=1), e0, 1)
    device = link_chain_run(seen["records"], seen["result"], seen["nodes"], 1)
    assert device.differences(expected) == [], case
    assert [v["bias"] for v in seen["nodes"]] == case.h.tolist()


def test_regions_match_the_core():
    config = PBitConfig(coupling_bits=4)
    J = np.array([[0, 3, -2], [3, 0, 1], [-2, 1, 0]])
    tile = exact_tile_config(J, config, lanes=2)
    fabric = HybridFabric(tile, config, [0, 1, 2], J=J, schedule_depth=3)
    regions = {r.name: r for r in fabric.regions()}
    assert [(r.name, r.id, r.access, r.depth) for r in fabric.regions()] == [
        ("weights", 1, Access.RW, tile.rows * tile.groups), ("nodes", 2, Access.RW, 3),
        ("schedule", 3, Access.RW, 3), ("run", 4, Access.PUSH, 1),
        ("states", 5, Access.POP, STATES_DEPTH), ("result", 6, Access.RO, 2),
        ("states_slices", 7, Access.POP, STATES_DEPTH), ("result_slices", 8, Access.RO, 2)]
    assert regions["result"].fields == RESULT_FIELDS
    streams = stream_layouts(tile, config, [0, 1, 2], 3)
    assert regions["run"].layout == streams["run"]
    header = {name: field.shape for name, field in streams["states"] if name != "state"}
    for name in ("states", "result"):
        assert {name: field.shape for name, field in regions[name].layout} == header
    for name in ("states_slices", "result_slices"):
        assert regions[name].layout == unsigned(3)   # one slice of the 3 p-bits
    assert regions["weights"].layout == streams["weight_wr"]["data"].shape
    assert fabric.cycles_per_sweep == HybridCore(tile, config, [0, 1, 2]).cycles_per_sweep()
    for region in fabric.regions():
        port = fabric.signature.members[region.name]
        assert port.flow == In
        assert port.signature.members == RegionSignature(region.word_bits).flip().members
    assert [r.name for r in link_regmap(fabric).regions] == ["status", *regions]
    assert hybrid_regions(tile, config, [0, 1, 2], schedule_depth=3) == fabric.regions()


def test_fabric_refuses_what_the_core_refuses():
    config = PBitConfig(coupling_bits=4)
    J = np.array([[0, 3, -2], [3, 0, 1], [-2, 1, 0]])
    tile = exact_tile_config(J, config)
    narrow = exact_tile_config(J, config).to_dict() | {"adc_bits": 3}
    with pytest.raises(ConfigError, match=r"^couplings give fields up to 5 .*; adc_bits = 3 "
                                          r"holds 3, allowed >= 4 for an exact ADC path$"):
        HybridFabric(TileConfig(**narrow), config, [0, 1, 2], J=J)
    # the state leaves in slices (a core of 2,100 p-bits has a fabric); a weight word of 512
    # lanes of 8 bits does not fit a frame
    assert [r.name for r in hybrid_regions(TileConfig(**tile.to_dict() | {
        "rows": 2100, "cols": 2100}), config, [0, 1] * 1050)][-2:] == ["states_slices",
                                                                        "result_slices"]
    wide = tile.to_dict() | {"rows": 600, "cols": 600, "lanes": 512, "cell_bits": 8}
    with pytest.raises(ConfigError, match=r"^region 'weights': a word of 4096 bits \(512 bytes, "
                                          r"n = 3\) does not fit a frame; allowed at most "
                                          r"250 bytes$"):
        hybrid_regions(TileConfig(**wide), config, [0, 1, 2])
