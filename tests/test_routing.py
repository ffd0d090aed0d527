# amaranth: UnusedElaboratable=no
"""FanOutTree and AdderTree in amaranth.sim: every leaf count 1..33, full-range random values,
exact sums, measured latency ceil(log2 leaves), and back-pressure on the adder tree."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data
from amaranth.sim import Simulator

from spinemu.hdl.routing import AdderTree, FanOutTree
from spinemu.numeric import clog2, signed_range
from spinemu.sim.testbench import random_pause, stream_get, stream_put

LEAVES = range(1, 34)


def simulator(dut) -> Simulator:
    """A simulator of ``dut`` with a clocked ``sync`` domain even when ``dut`` is a wire
    (``leaves = 1``), so that the same testbenches count cycles for every leaf count."""
    m = Module()
    m.submodules.dut = dut
    toggle = Signal()
    m.d.sync += toggle.eq(~toggle)
    sim = Simulator(m)
    sim.add_clock(1e-8)
    return sim


def extremes_and_random(rng, leaves: int, width: int, count: int) -> np.ndarray:
    """``count`` addend vectors: all minimum, all maximum, then uniform over the full range."""
    lo, hi = signed_range(width)
    values = rng.integers(lo, hi, size=(count, leaves), endpoint=True)
    values[0], values[1] = lo, hi
    return values


@pytest.mark.parametrize("leaves", LEAVES)
def test_adder_tree_sums_exactly_with_latency(leaves):
    rng = np.random.default_rng(leaves)
    width = int(rng.integers(1, 17))
    dut = AdderTree(leaves=leaves, width=width)
    assert dut.latency == clog2(leaves)
    assert dut.o.payload.shape().width == width + clog2(leaves)
    values = extremes_and_random(rng, leaves, width, 40)
    sums, arrivals = [], []

    async def drive(ctx):
        ctx.set(dut.o.ready, 1)
        for cycle, row in enumerate(values):
            ctx.set(dut.i.payload, row.tolist())
            ctx.set(dut.i.valid, 1)
            _, _, ready = await ctx.tick().sample(dut.i.ready)
            assert ready, f"cycle {cycle}: the tree refused an input while its output was ready"
        ctx.set(dut.i.valid, 0)

    async def collect(ctx):
        cycle = 0
        while len(sums) < len(values):
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid:
                sums.append(payload)
                arrivals.append(cycle)
            cycle += 1

    sim = simulator(dut)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    assert sums == values.sum(axis=1).tolist(), (leaves, width)
    # Input n is taken on tick n; its sum is visible after tick n + latency (cycle n + latency).
    assert arrivals == [n + clog2(leaves) for n in range(len(values))]


@pytest.mark.parametrize("leaves", [1, 2, 3, 7, 16, 33])
def test_adder_tree_back_pressure_drops_nothing(leaves):
    rng = np.random.default_rng(100 + leaves)
    width = 5
    dut = AdderTree(leaves=leaves, width=width)
    values = extremes_and_random(rng, leaves, width, 60)
    pause = random_pause(rng, 0.4)
    got = []

    async def drive(ctx):
        await stream_put(ctx, dut.i, [row.tolist() for row in values], pause)

    async def collect(ctx):
        got.extend(await stream_get(ctx, dut.o, len(values), pause))

    sim = simulator(dut)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    assert got == values.sum(axis=1).tolist()


@pytest.mark.parametrize("leaves", LEAVES)
def test_fan_out_tree_reaches_every_leaf_in_the_same_cycle(leaves):
    rng = np.random.default_rng(200 + leaves)
    shape = data.ArrayLayout(unsigned(3), 2)
    dut = FanOutTree(leaves=leaves, shape=shape)
    assert dut.latency == clog2(leaves)
    # Bursts separated by gaps: a payload per valid cycle, none on the others.
    valid = rng.integers(0, 2, size=50).astype(bool)
    payloads = rng.integers(0, 8, size=(50, 2))
    seen = [[] for _ in range(leaves)]

    async def drive(ctx):
        for cycle in range(len(valid)):
            ctx.set(dut.i.valid, bool(valid[cycle]))
            ctx.set(dut.i.payload, payloads[cycle].tolist())
            await ctx.tick()
        ctx.set(dut.i.valid, 0)

    async def collect(ctx):
        for cycle in range(len(valid) + clog2(leaves) + 2):
            for leaf in range(leaves):
                if ctx.get(dut.o[leaf].valid):
                    seen[leaf].append((cycle, list(ctx.get(dut.o[leaf].payload))))
            await ctx.tick()

    sim = simulator(dut)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    expected = [(int(n) + clog2(leaves), payloads[n].tolist()) for n in np.flatnonzero(valid)]
    for leaf in range(leaves):
        assert seen[leaf] == expected, f"leaf {leaf} of {leaves}"


@pytest.mark.parametrize("tree", [FanOutTree, AdderTree])
@pytest.mark.parametrize("leaves", [0, -1, 2.0, True])
def test_bad_leaf_counts_are_refused(tree, leaves):
    kwargs = {"shape": 4} if tree is FanOutTree else {"width": 4}
    with pytest.raises(ValueError, match=rf"^leaves must be an integer >= 1, not {leaves!r}$"):
        tree(leaves=leaves, **kwargs)


def test_bad_adder_width_is_refused():
    with pytest.raises(ValueError, match=r"^width must be an integer >= 1, not 0$"):
        AdderTree(leaves=3, width=0)
