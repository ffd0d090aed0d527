# amaranth: UnusedElaboratable=no
"""The convolution RTL (hdl/window.py) in amaranth.sim against the golden model
(sim/golden/window.py, sim/golden/network.py): the window generator alone against ``im2col`` on
random geometries with random back-pressure, the pooling alone against ``pool``, and whole
networks of convolution layers (random kernel, stride, padding, channels, image size, pooling)
bit for bit, with the cycles per image of a convolution layer measured against its formula."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.sim import Simulator

from spinemu.config import ConfigError, ConvConfig, LayerConfig, NetworkConfig, TileConfig
from spinemu.hdl.layer import Network, TiledLayer
from spinemu.hdl.window import ConvLayer, Pooling, WindowGenerator, reciprocal
from spinemu.numeric import code_range
from spinemu.sim.golden.network import LayerModel
from spinemu.sim.golden.window import im2col, pool
from spinemu.sim.testbench import random_pause, stream_get_timed, stream_put

from cases import random_conv, random_conv_plan, random_inputs, random_layer_images


def run(dut, codes, count: int, *, source: str = "x", sink: str = "o", stall: float = 0.0,
        seed: int = 0, settle: int = 0):
    """Stream ``codes`` into ``dut.<source>`` and take ``count`` codes from ``dut.<sink>``,
    both sides pausing at random with probability ``stall``; return the codes, the tick each
    was taken on, and whether ``busy`` fell within ``settle`` further ticks (None: not
    checked)."""
    rng = np.random.default_rng(seed)
    pause = random_pause(rng, stall) if stall else None
    got, ticks, idle = [], [], []

    async def drive(ctx):
        await stream_put(ctx, getattr(dut, source), list(codes), pause)

    async def collect(ctx):
        payloads, arrivals = await stream_get_timed(ctx, getattr(dut, sink), count, pause)
        got.extend(payloads)
        ticks.extend(arrivals)
        for _ in range(settle):
            if not ctx.get(dut.busy):
                break
            await ctx.tick()
        idle.append(not ctx.get(dut.busy))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    return np.array(got, dtype=np.int64), np.array(ticks), idle[0] if settle else None


def random_geometry(rng) -> ConvConfig:
    height, width = (int(v) for v in rng.integers(1, 8, size=2))
    return random_conv(rng, height, width, int(rng.integers(1, 4)), pools=("none",))


@pytest.mark.parametrize("seed", range(24))
def test_window_generator_streams_im2col(seed):
    rng = np.random.default_rng(seed)
    conv = random_geometry(rng)
    bits, is_signed = int(rng.integers(1, 9)), bool(rng.integers(2))
    x = rng.integers(*code_range(bits, is_signed), size=(3, conv.inputs), endpoint=True)
    dut = WindowGenerator(conv, signed(bits) if is_signed else unsigned(bits))
    expected = im2col(x, conv).reshape(-1)
    got, _, idle = run(dut, x.reshape(-1).tolist(), expected.size,
                       stall=(0.0, 0.3, 0.6)[seed % 3], seed=seed, settle=conv.inputs * 4)
    assert (got == expected).all(), conv
    assert idle, "busy after the last image"


def test_window_generator_emits_a_patch_code_per_clock():
    """Once its rows are in, the generator emits one patch code per clock (3x3, padding 1:
    the first position needs input rows 0 and 1)."""
    conv = ConvConfig(6, 5, 2, 3, padding=1)
    x = np.arange(conv.inputs).reshape(1, -1) % 16
    got, ticks, _ = run(WindowGenerator(conv, unsigned(4)), x.reshape(-1).tolist(),
                        conv.positions * conv.patch_features)
    assert (got == im2col(x, conv).reshape(-1)).all()
    assert ticks[0] == 2 * conv.width * conv.channels + 2
    assert (np.diff(ticks) == 1).all()


@pytest.mark.parametrize("seed", range(16))
def test_pooling_matches_golden(seed):
    rng = np.random.default_rng(seed)
    q = int(rng.integers(1, 5))
    height, width = (int(v) * q for v in rng.integers(1, 4, size=2))
    conv = ConvConfig(height, width, 1, 1, pool=("max", "avg")[seed % 2], pool_size=q)
    channels, bits, is_signed = int(rng.integers(1, 4)), int(rng.integers(1, 9)), seed % 4 < 2
    a = rng.integers(*code_range(bits, is_signed), size=(2 * conv.positions, channels),
                     endpoint=True)
    dut = Pooling(conv, channels, signed(bits) if is_signed else unsigned(bits))
    expected = pool(a, conv).reshape(-1)
    got, _, idle = run(dut, a.reshape(-1).tolist(), expected.size, source="i",
                       stall=0.3 if seed % 3 else 0.0, seed=seed, settle=8)
    assert (got == expected).all(), (conv, channels, bits, is_signed)
    assert idle


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 9, 16, 25, 225])
def test_reciprocal_divides_exactly(n):
    top = 2 * 255 * n + n
    mult, shift = reciprocal(top, 2 * n)
    numerators = np.arange(top + 1, dtype=object)
    assert ((numerators * mult) >> shift == numerators // (2 * n)).all()


@pytest.mark.parametrize("seed", range(12))
def test_random_conv_networks_match_golden(seed):
    """One or two convolutions (and a dense layer on every third), random geometry, pooling,
    widths and images over their full ranges, three images; half with random stalls."""
    rng = np.random.default_rng(100 + seed)
    plan = random_conv_plan(rng, convs=1 + seed % 2, dense=seed % 3 == 0)
    x = random_inputs(rng, plan.config.layers[0], 3)
    expected = plan.model()(x)
    got, _, idle = run(Network(plan.config, plan.images), x.reshape(-1).tolist(), expected.size,
                       stall=0.3 if seed % 2 else 0.0, seed=seed, settle=20_000)
    assert (got.reshape(expected.shape) == expected).all(), plan.config
    assert idle


def test_conv_layer_takes_its_formula_per_image():
    """A 3x3 convolution with padding 1 and a 2x2 max pooling: in steady state an image takes
    ``Hc * Wc * TiledLayer.cycles_per_vector`` clocks, measured between the last outputs of
    consecutive images."""
    tile = TileConfig(rows=9, cols=4, lanes=2, cell_bits=4, input_bits=4, adc_bits=8,
                      out_bits=10)
    conv = ConvConfig(4, 4, 1, 3, padding=1, pool="max", pool_size=2)
    layer = LayerConfig(9, 3, tile, act_bits=5, conv=conv)
    rng = np.random.default_rng(5)
    images = random_layer_images(rng, layer)
    x = random_inputs(rng, layer, 4)
    config = NetworkConfig((layer,))
    got, ticks, _ = run(Network(config, (images,)), x.reshape(-1).tolist(), 4 * layer.outputs)
    assert (got.reshape(4, -1) == LayerModel(layer, images)(x)).all()
    per_image = np.diff(ticks[layer.outputs - 1::layer.outputs])
    formula = ConvLayer.cycles_per_image(layer)
    assert formula == conv.positions * TiledLayer.cycles_per_vector(layer)
    assert Network.cycles_per_vector(config) == formula
    assert (per_image == formula).all(), (per_image, formula)


def test_bad_arguments_are_refused():
    conv = ConvConfig(4, 4, 1, 3)
    with pytest.raises(TypeError, match=r"^conv must be a ConvConfig, not int$"):
        WindowGenerator(4, unsigned(4))
    with pytest.raises(ConfigError, match=r"^pool = 'none': a Pooling is 'max' or 'avg'$"):
        Pooling(conv, 2, unsigned(4))
    with pytest.raises(TypeError, match=r"^layer must be a LayerConfig with conv$"):
        ConvLayer(LayerConfig(9, 2))
