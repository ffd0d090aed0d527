# amaranth: UnusedElaboratable=no
"""CrossbarTile in amaranth.sim against the golden model: small random configs, timing, writes."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from spinemu.config import ConfigError, TileConfig
from spinemu.hdl.tile import CrossbarTile, weight_words
from spinemu.sim.golden import tile_forward
from spinemu.sim.stimulus import random_images
from spinemu.sim.testbench import random_pause, stream_get_timed, stream_put

from cases import random_tile_case


def column_writes(adc_shift, gain, offset):
    return [{"col": c, "regs": {"adc_shift": int(s), "gain": int(g), "offset": int(o)}}
            for c, (s, g, o) in enumerate(zip(adc_shift, gain, offset, strict=True))]


def weight_writes(config, g):
    return [{"addr": a, "data": word} for a, word in enumerate(weight_words(config, g).tolist())]


def simulate(config, g, x, adc_shift, gain, offset, *, load="init", stall=0.0, seed=0,
             extra_writes=()):
    """Run the tile in amaranth.sim; return (z, cycle at which each output arrived).

    ``extra_writes`` are (stream name, payload) pairs written after loading, before the inputs.
    """
    rng = np.random.default_rng(seed)
    pause = random_pause(rng, stall) if stall else None
    images = (g, adc_shift, gain, offset)
    dut = CrossbarTile(config, *images) if load == "init" else CrossbarTile(config)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    got, arrivals = [], []
    loaded = []

    async def drive(ctx):
        if load == "runtime":
            await stream_put(ctx, dut.weight_wr, weight_writes(config, g), pause)
            await stream_put(ctx, dut.column_wr, column_writes(adc_shift, gain, offset), pause)
        for name, payload in extra_writes:
            await stream_put(ctx, getattr(dut, name), [payload])
        loaded.append(True)
        await stream_put(ctx, dut.x, x.reshape(-1).tolist(), pause)

    def hold():  # not ready until the images are loaded, then as ``pause`` says
        return not loaded or (pause is not None and pause())

    async def collect(ctx):
        payloads, ticks = await stream_get_timed(ctx, dut.z, x.shape[0] * config.cols, hold)
        got.extend(payloads)
        arrivals.extend(ticks)

    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    return np.array(got, dtype=np.int64).reshape(x.shape[0], config.cols), np.array(arrivals)


@pytest.mark.parametrize("seed", range(16))
def test_random_configs_match_golden(seed):
    case = random_tile_case(seed, max_rows=20, max_cols=12, batch=3)
    z, _ = simulate(case.config, case.g, case.x, case.adc_shift, case.gain, case.offset,
                    load=("init", "runtime")[seed % 2], stall=(0.0, 0.3)[seed % 3 == 0],
                    seed=seed)
    expected = tile_forward(case.config, case.g, case.x, case.adc_shift, case.gain, case.offset)
    assert (z == expected).all(), case


@pytest.mark.parametrize("rows, cols, lanes", [(5, 7, 3), (3, 16, 16), (8, 8, 1), (1, 9, 4),
                                               (12, 30, 7)])
def test_cycles_per_vector_and_latency(rows, cols, lanes):
    config = TileConfig(rows=rows, cols=cols, lanes=lanes)
    rng = np.random.default_rng(rows * cols)
    g, x, adc_shift, gain, offset = random_images(rng, config, 4)
    z, arrivals = simulate(config, g, x, adc_shift, gain, offset)
    assert (z == tile_forward(config, g, x, adc_shift, gain, offset)).all()
    firsts = arrivals[::cols]
    assert (np.diff(firsts) == CrossbarTile.cycles_per_vector(config)).all()
    # The first input is taken on tick 1, the last on tick rows; then rows + 8 more.
    assert firsts[0] == rows + rows + 8


def test_writes_out_of_range_are_ignored():
    """Weight addresses past the memory, columns past cols and shifts past acc_bits change
    nothing; in-range writes land."""
    config = TileConfig(rows=3, cols=5, lanes=2, cell_bits=4, input_bits=3)
    rng = np.random.default_rng(7)
    g, x, adc_shift, gain, offset = random_images(rng, config, 2)
    bad = [
        ("weight_wr", {"addr": config.rows * config.groups, "data": [7, 7]}),
        ("column_wr", {"col": config.cols, "regs": {"adc_shift": 0, "gain": 1, "offset": 5}}),
        ("column_wr", {"col": 0, "regs": {"adc_shift": config.max_adc_shift + 1, "gain": 1,
                                          "offset": 5}}),
    ]
    z, _ = simulate(config, g, x, adc_shift, gain, offset, extra_writes=bad)
    assert (z == tile_forward(config, g, x, adc_shift, gain, offset)).all()
    good = [("weight_wr", {"addr": 1, "data": [-8, 7]}),
            ("column_wr", {"col": 4, "regs": {"adc_shift": 0, "gain": 3, "offset": -2}})]
    z, _ = simulate(config, g, x, adc_shift, gain, offset, extra_writes=good)
    g2, shift2, gain2, offset2 = g.copy(), adc_shift.copy(), gain.copy(), offset.copy()
    g2[1, 0:2] = [-8, 7]
    shift2[4], gain2[4], offset2[4] = 0, 3, -2
    assert (z == tile_forward(config, g2, x, shift2, gain2, offset2)).all()


def test_weight_words_layout():
    config = TileConfig(rows=2, cols=5, lanes=2)
    g = np.arange(10).reshape(2, 5) - 5
    words = weight_words(config, g)
    assert words.shape == (config.rows * config.groups, config.lanes)
    for k in range(config.groups):
        for r in range(config.rows):
            for lane in range(config.lanes):
                c = k * config.lanes + lane
                assert words[k * config.rows + r, lane] == (g[r, c] if c < config.cols else 0)


def test_images_that_do_not_fit_are_refused():
    config = TileConfig(rows=4, cols=4, lanes=2, cell_bits=3)
    with pytest.raises(ConfigError, match=r"^weights\[0, 1\] = 4 is out of range; allowed -4\.\.3"):
        CrossbarTile(config, np.array([[0, 4, 0, 0]] * 4))
    with pytest.raises(ConfigError, match=r"^gain\[0\] = -1 is out of range; allowed 0\.\.255"):
        CrossbarTile(config, gain=np.array([-1, 0, 0, 0]))
    with pytest.raises(TypeError, match=r"^config must be a TileConfig, not dict$"):
        CrossbarTile({"rows": 4})
