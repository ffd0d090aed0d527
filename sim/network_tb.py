"""cocotb testbench of :class:`spinemu.hdl.layer.Network` (run by
:func:`spinemu.sim.network_runner.run_network`).

The stimulus arrives as an npz file named by ``SPINEMU_STIMULUS``: the network config (TOML), every
layer image (``layer{i}.{name}`` as in a plan's ``images.npz``), input codes ``x``, a seed and a
stall probability. The bench loads every image through the network's one write stream, streams every
vector in, and checks each output code against ``expected``, the golden
:class:`~spinemu.sim.golden.network.NetworkModel`'s codes (computed by the host, so that the
simulator process need not load the model's compiled kernels). It writes ``a`` (output codes),
``cycles`` (first input taken to last output taken) and ``sim_seconds`` to ``SPINEMU_RESULT`` before
the checker's verdict, so a failing run still reports what it saw. With ``counters`` set (a network
built with ``counters=True``) it also waits until ``drained`` and writes the activity counters as
JSON (``counts``).
"""

from __future__ import annotations

import json

import cocotb
import numpy as np
from cocotb.triggers import RisingEdge

from spinemu.config import NetworkConfig
from spinemu.hdl.writes import WriteMap, network_writes
from spinemu.images import LayerImages
from spinemu.numeric import to_signed
from spinemu.plan import Plan
from spinemu.sim.cocotb_bench import Span, check_equal, load_stimulus, save_result, start
from spinemu.sim.cocotb_streams import StreamSink, StreamSource, pack_fields
from spinemu.sim.testbench import random_pause


def load_plan(stimulus: dict) -> Plan:
    config = NetworkConfig.from_toml(str(stimulus["config"]))
    return Plan(config, tuple(
        LayerImages(**{name: stimulus[f"layer{i}.{name}"] for name in LayerImages.NAMES})
        for i in range(len(config.layers))))


class NetworkTB:
    """Sources for the input and write streams, a sink for the output codes."""

    def __init__(self, dut, config: NetworkConfig, rng, stall: float):
        self.dut, self.config = dut, config
        pause = random_pause(rng, stall) if stall > 0 else None
        self.x = StreamSource(dut, "x", dut.clk, pause)
        self.writes = StreamSource(dut, "write", dut.clk, pause)
        self.o = StreamSink(dut, "o", dut.clk, pause)
        self.write_map = WriteMap.of(config.layers)

    async def load(self, plan: Plan) -> None:
        """Write every image of ``plan``; return once the last write is taken."""
        widths = [self.write_map.addr_bits, self.write_map.data_bits]
        self.writes.send(pack_fields([addr, value], widths)
                         for addr, value in network_writes(self.config, plan.images))
        await self.writes.wait_idle()

    def send_inputs(self, x) -> None:
        bits = self.config.layers[0].tile.input_bits
        self.x.send(pack_fields([v], [bits]) for v in x.reshape(-1).tolist())

    async def receive(self, batch: int) -> np.ndarray:
        last = self.config.layers[-1]
        raw = np.array(await self.o.receive(batch * last.outputs), dtype=np.int64)
        if not last.relu:
            raw = to_signed(raw, last.act_bits)
        return raw.reshape(batch, last.outputs)

    def stop(self) -> None:
        for part in (self.x, self.writes, self.o):
            part.stop()


async def read_counters(dut, config: NetworkConfig) -> dict:
    """The activity counters once ``drained`` is high (:mod:`spinemu.hdl.activity` layout)."""
    from amaranth.lib import data

    from spinemu.hdl.activity import network_activity_layout
    from spinemu.sim.counters import counter_values

    while not int(dut.drained.value):
        await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    return counter_values(data.Const(network_activity_layout(config), int(dut.activity.value)))


@cocotb.test()
async def network_matches_golden(dut):
    stimulus = load_stimulus()
    plan = load_plan(stimulus)
    x = stimulus["x"]
    expected = stimulus["expected"]  # golden, computed by the host (run_network)

    tb = NetworkTB(dut, plan.config, np.random.default_rng(int(stimulus["seed"])),
                   float(stimulus["stall"]))
    await start(dut)
    await tb.load(plan)
    span = Span()
    tb.send_inputs(x)
    a = await tb.receive(len(x))
    timing = span.stop()
    tb.stop()
    counts = {}
    if bool(stimulus.get("counters", False)):
        counts["counts"] = np.array(json.dumps(await read_counters(dut, plan.config)))
    save_result(a=a, **timing, **counts)
    check_equal(dut, a, expected, "output")
