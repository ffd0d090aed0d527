"""Helpers shared by the tests: seeded random tile, layer, plan and p-bit graph cases, a
hypothesis strategy of tile formats, and the simulator check of the cocotb tests.

Every case is a function of its seed only, so a failure prints the seed and config needed to
replay it: ``random_tile_case(np.random.default_rng(seed), ...)``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import strategies as st

from spinemu.config import (
    ConfigError,
    ConvConfig,
    LayerConfig,
    NetworkConfig,
    PBitConfig,
    TileConfig,
    Topology,
)
from spinemu.gateware.core import STATUS_FIELDS
from spinemu.gateware.pbit_fabric import STATES_DEPTH, state_slices
from spinemu.images import LayerImages
from spinemu.ising import colour
from spinemu.link.pbit_client import ChainRun
from spinemu.link.protocol import MAX_PAYLOAD, Status
from spinemu.link.regmap import pack, unpack
from spinemu.numeric import derive_seeds, signed_range, unsigned_range
from spinemu.plan import Plan
from spinemu.sim.golden.hybrid import exact_tile_config
from spinemu.sim.stimulus import random_images, random_tile_config


@dataclass
class TileCase:
    seed: int
    config: TileConfig
    g: np.ndarray
    x: np.ndarray
    adc_shift: np.ndarray
    gain: np.ndarray
    offset: np.ndarray

    @property
    def images(self):
        return self.g, self.x, self.adc_shift, self.gain, self.offset

    def __repr__(self) -> str:
        return f"TileCase(seed={self.seed}, config={self.config})"


def random_config(rng, max_rows: int, max_cols: int) -> TileConfig:
    return random_tile_config(rng, max_rows, max_cols)


def random_tile_case(seed: int, max_rows: int, max_cols: int, batch: int) -> TileCase:
    rng = np.random.default_rng(seed)
    config = random_config(rng, max_rows, max_cols)
    return TileCase(seed, config, *random_images(rng, config, batch))


# --- Layers and networks ---------------------------------------------------------------------

def random_tile(rng, *, rows: tuple[int, int], cols: tuple[int, int], input_bits: int,
                input_signed: bool) -> TileConfig:
    """A tile config of ``rows`` and ``cols`` in the given ranges, every width drawn over its
    whole range."""
    rows, cols = (int(rng.integers(lo, hi, endpoint=True)) for lo, hi in (rows, cols))
    gain_bits = int(rng.integers(1, 17))
    return TileConfig(
        rows=rows, cols=cols, lanes=int(rng.integers(1, cols, endpoint=True)),
        cell_bits=int(rng.integers(2, 13)), input_bits=input_bits, input_signed=input_signed,
        adc_bits=int(rng.integers(1, 17)), gain_bits=gain_bits,
        gain_frac=int(rng.integers(0, gain_bits)), offset_bits=int(rng.integers(1, 17)),
        out_bits=int(rng.integers(1, 33)))


def random_layer(rng, *, in_features: int, out_features: int, tile: TileConfig, relu: bool,
                 max_act_bits: int = 16) -> LayerConfig:
    return LayerConfig(in_features, out_features, tile, relu=relu,
                       act_bits=int(rng.integers(1, max_act_bits, endpoint=True)),
                       mult_bits=int(rng.integers(1, 25)), bias_bits=int(rng.integers(1, 33)))


def random_layer_images(rng, layer: LayerConfig) -> LayerImages:
    """Weights, tile registers and periphery registers over their full ranges; half of the
    requantization shifts sit where ``v * mult`` lands near the output range, so that not every
    output saturates."""
    t = layer.tile
    grid = (layer.row_tiles, layer.col_tiles, t.cols)
    regs = [random_images(rng, t, 1)[2:] for _ in range(layer.row_tiles * layer.col_tiles)]
    out = layer.out_features
    near = layer.y_bits + layer.mult_bits - layer.act_bits + rng.integers(-4, 1, size=out)
    anywhere = rng.integers(0, layer.max_shift, size=out, endpoint=True)
    return LayerImages(
        g=rng.integers(*signed_range(t.cell_bits), size=(layer.in_features, out), endpoint=True),
        adc_shift=np.array([r[0] for r in regs]).reshape(grid),
        gain=np.array([r[1] for r in regs]).reshape(grid),
        offset=np.array([r[2] for r in regs]).reshape(grid),
        bias=rng.integers(*signed_range(layer.bias_bits), size=out, endpoint=True),
        mult=rng.integers(*unsigned_range(layer.mult_bits), size=out, endpoint=True),
        shift=np.clip(np.where(rng.integers(2, size=out) == 1, near, anywhere), 0,
                      layer.max_shift))


def random_plan(rng, *, layers: int, max_features: int, max_rows: int, max_cols: int,
                relu=None, min_row_tiles: int = 1, max_tiles: int = 4) -> Plan:
    """A network of ``layers`` random layers whose widths chain, each on at most ``max_tiles``
    x ``max_tiles`` tiles (more only when ``min_row_tiles`` asks); ``relu`` (a list) fixes each
    layer's, ``min_row_tiles`` the first layer's least number of row-tiles."""
    input_bits, input_signed = int(rng.integers(1, 9)), bool(rng.integers(2))
    in_features = int(rng.integers(1, max_features, endpoint=True))
    configs, images = [], []
    for index in range(layers):
        out_features = int(rng.integers(1, max_features, endpoint=True))
        tile = random_tile(rng, rows=(min(-(-in_features // max_tiles), max_rows), max_rows),
                           cols=(min(-(-out_features // max_tiles), max_cols), max_cols),
                           input_bits=input_bits, input_signed=input_signed)
        if index == 0:
            in_features = max(in_features, (min_row_tiles - 1) * tile.rows + 1)
        layer = random_layer(rng, in_features=in_features, out_features=out_features, tile=tile,
                             relu=bool(rng.integers(2)) if relu is None else relu[index],
                             max_act_bits=16 if index == layers - 1 else 8)  # next input_bits
        configs.append(layer)
        images.append(random_layer_images(rng, layer))
        in_features, input_signed = layer.out_features, not layer.relu
        input_bits = layer.act_bits
    return Plan(NetworkConfig(tuple(configs)), tuple(images))


def random_inputs(rng, layer: LayerConfig, batch: int) -> np.ndarray:
    """Input codes ``[batch, layer.inputs]`` (flat NHWC images for a convolution)."""
    return rng.integers(*layer.tile.input_range, size=(batch, layer.inputs), endpoint=True)


def random_conv(rng, height: int, width: int, channels: int, *, max_kernel: int = 4,
                max_stride: int = 3, pools=("none", "max", "avg")) -> ConvConfig:
    """A convolution of an ``height x width x channels`` image: kernel, stride and padding
    drawn until they fit, a pooling from ``pools`` whose size divides both output sides
    (larger than 1 when one does)."""
    while True:
        kernel = int(rng.integers(1, max_kernel, endpoint=True))
        stride = int(rng.integers(1, max_stride, endpoint=True))
        padding = int(rng.integers(0, kernel))
        try:
            conv = ConvConfig(height, width, channels, kernel, stride, padding)
        except ConfigError:
            continue
        pool = str(rng.choice(pools))
        if pool == "none":
            return conv
        sides = np.gcd(conv.conv_height, conv.conv_width)
        sizes = [q for q in range(2, min(sides, 15) + 1) if sides % q == 0] or [1]
        return ConvConfig(height, width, channels, kernel, stride, padding, pool,
                          int(rng.choice(sizes)))


def random_conv_plan(rng, *, convs: int = 1, dense: bool = False, max_size: int = 7,
                     max_channels: int = 3, max_rows: int = 8, max_cols: int = 6,
                     relu=None, pools=("none", "max", "avg")) -> Plan:
    """``convs`` random convolution layers on a random image (2..``max_size`` a side, up to
    ``max_channels`` channels), each the next one's image, then a dense layer when ``dense``;
    tiles, widths and images as :func:`random_plan` draws them (a layer on at most 3 x 3
    tiles)."""
    input_bits, input_signed = int(rng.integers(1, 9)), bool(rng.integers(2))
    height, width = (int(v) for v in rng.integers(2, max_size, size=2, endpoint=True))
    channels = int(rng.integers(1, max_channels, endpoint=True))
    count = convs + int(dense)
    configs, images = [], []
    for index in range(count):
        if index < convs:
            conv = random_conv(rng, height, width, channels, pools=pools)
            in_features = conv.patch_features
            out_features = int(rng.integers(1, max_channels, endpoint=True))
        else:
            conv, in_features = None, height * width * channels
            out_features = int(rng.integers(1, 6))
        tile = random_tile(rng, rows=(min(-(-in_features // 3), max_rows), max_rows),
                           cols=(min(-(-out_features // 3), max_cols), max_cols),
                           input_bits=input_bits, input_signed=input_signed)
        last = index == count - 1
        layer = LayerConfig(in_features, out_features, tile,
                            relu=bool(rng.integers(2)) if relu is None else relu[index],
                            act_bits=int(rng.integers(1, 16 if last else 8, endpoint=True)),
                            mult_bits=int(rng.integers(1, 25)),
                            bias_bits=int(rng.integers(1, 33)), conv=conv)
        configs.append(layer)
        images.append(random_layer_images(rng, layer))
        if conv is not None:
            height, width, channels = conv.out_height, conv.out_width, out_features
        input_bits, input_signed = layer.act_bits, not layer.relu
    return Plan(NetworkConfig(tuple(configs)), tuple(images))


@st.composite
def tile_configs(draw, max_rows=48, max_cols=24):
    gain_bits = draw(st.integers(1, 16))
    cols = draw(st.integers(1, max_cols))
    return TileConfig(
        rows=draw(st.integers(1, max_rows)), cols=cols,
        cell_bits=draw(st.integers(2, 12)), input_bits=draw(st.integers(1, 8)),
        input_signed=draw(st.booleans()), adc_bits=draw(st.integers(1, 16)),
        gain_bits=gain_bits, gain_frac=draw(st.integers(0, gain_bits - 1)),
        offset_bits=draw(st.integers(1, 16)), out_bits=draw(st.integers(1, 32)),
        lanes=draw(st.integers(1, cols)),
    )


def simulator_or_skip(simulator: str) -> str:
    if simulator == "icarus" and not shutil.which("iverilog"):
        if os.environ.get("CI"):
            pytest.fail("iverilog is not installed; CI must test on Icarus too")
        pytest.skip("iverilog not on PATH")
    return simulator


def random_topology(rng, n: int, density: float) -> Topology:
    """A random graph on ``n`` nodes (each pair an edge with probability ``density``), coloured
    greedily in a random node order (proper); colours relabelled 0..K-1 in order of first
    appearance."""
    edges = tuple((i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < density)
    neighbours = {i: set() for i in range(n)}
    for i, j in edges:
        neighbours[i].add(j)
        neighbours[j].add(i)
    colours = [-1] * n
    for node in rng.permutation(n):
        taken = {colours[k] for k in neighbours[node]}
        colours[node] = min(c for c in range(n) if c not in taken)
    labels = {c: k for k, c in enumerate(dict.fromkeys(colours))}
    return Topology(n, edges, tuple(labels[c] for c in colours))


@dataclass
class HybridCase:
    """A dense Ising problem for the hybrid core: tile, formats, couplings, biases, colouring,
    LFSR seeds, initial state and anneal schedule (:func:`random_hybrid_case`)."""

    seed: int
    kind: str
    tile: TileConfig
    config: PBitConfig
    J: np.ndarray
    h: np.ndarray
    colours: tuple[int, ...]
    seeds: np.ndarray
    state0: np.ndarray
    schedule: list[tuple[int, int]]

    def __repr__(self) -> str:
        return (f"HybridCase(seed={self.seed}, kind={self.kind!r}, n={len(self.h)}, "
                f"tile={self.tile}, config={self.config})")


HYBRID_KINDS = ("rbm", "sequential", "greedy")


def random_hybrid_case(seed: int, kind: str, n: int | None = None,
                       pad: bool | None = None) -> HybridCase:
    """A random problem of ``kind``: ``"rbm"`` (couplings only between a visible and a hidden
    block, coloured 0 and 1), ``"sequential"`` (dense, ``range(n)``: one p-bit at a time) or
    ``"greedy"`` (random density, DSATUR colouring). Couplings and biases over their whole
    ranges; the exact tile of random lanes, padded (more rows, columns, ADC and output bits,
    3-bit inputs) when ``pad``."""
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(2, 11))
    lut_bits = int(rng.integers(4, 11))
    config = PBitConfig(coupling_bits=int(rng.integers(2, 7)), bias_bits=int(rng.integers(2, 11)),
                        beta_bits=int(rng.integers(4, 13)), beta_frac=int(rng.integers(0, 7)),
                        lut_bits=lut_bits, lut_frac=int(rng.integers(0, lut_bits)),
                        rng_bits=int(rng.integers(4, 17)))
    J = np.triu(rng.integers(*signed_range(config.coupling_bits), size=(n, n), endpoint=True), 1)
    if kind == "rbm":
        visible = int(rng.integers(1, n))
        colours = tuple([0] * visible + [1] * (n - visible))
        J[:visible, :visible] = 0
        J[visible:, visible:] = 0
    elif kind == "sequential":
        colours = tuple(range(n))
    else:
        J *= rng.random((n, n)) < rng.uniform(0.2, 0.9)
    J = np.triu(J, 1)
    J = J + J.T
    if kind == "greedy":
        i, j = np.nonzero(np.triu(J, 1))
        colours = colour(n, np.stack([i, j], axis=1)).colours
    h = rng.integers(*signed_range(config.bias_bits), size=n, endpoint=True)
    tile = exact_tile_config(J, config, lanes=int(rng.integers(1, n + 1)))
    if pad if pad is not None else rng.random() < 0.4:
        tile = TileConfig(**{**tile.to_dict(), "rows": tile.rows + int(rng.integers(1, 4)),
                             "cols": tile.cols + int(rng.integers(1, 4)),
                             "adc_bits": tile.adc_bits + 1, "out_bits": tile.out_bits + 2,
                             "input_bits": 3})
    hi = (1 << config.beta_bits) - 1
    schedule = [(int(rng.integers(0, hi + 1)), int(rng.integers(1, 4)))
                for _ in range(int(rng.integers(1, 4)))]
    return HybridCase(seed, kind, tile, config, J, h, tuple(int(c) for c in colours),
                      derive_seeds(seed, n), rng.integers(0, 2, size=n).astype(np.uint8),
                      schedule)


# --- Frames through a simulated LinkCore (spinemu.sim.link_sim.SimHost) ----------------------

def link_ok(reply_or_pair):
    """The reply (or ``(reply, words)``) of a command that must succeed."""
    reply = reply_or_pair[0] if isinstance(reply_or_pair, tuple) else reply_or_pair
    assert reply.status == Status.OK, reply
    return reply_or_pair


async def link_write(host, region, values, index: int = 0) -> None:
    """Write ``values`` (packed by the region's layout) from ``index``, as many per frame as fit."""
    words = [pack(region.layout, v) for v in values]
    per = (MAX_PAYLOAD - 6) // region.word_bytes
    for start in range(0, len(words), per):
        link_ok(await host.write(region, index + start, words[start:start + per]))


async def link_read(host, region, count: int, index: int = 0) -> list:
    """``count`` words of ``region`` from ``index``, unpacked."""
    values = []
    per = MAX_PAYLOAD // region.word_bytes
    for start in range(0, count, per):
        _, words = link_ok(await host.read(region, index + start, min(per, count - start)))
        values += [unpack(region.layout, w) for w in words]
    return values


async def link_pop(host, region, count: int, tries: int = 1000) -> list:
    """``count`` words of an output stream region, waiting (BUSY) until they are there."""
    values = []
    for _ in range(tries):
        if len(values) == count:
            return values
        per = min(region.depth, MAX_PAYLOAD // region.word_bytes, count - len(values))
        reply, words = await host.read(region, 0, per)
        assert reply.status in (Status.OK, Status.BUSY), reply
        values += [unpack(region.layout, w) for w in words]
    raise AssertionError(f"{len(values)} of {count} words of {region.name!r} came")


async def link_status(host, regmap, name):
    """A ``status`` register of a LinkCore, by name."""
    return (await link_read(host, regmap["status"], 1, STATUS_FIELDS.index(name)))[0]


async def link_wait_idle(host, regmap, tries=1000):
    for _ in range(tries):
        if await link_status(host, regmap, "idle"):
            return
    raise AssertionError("the fabric did not become idle")


def state_bits(word: int, n: int) -> np.ndarray:
    return np.array([(word >> i) & 1 for i in range(n)], np.uint8)


def join_slices(slices: list[int], regmap, n: int) -> np.ndarray:
    """States ``[r, n]`` of runs of k slices (slice j: p-bits from j * W); nothing set above
    p-bit n - 1."""
    width, k = state_slices(n, regmap["states_slices"].word_bits)
    assert len(slices) % k == 0 and all(0 <= w < 1 << width for w in slices)
    words = [sum(w << (j * width) for j, w in enumerate(slices[r:r + k]))
             for r in range(0, len(slices), k)]
    assert all(word >> n == 0 for word in words)
    return np.array([state_bits(word, n) for word in words], np.uint8).reshape(-1, n)


async def link_records(host, regmap, count: int, n: int):
    """``count`` records as a host pops them: at most ``STATES_DEPTH`` headers, then exactly
    their slices; ``(headers, states [count, n])``."""
    _, k = state_slices(n, regmap["states_slices"].word_bits)
    headers, slices = [], []
    while len(headers) < count:
        got = await link_pop(host, regmap["states"], min(STATES_DEPTH, count - len(headers)))
        headers += got
        slices += await link_pop(host, regmap["states_slices"], len(got) * k)
    return headers, join_slices(slices, regmap, n)


async def link_result(host, regmap, n: int):
    """The ``result`` headers (each read takes its snapshot), then the snapshots' states."""
    _, k = state_slices(n, regmap["states_slices"].word_bits)
    headers = await link_read(host, regmap["result"], 2)
    return headers, join_slices(await link_read(host, regmap["result_slices"], 2 * k), regmap, n)


def link_chain_run(records, result, nodes, record_every) -> ChainRun:
    """The device's report as a ChainRun: records and result (``(headers, states)`` each) and
    nodes read back."""
    (current, best), (state, best_state) = result
    headers, trajectory = records
    return ChainRun(
        state=state, energy=current["energy"], best_state=best_state,
        best_energy=best["energy"], best_sweep=best["sweep"], sweeps=current["sweep"],
        lfsr=np.array([v["seed"] for v in nodes], np.uint32), record_every=record_every,
        energies=np.array([r["energy"] for r in headers], np.int64), trajectory=trajectory)
