# amaranth: UnusedElaboratable=no
"""TiledLayer, its row banks and column sums, and Network in amaranth.sim against the golden
model (DESIGN.md 3.2): random configs and images over full ranges, images baked in or written at
run time, random stalls, measured cycles per vector and latency, writes to nothing."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Const, Module
from amaranth.sim import Simulator

from spinemu.config import ConfigError, LayerConfig, NetworkConfig, TileConfig
from spinemu.hdl.layer import (
    MAX_IN_FLIGHT,
    REPLAY_WAIT,
    ColumnMerge,
    ColumnSum,
    Network,
    RowBanks,
    TiledLayer,
)
from spinemu.hdl.periphery import periphery_layout
from spinemu.hdl.writes import WriteKind, WriteMap, layer_writes, network_writes
from spinemu.images import LayerImages
from spinemu.numeric import signed_range
from spinemu.plan import Plan
from spinemu.sim.golden.network import LayerModel
from spinemu.sim.testbench import random_pause, stream_get, stream_get_timed, stream_put

from cases import random_inputs, random_layer_images, random_plan


def simulate(dut, x, out_features: int, *, writes=(), stall=0.0, seed=0):
    """Write ``writes`` (``(addr, data)`` pairs), then stream ``x`` through ``dut`` (a
    TiledLayer or Network) in amaranth.sim. Return the output codes ``[batch, out_features]``
    and the cycle each arrived at (cycle n: sampled after tick n; without writes, the first
    input is taken on tick 1)."""
    rng = np.random.default_rng(seed)
    pause = random_pause(rng, stall) if stall else None
    got, arrivals, loaded = [], [], []

    async def drive(ctx):
        await stream_put(ctx, dut.write, [{"addr": a, "data": d} for a, d in writes], pause)
        loaded.append(True)
        await stream_put(ctx, dut.x, x.reshape(-1).tolist(), pause)

    def hold():  # not ready until the images are loaded, then as ``pause`` says
        return not loaded or (pause is not None and pause())

    async def collect(ctx):
        payloads, ticks = await stream_get_timed(ctx, dut.o, len(x) * out_features, hold)
        got.extend(payloads)
        arrivals.extend(ticks)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    return np.array(got, dtype=np.int64).reshape(len(x), out_features), np.array(arrivals)


@pytest.mark.parametrize("seed", range(24))
def test_random_layers_match_golden(seed):
    rng = np.random.default_rng(seed)
    plan = random_plan(rng, layers=1, max_features=24, max_rows=7, max_cols=7,
                       min_row_tiles=3 if seed % 4 == 0 else 1)
    layer, images = plan.config.layers[0], plan.images[0]
    x = random_inputs(rng, layer, 5)
    runtime = seed % 2 == 1
    dut = TiledLayer(layer) if runtime else TiledLayer(layer, images)
    got, _ = simulate(dut, x, layer.out_features,
                      writes=layer_writes(layer, images) if runtime else (),
                      stall=0.3 if seed % 3 == 0 else 0.0, seed=seed)
    assert (got == LayerModel(layer, images)(x)).all(), (seed, layer)


@pytest.mark.parametrize("seed", range(8))
def test_random_networks_match_golden(seed):
    rng = np.random.default_rng(100 + seed)
    plan = random_plan(rng, layers=2 + seed % 2, max_features=16, max_rows=6, max_cols=6)
    x = random_inputs(rng, plan.config.layers[0], 4)
    runtime = seed % 2 == 0
    dut = Network(plan.config) if runtime else Network(plan.config, plan.images)
    got, _ = simulate(dut, x, plan.config.layers[-1].out_features,
                      writes=network_writes(plan.config, plan.images) if runtime else (),
                      stall=0.25 if seed % 3 == 1 else 0.0, seed=seed)
    assert (got == plan.model()(x)).all(), (seed, plan.config)


# (rows, cols, lanes, in_features, out_features): tile-bound with one and several groups,
# lanes > rows + 3, input-bound, output-bound with several columns of tiles, one tile.
TIMING = [(4, 3, 2, 10, 3), (5, 4, 4, 13, 4), (3, 3, 1, 9, 3), (2, 5, 5, 7, 5), (1, 1, 1, 1, 1),
          (2, 2, 1, 30, 2), (4, 2, 1, 5, 13), (1, 6, 6, 3, 6), (2, 7, 7, 5, 12),
          (3, 4, 2, 12, 11)]


@pytest.mark.parametrize("rows, cols, lanes, in_features, out_features", TIMING)
def test_cycles_per_vector_and_latency(rows, cols, lanes, in_features, out_features):
    tile = TileConfig(rows=rows, cols=cols, lanes=lanes, cell_bits=4, input_bits=3, adc_bits=6,
                      out_bits=7)
    layer = LayerConfig(in_features, out_features, tile, act_bits=5, mult_bits=6, bias_bits=8)
    rng = np.random.default_rng(rows * cols * in_features)
    images = random_layer_images(rng, layer)
    x = random_inputs(rng, layer, 8)
    got, arrivals = simulate(TiledLayer(layer, images), x, out_features)
    assert (got == LayerModel(layer, images)(x)).all()
    firsts = arrivals[::out_features]
    # Steady state from the third vector on.
    assert (np.diff(firsts)[2:] == TiledLayer.cycles_per_vector(layer)).all(), np.diff(firsts)
    assert firsts[0] == in_features + TiledLayer.latency(layer)


def test_network_runs_at_its_slowest_layer():
    first = LayerConfig(9, 4, TileConfig(rows=3, cols=4, lanes=1, input_bits=3), act_bits=4)
    second = LayerConfig(4, 7, TileConfig(rows=2, cols=3, lanes=3, input_bits=4), relu=False)
    config = NetworkConfig((first, second))
    rng = np.random.default_rng(9)
    images = [random_layer_images(rng, layer) for layer in config.layers]
    x = random_inputs(rng, first, 8)
    got, arrivals = simulate(Network(config, images), x, second.out_features)
    assert (got == Plan(config, tuple(images)).model()(x)).all()
    per_vector = [TiledLayer.cycles_per_vector(layer) for layer in config.layers]
    assert per_vector[0] != per_vector[1]
    assert (np.diff(arrivals[::second.out_features])[2:] == max(per_vector)).all()
    assert Network.cycles_per_vector(config) == max(per_vector)


def test_blocked_output_holds_every_vector():
    """With ``o`` held off, the layer takes vectors until its buffers are full (never more than
    MAX_IN_FLIGHT, the bound of its busy counter), then delivers every one of them."""
    tile = TileConfig(rows=1, cols=1, lanes=1, cell_bits=4, input_bits=3, adc_bits=6, out_bits=7)
    layer = LayerConfig(5, 3, tile, act_bits=5, mult_bits=6, bias_bits=8)
    rng = np.random.default_rng(15)
    images = random_layer_images(rng, layer)
    x = random_inputs(rng, layer, 2 * MAX_IN_FLIGHT)
    dut = TiledLayer(layer, images)
    taken, got = [], []

    async def drive(ctx):
        await stream_put(ctx, dut.x, x.reshape(-1).tolist())

    async def collect(ctx):
        ctx.set(dut.o.ready, 0)
        for _ in range(400):
            _, _, valid, ready = await ctx.tick().sample(dut.x.valid, dut.x.ready)
            taken.append(bool(valid and ready))
        got.extend(await stream_get(ctx, dut.o, x.size // layer.in_features * layer.out_features))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    held = sum(taken) // layer.in_features
    assert 2 <= held < MAX_IN_FLIGHT and not any(taken[-100:])
    expected = LayerModel(layer, images)(x)
    assert (np.array(got).reshape(expected.shape) == expected).all()


def test_writes_to_nothing_are_taken_and_ignored(small_layer):
    """Kind 3, a tile past the grid, word, column and output addresses past their ends, a
    periphery write naming a tile, a shift above max_shift: each is taken (the stream does not
    hang) and changes nothing."""
    layer, images = small_layer
    wmap = WriteMap.of([layer])
    assert (layer.row_tiles, layer.col_tiles, wmap.tile_bits) == (3, 2, 3)
    periphery = periphery_layout(layer)
    regs = Const.cast(periphery.const({"bias": 1, "mult": 1, "shift": 0})).value
    too_far = Const.cast(periphery.const({"bias": 1, "mult": 1,
                                          "shift": layer.max_shift + 1})).value
    ignored = [
        (wmap.address(0, WriteKind.WEIGHTS, 0, 0) | 3 << (wmap.local_bits + wmap.tile_bits), 5),
        (wmap.address(0, WriteKind.WEIGHTS, 6, 0), 5),
        (wmap.address(0, WriteKind.COLUMNS, 7, 0), 5),
        (wmap.address(0, WriteKind.WEIGHTS, 0, layer.tile.rows * layer.tile.groups), 5),
        (wmap.address(0, WriteKind.COLUMNS, 1, layer.tile.cols), 5),
        (wmap.address(0, WriteKind.PERIPHERY, 1, 0), regs),
        (wmap.address(0, WriteKind.PERIPHERY, 0, layer.out_features), regs),
        (wmap.address(0, WriteKind.PERIPHERY, 0, 0), too_far),
    ]
    x = random_inputs(np.random.default_rng(12), layer, 3)
    got, _ = simulate(TiledLayer(layer), x, layer.out_features,
                      writes=layer_writes(layer, images) + ignored)
    assert (got == LayerModel(layer, images)(x)).all()


def test_network_write_to_no_layer_is_ignored(small_layer):
    layer, images = small_layer
    second = LayerConfig(3, 2, TileConfig(rows=2, cols=2, lanes=1, input_bits=5), act_bits=4)
    third = LayerConfig(2, 3, TileConfig(rows=2, cols=3, lanes=2, input_bits=4), relu=False)
    config = NetworkConfig((layer, second, third))
    rng = np.random.default_rng(13)
    plan = Plan(config, (images, random_layer_images(rng, second),
                         random_layer_images(rng, third)))
    wmap = WriteMap.of(config.layers)
    assert wmap.layer_bits == 2
    nowhere = [(wmap.address(3, WriteKind.PERIPHERY, 0, 0),
                Const.cast(periphery_layout(layer).const({"bias": 7, "mult": 0,
                                                          "shift": 0})).value)]
    x = random_inputs(rng, layer, 3)
    got, _ = simulate(Network(config), x, third.out_features,
                      writes=network_writes(config, plan.images) + nowhere)
    assert (got == plan.model()(x)).all()
    with pytest.raises(ConfigError, match=r"^1 layer images for 3 layers$"):
        network_writes(config, plan.images[:1])


def test_writes_wait_while_a_vector_is_in_flight(small_layer):
    layer, images = small_layer
    dut = TiledLayer(layer, images)
    log = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        await stream_put(ctx, dut.x, [1] * layer.in_features)
        ctx.set(dut.write.valid, 1)
        ctx.set(dut.write.payload, {"addr": 0, "data": 0})
        while True:
            _, _, busy, ready, out = await ctx.tick().sample(dut.busy, dut.write.ready,
                                                             dut.o.valid)
            log.append((busy, ready, out))
            if ready:
                break

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert all(busy and not ready for busy, ready, _ in log[:-1])
    assert log[-1][:2] == (0, 1)
    assert sum(out for *_, out in log) == layer.out_features


def test_bad_arguments_are_refused(small_layer):
    layer, images = small_layer
    with pytest.raises(TypeError, match=r"^layer must be a LayerConfig, not dict$"):
        TiledLayer({"in_features": 3})
    with pytest.raises(TypeError, match=r"^config must be a NetworkConfig, not LayerConfig$"):
        Network(layer)
    bad = LayerImages(**{**{n: getattr(images, n) for n in LayerImages.NAMES},
                         "mult": images.mult - 100})
    with pytest.raises(ConfigError, match=r"^layer mult\[0\] = -\d+ is out of range; allowed "
                                          r"0\.\.63"):
        TiledLayer(layer, bad)
    with pytest.raises(ConfigError, match=r"^2 layer images for 1 layers$"):
        Network(NetworkConfig((layer,)), [images, images])


# --- Sub-components ---------------------------------------------------------------------------

def run(dut, *benches):
    """Simulate ``dut`` (combinational ones too: the wrapper holds the clock domain)."""
    m = Module()
    m.domains.sync = ClockDomain()
    m.submodules.dut = dut
    sim = Simulator(m)
    sim.add_clock(1e-8)
    for bench in benches:
        sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("rows, in_features, stall", [(3, 7, 0.0), (3, 7, 0.4), (1, 5, 0.0),
                                                     (4, 4, 0.3), (2, 9, 0.2)])
def test_row_banks_replay_each_vector_row_by_row(rows, in_features, stall):
    """RowBanks: a tile model that waits, takes R rows and computes for a while gets row t of
    every bank in R consecutive cycles (zero past In), REPLAY_WAIT cycles later than it could
    take them, when it asks for a vector that has landed; ``start`` marks each vector's first
    code; ``room`` low holds it."""
    tile = TileConfig(rows=rows, cols=2, lanes=1, input_bits=5, input_signed=True)
    layer = LayerConfig(in_features, 2, tile)
    rng = np.random.default_rng(rows * in_features)
    x = random_inputs(rng, layer, 5)
    dut = RowBanks(layer)
    pause = random_pause(rng, stall) if stall else None
    rows_got, waits, starts, held = [], [], [], []

    async def drive(ctx):
        ctx.set(dut.x.valid, 1)
        for _ in range(4):  # no room: the first code waits
            _, _, ready = await ctx.tick().sample(dut.x.ready)
            held.append(ready)
        ctx.set(dut.room, 1)
        await stream_put(ctx, dut.x, x.reshape(-1).tolist(), pause)

    async def count_starts(ctx):
        async for _, _, start in ctx.tick().sample(dut.start):
            starts.append(start)

    async def tiles(ctx):
        for _ in range(len(x)):
            await ctx.tick().repeat(4 * in_features + 8)  # long enough for the vector to land
            ctx.set(dut.tiles_ready, 1)
            wait = 0
            while True:
                _, _, valid, payload = await ctx.tick().sample(dut.rows.valid, dut.rows.payload)
                wait += 1
                if valid:
                    break
            waits.append(wait)
            got = [list(payload)]
            for _ in range(rows - 1):
                _, _, valid, payload = await ctx.tick().sample(dut.rows.valid, dut.rows.payload)
                assert valid
                got.append(list(payload))
            ctx.set(dut.tiles_ready, 0)   # the tiles compute
            rows_got.append(got)
            await ctx.tick().repeat(int(rng.integers(1, 12)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(count_starts, background=True)
    sim.add_testbench(tiles)
    sim.run()
    padded = np.zeros((len(x), layer.row_tiles * rows), np.int64)
    padded[:, :in_features] = x
    expected = padded.reshape(len(x), layer.row_tiles, rows).transpose(0, 2, 1)
    assert (np.array(rows_got) == expected).all()
    # A tile fed directly would take its first code on the first clock edge after asking.
    assert waits == [1 + REPLAY_WAIT] * len(x)
    assert sum(starts) == len(x) and held == [0] * 4


@pytest.mark.parametrize("row_tiles, kept, stall", [(1, 4, 0.0), (3, 4, 0.3), (4, 2, 0.0),
                                                    (5, 1, 0.4), (2, 3, 0.2)])
def test_column_sum_adds_row_tiles_and_drops_padding(row_tiles, kept, stall):
    """ColumnSum: the exact sum of P row-tiles' outputs over the full Z-bit range, columns past
    ``kept`` dropped, with every input and the output stalling at random."""
    tile = TileConfig(rows=2, cols=4, lanes=1, out_bits=9)
    layer = LayerConfig(2 * row_tiles, 4, tile)
    rng = np.random.default_rng(row_tiles * 10 + kept)
    z = rng.integers(*signed_range(tile.out_bits), size=(row_tiles, 3, tile.cols),
                     endpoint=True)
    dut = ColumnSum(layer, kept=kept)
    got = []

    def driver(p):
        pause = random_pause(np.random.default_rng(p), stall) if stall else None

        async def drive(ctx):
            await stream_put(ctx, dut.z[p], z[p].reshape(-1).tolist(), pause)
        return drive

    async def collect(ctx):
        pause = random_pause(rng, stall) if stall else None
        got.extend(await stream_get(ctx, dut.y, 3 * kept, pause))

    run(dut, *(driver(p) for p in range(row_tiles)), collect)
    assert (np.array(got).reshape(3, kept) == z.sum(axis=0)[:, :kept]).all()


@pytest.mark.parametrize("col_tiles, out_features, stall", [(1, 3, 0.0), (2, 7, 0.0),
                                                            (3, 9, 0.3), (4, 13, 0.5)])
def test_column_merge_puts_sums_in_output_order(col_tiles, out_features, stall):
    """ColumnMerge: column of tiles q's sums (C per vector, fewer in the last) come out as
    outputs q*C .. of each vector, whatever order the columns of tiles deliver them in."""
    tile = TileConfig(rows=2, cols=4, lanes=1)
    layer = LayerConfig(2, out_features, tile)
    assert layer.col_tiles == col_tiles
    rng = np.random.default_rng(out_features)
    y = rng.integers(*signed_range(layer.y_bits), size=(3, out_features), endpoint=True)
    dut = ColumnMerge(layer)
    got = []

    def driver(q):
        pause = random_pause(np.random.default_rng(q), stall) if stall else None

        async def drive(ctx):
            await ctx.tick().repeat(3 * (col_tiles - q))  # the last column of tiles first
            columns = y[:, q * tile.cols:(q + 1) * tile.cols]
            await stream_put(ctx, dut.y[q], columns.reshape(-1).tolist(), pause)
        return drive

    async def collect(ctx):
        pause = random_pause(rng, stall) if stall else None
        got.extend(await stream_get(ctx, dut.o, y.size, pause))

    run(dut, *(driver(q) for q in range(col_tiles)), collect)
    assert (np.array(got).reshape(y.shape) == y).all()
