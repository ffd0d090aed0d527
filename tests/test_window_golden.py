"""Golden convolution layers (im2col on the tile grid, pooling of the output codes) against
direct nested-loop definitions, bit for bit."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest

from spinemu.config import ConvConfig, LayerConfig, TileConfig
from spinemu.images import LayerImages
from spinemu.sim.golden.network import LayerModel
from spinemu.sim.golden.window import im2col

from cases import random_layer, random_layer_images, random_tile

SEEDS = range(40)


def random_conv(rng) -> tuple[ConvConfig, int]:
    """A convolution geometry (kernel 1..4, stride 1..3, padding 0..kernel-1, 1..3 channels,
    images up to 9x9) with a pooling that tiles its output, and a number of output channels."""
    kernel = int(rng.integers(1, 5))
    padding = int(rng.integers(0, kernel))
    low = max(kernel - 2 * padding, 1)
    height, width = (int(rng.integers(low, 10)) for _ in range(2))
    stride, channels = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    conv = ConvConfig(height, width, channels, kernel, stride, padding)
    sizes = [p for p in range(2, 4) if conv.conv_height % p == 0 and conv.conv_width % p == 0]
    pool = str(rng.choice(["none", "max", "avg"])) if sizes else "none"
    size = int(rng.choice(sizes)) if pool != "none" else 1
    return dataclasses.replace(conv, pool=pool, pool_size=size), int(rng.integers(1, 5))


def conv_case(seed: int):
    """``(conv layer, images, inputs)`` of seed ``seed``: every width over its range, small
    tiles so that patches span several row-tiles."""
    rng = np.random.default_rng(seed)
    conv, out_channels = random_conv(rng)
    signed = bool(rng.integers(2))
    tile = random_tile(rng, rows=(1, 8), cols=(1, 4), input_bits=int(rng.integers(1, 9)),
                       input_signed=signed)
    layer = random_layer(rng, in_features=conv.patch_features, out_features=out_channels,
                         tile=tile, relu=bool(rng.integers(2)))
    layer = dataclasses.replace(layer, conv=conv)
    x = rng.integers(*tile.input_range, size=(int(rng.integers(1, 4)), conv.inputs),
                     endpoint=True)
    return layer, random_layer_images(rng, layer), x


def patch(image: np.ndarray, conv: ConvConfig, oh: int, ow: int) -> list[int]:
    """The im2col column order written out: ``(kh, kw, c)``, zero outside the image."""
    taps = []
    for kh in range(conv.kernel):
        for kw in range(conv.kernel):
            for c in range(conv.channels):
                h, w = oh * conv.stride - conv.padding + kh, ow * conv.stride - conv.padding + kw
                inside = 0 <= h < conv.height and 0 <= w < conv.width
                taps.append(int(image[h, w, c]) if inside else 0)
    return taps


def pool_reference(a: np.ndarray, conv: ConvConfig) -> np.ndarray:
    """Pooling of ``a[oh, ow, o]`` with Python ints: max, or the mean rounded half up."""
    p = conv.pool_size
    out = np.zeros((conv.out_height, conv.out_width, a.shape[2]), np.int64)
    for i in range(conv.out_height):
        for j in range(conv.out_width):
            for o in range(a.shape[2]):
                codes = [int(v) for v in a[i * p:(i + 1) * p, j * p:(j + 1) * p, o].ravel()]
                if conv.pool == "avg":
                    out[i, j, o] = math.floor(Fraction(sum(codes), len(codes)) + Fraction(1, 2))
                else:
                    out[i, j, o] = max(codes)
    return out


def reference(layer: LayerConfig, images: LayerImages, x: np.ndarray) -> np.ndarray:
    """One output position at a time through the dense layer of the same tiles, then the
    pooling, each image flattened NHWC."""
    conv = layer.conv
    dense = LayerModel(dataclasses.replace(layer, conv=None), images)
    out = []
    for image in x.reshape(-1, conv.height, conv.width, conv.channels):
        a = np.array([[dense(np.array([patch(image, conv, oh, ow)]))[0]
                       for ow in range(conv.conv_width)] for oh in range(conv.conv_height)])
        out.append((a if conv.pool == "none" else pool_reference(a, conv)).ravel())
    return np.array(out)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_layer_equals_position_by_position_reference(seed):
    layer, images, x = conv_case(seed)
    got = LayerModel(layer, images)(x)
    expected = reference(layer, images, x)
    assert got.shape == (len(x), layer.outputs), (seed, layer)
    assert (got == expected).all(), (seed, layer)


def test_random_cases_cover_the_geometries():
    convs = [conv_case(seed)[0].conv for seed in SEEDS]
    assert {c.pool for c in convs} == {"none", "max", "avg"}
    assert any(c.padding > 0 for c in convs) and any(c.stride > 1 for c in convs)
    assert any(c.channels > 1 for c in convs) and any(c.kernel == 1 for c in convs)
    layers = [conv_case(seed)[0] for seed in SEEDS]
    assert any(layer.row_tiles > 1 for layer in layers)


@pytest.mark.parametrize("seed", range(10))
def test_exact_tiles_compute_the_direct_convolution(seed):
    """With an ADC and periphery that neither round nor saturate, the layer is the integer
    convolution sum over taps of x * w, written as nested loops."""
    rng = np.random.default_rng(seed)
    conv, out_channels = random_conv(rng)
    conv = dataclasses.replace(conv, pool="none", pool_size=1)
    tile = TileConfig(rows=int(rng.integers(1, 9)), cols=3, lanes=1, cell_bits=4, input_bits=3,
                      input_signed=True, adc_bits=16, out_bits=20)
    layer = LayerConfig(conv.patch_features, out_channels, tile, relu=False, act_bits=16,
                        conv=conv)
    g = rng.integers(-8, 7, size=(conv.patch_features, out_channels), endpoint=True)
    grid = (layer.row_tiles, layer.col_tiles, tile.cols)
    images = dataclasses.replace(LayerImages.identity(layer, g),
                                 adc_shift=np.zeros(grid, np.int64))
    x = rng.integers(-4, 3, size=(2, conv.inputs), endpoint=True)
    w = g.reshape(conv.kernel, conv.kernel, conv.channels, out_channels)
    image = x.reshape(-1, conv.height, conv.width, conv.channels)
    expected = np.zeros((len(x), conv.conv_height, conv.conv_width, out_channels), np.int64)
    for b, oh, ow, o, kh, kw, c in np.ndindex(*expected.shape, conv.kernel, conv.kernel,
                                              conv.channels):
        h, v = oh * conv.stride - conv.padding + kh, ow * conv.stride - conv.padding + kw
        if 0 <= h < conv.height and 0 <= v < conv.width:
            expected[b, oh, ow, o] += image[b, h, v, c] * w[kh, kw, c, o]
    got = LayerModel(layer, images)(x)
    assert (got == expected.reshape(len(x), -1)).all(), (seed, conv)


def test_im2col_moves_floats_and_pads_with_zeros():
    conv = ConvConfig(2, 2, 1, 3, padding=1)
    x = np.array([[1.5, 2.5, 3.5, 4.5]])
    patches = im2col(x, conv)
    assert patches.shape == (4, 9) and patches.dtype == np.float64
    assert patches[0].tolist() == [0, 0, 0, 0, 1.5, 2.5, 0, 3.5, 4.5]
