"""A tiled layer or network with activity counters (``counters=True``) run in amaranth.sim:
its outputs and its counters after the last output, for comparison with the golden model's
counts (:meth:`spinemu.energy.activity.LayerActivity.as_counters`)."""

from __future__ import annotations

import numpy as np
from amaranth.lib import data
from amaranth.sim import Simulator

from .testbench import stream_get, stream_put

__all__ = ["counter_values", "run_counted"]


def counter_values(value):
    """A counters value read from a simulation as plain Python: structs as dicts, arrays as
    lists, counters as ints."""
    shape = value.shape() if hasattr(value, "shape") else None
    if isinstance(shape, data.StructLayout):
        return {name: counter_values(value[name]) for name in shape.members}
    if isinstance(shape, data.ArrayLayout):
        return [counter_values(value[i]) for i in range(shape.length)]
    return int(value)


def run_counted(dut, x, out_features: int, pause=None) -> tuple[np.ndarray, dict]:
    """Stream input codes ``x[vectors, inputs]`` through ``dut`` (a ``TiledLayer`` or
    ``Network`` built with its images and ``counters=True``); return the output codes
    ``[vectors, out_features]`` and the counters once ``drained`` is high after the last
    output is taken (padded tile columns convert after the last output code).
    ``pause()`` (optional) idles both streams at random."""
    x = np.asarray(x)
    got, counts = [], {}

    async def drive(ctx):
        await stream_put(ctx, dut.x, x.reshape(-1).tolist(), pause)

    async def collect(ctx):
        got.extend(await stream_get(ctx, dut.o, len(x) * out_features, pause))
        await ctx.tick().until(dut.drained)
        counts.update(counter_values(ctx.get(dut.activity)))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    return np.array(got, dtype=np.int64).reshape(len(x), out_features), counts
