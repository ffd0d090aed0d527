# amaranth: UnusedElaboratable=no
"""CrossbarTile and its MAC and output stage in amaranth.sim against the golden model: small
random configs, timing, writes."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from spinemu.config import ConfigError, TileConfig
from spinemu.hdl.tile import (
    DISTRIBUTED_CALIBRATION_COLS,
    CrossbarTile,
    TileMac,
    TileOutput,
    calibration_memory_attrs,
    weight_words,
)
from spinemu.numeric import signed_range
from spinemu.sim.golden import adc, calibrate, column_sums, tile_forward
from spinemu.sim.stimulus import random_images
from spinemu.sim.testbench import random_pause, stream_get, stream_get_timed, stream_put

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
    # Every column of the first vector when output_clocks (counted from the first input) says.
    assert (arrivals[:cols] == np.array(CrossbarTile.output_clocks(config)) + 1).all()


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


# --- Sub-components ---------------------------------------------------------------------------

def group_sums(config, x, g) -> np.ndarray:
    """The golden column sums of ``x[batch, R]``, as the MAC hands them: ``[batch, K, L]``,
    lanes past the last column zero."""
    acc = np.zeros((len(x), config.groups * config.lanes), np.int64)
    acc[:, : config.cols] = column_sums(x, g)
    return acc.reshape(len(x), config.groups, config.lanes)


def run(dut, *benches):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("seed", range(8))
def test_mac_hands_over_golden_column_sums(seed):
    """TileMac: every group's L sums, in order, under random stalls on both sides; ``waiting``
    only between vectors."""
    case = random_tile_case(seed, max_rows=12, max_cols=10, batch=3)
    config = case.config
    dut = TileMac(config, weight_words(config, case.g))
    rng = np.random.default_rng(seed)
    pause = random_pause(rng, 0.3) if seed % 2 else None
    got, waiting = [], []

    async def drive(ctx):
        waiting.append(ctx.get(dut.waiting))
        await stream_put(ctx, dut.x, case.x.reshape(-1).tolist(), pause)

    async def collect(ctx):
        got.extend(await stream_get(ctx, dut.sums, len(case.x) * config.groups, pause))
        waiting.append(ctx.get(dut.waiting))

    run(dut, drive, collect)
    sums = np.array([[int(v) for v in word] for word in got]).reshape(len(case.x),
                                                                      config.groups, -1)
    assert (sums == group_sums(config, case.x, case.g)).all(), case
    assert waiting == [1, 1]


def test_mac_weight_port_waits_for_idle():
    """TileMac writes and reads the weight memory only while ``idle``; addresses past R*K
    store nothing."""
    config = TileConfig(rows=3, cols=5, lanes=2, cell_bits=4, input_bits=3)
    dut = TileMac(config)
    words = config.rows * config.groups
    got = []

    async def bench(ctx):
        ctx.set(dut.weight_wr.valid, 1)
        ctx.set(dut.weight_wr.payload, {"addr": 1, "data": [-8, 7]})
        assert not ctx.get(dut.weight_wr.ready)
        await ctx.tick().repeat(3)
        ctx.set(dut.idle, 1)
        await stream_put(ctx, dut.weight_wr, [{"addr": 1, "data": [-8, 7]},
                                              {"addr": words, "data": [5, 5]},
                                              {"addr": 2, "data": [3, -1]}])
        for addr in (0, 1, 2):
            await stream_put(ctx, dut.weight_rd.addr, [addr])
            got.extend(await stream_get(ctx, dut.weight_rd.data, 1))

    run(dut, bench)
    assert [[int(v) for v in word] for word in got] == [[0, 0], [-8, 7], [3, -1]]


@pytest.mark.parametrize("seed", range(8))
def test_output_stage_matches_golden_adc_and_calibration(seed):
    """TileOutput: sums over the full W-bit range through ADC and calibration, one column per
    transfer, lanes past the last column dropped, under random stalls."""
    case = random_tile_case(seed, max_rows=12, max_cols=10, batch=3)
    config = case.config
    rng = np.random.default_rng(seed)
    acc = rng.integers(*signed_range(config.acc_bits), size=(3, config.groups, config.lanes),
                       endpoint=True)
    dut = TileOutput(config, case.adc_shift, case.gain, case.offset)
    pause = random_pause(rng, 0.3) if seed % 2 else None
    got, empty = [], []

    async def drive(ctx):
        empty.append(ctx.get(dut.empty))
        await stream_put(ctx, dut.i, acc.reshape(-1, config.lanes).tolist(), pause)

    async def collect(ctx):
        got.extend(await stream_get(ctx, dut.z, 3 * config.cols, pause))
        await ctx.tick()
        empty.append(ctx.get(dut.empty))

    run(dut, drive, collect)
    sums = acc.reshape(3, -1)[:, : config.cols]
    expected = calibrate(adc(sums, case.adc_shift, config.adc_bits), case.gain, case.offset,
                         config)
    assert (np.array(got).reshape(expected.shape) == expected).all(), case
    assert empty == [1, 1]


def test_output_stage_registers_wait_for_idle():
    """TileOutput writes and reads the calibration memory only while ``idle``; columns past C
    and shifts past W store nothing."""
    config = TileConfig(rows=3, cols=5, lanes=2, cell_bits=4, input_bits=3)
    dut = TileOutput(config)
    shift, gain, offset = config.default_calibration()
    got = []

    async def bench(ctx):
        write = {"col": 1, "regs": {"adc_shift": 2, "gain": 3, "offset": -4}}
        ctx.set(dut.column_wr.valid, 1)
        ctx.set(dut.column_wr.payload, write)
        assert not ctx.get(dut.column_wr.ready)
        await ctx.tick().repeat(3)
        ctx.set(dut.idle, 1)
        await stream_put(ctx, dut.column_wr, [
            write, {"col": config.cols, "regs": {"adc_shift": 0, "gain": 9, "offset": 9}},
            {"col": 2, "regs": {"adc_shift": config.max_adc_shift + 1, "gain": 9, "offset": 9}}])
        for col in (1, 2):
            await stream_put(ctx, dut.column_rd.addr, [col])
            got.extend(await stream_get(ctx, dut.column_rd.data, 1))

    run(dut, bench)
    assert [(r.adc_shift, r.gain, r.offset) for r in got] == [
        (2, 3, -4), (shift[2], gain[2], offset[2])]


class _Platform:
    def __init__(self, family):
        self.family = family


@pytest.mark.parametrize(("cols", "family", "distributed"), [
    (64, "ecp5", True),
    (DISTRIBUTED_CALIBRATION_COLS, "ecp5", True),
    (DISTRIBUTED_CALIBRATION_COLS + 1, "ecp5", False),
    (64, "iCE40", False),       # no LUT RAM: it would become flip-flops
    (64, "GW1NR-9C", False),
])
def test_calibration_memory_goes_to_lut_ram_only_where_it_pays(cols, family, distributed):
    attrs = calibration_memory_attrs(cols, _Platform(family))
    assert (attrs.get("ram_style") == "distributed") is distributed
    assert calibration_memory_attrs(cols, None) == {}  # simulation: no platform


def test_tile_memory_carries_the_platform_attribute():
    from amaranth.back import rtlil

    def text(family):
        output = TileOutput(TileConfig(rows=16, cols=16, lanes=4))
        return rtlil.convert(output, platform=_Platform(family), emit_src=False)

    assert 'attribute \\ram_style "distributed"' in text("ecp5")
    assert "ram_style" not in text("iCE40")
