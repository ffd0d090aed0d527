"""Fabrics with activity counters (``counters=True``) run in amaranth.sim: a tiled layer or
network (its outputs and counters) and a p-bit core (its trajectory and counters), for
comparison with the golden model's counts (:mod:`spinemu.energy.activity`)."""

from __future__ import annotations

import numpy as np
from amaranth.lib import data
from amaranth.sim import Simulator

from .testbench import stream_get, stream_put

__all__ = ["counter_values", "run_counted", "run_pbit_counted"]


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


def run_pbit_counted(core, J, h, seeds, state0, schedule) -> tuple[np.ndarray, dict]:
    """Load ``core`` (a ``PBitCore`` built with ``counters=True`` and a schedule memory of at
    least ``len(schedule)`` steps) with couplings ``J[E]``, biases ``h[n]``, LFSR ``seeds[n]``
    and states ``state0[n]``, anneal one chain through ``schedule`` recording every sweep, and
    return the states after every sweep ``[sweeps, n]`` and the counters once it is idle."""
    from spinemu.sim.golden.pbit import dense_couplings, energy

    topology = core.topology
    n, total = topology.n, sum(sweeps for _, sweeps in schedule)
    e0 = int(energy(dense_couplings(topology, J), np.asarray(h), np.asarray(state0)))
    states, counts = [], {}

    async def bench(ctx):
        await stream_put(ctx, core.coupling_wr, [{"edge": k, "value": int(v)}
                                                 for k, v in enumerate(J)])
        await stream_put(ctx, core.node_wr, [
            {"node": i, "bias": int(h[i]), "seed": int(seeds[i]), "state": int(state0[i])}
            for i in range(n)])
        await stream_put(ctx, core.schedule_wr, [{"index": k, "beta": b, "sweeps": s}
                                                 for k, (b, s) in enumerate(schedule)])
        await stream_put(ctx, core.run, [{"steps": len(schedule), "record_every": 1,
                                          "energy": e0}])
        for record in await stream_get(ctx, core.states, total):
            states.append([(record.state >> i) & 1 for i in range(n)])
        await ctx.tick().until(~core.busy)
        counts.update(counter_values(ctx.get(core.activity)))

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(states, dtype=np.uint8).reshape(total, n), counts
