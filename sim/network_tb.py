"""cocotb testbench of :class:`spinemu.hdl.layer.Network` (run by
:func:`spinemu.sim.network_runner.run_network`).

The stimulus arrives as an npz file named by ``SPINEMU_STIMULUS``: the network config (TOML),
every layer image (``layer{i}.{name}`` as in a plan's ``images.npz``), input codes ``x``, a seed
and a stall probability. The bench loads every image through the network's one write stream,
streams every vector in, and checks each output code against the golden
:class:`~spinemu.sim.golden.network.NetworkModel`. It writes ``a`` (output codes), ``cycles``
(first input taken to last output taken) and ``sim_seconds`` to ``SPINEMU_RESULT`` before the
checker's verdict, so a failing run still reports what it saw.
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_time

from spinemu.config import NetworkConfig
from spinemu.hdl.layer import WriteMap, network_writes
from spinemu.plan import Plan
from spinemu.sim.cocotb_streams import StreamSink, StreamSource, pack_fields
from spinemu.sim.golden.network import LayerImages
from spinemu.sim.runner import CLOCK_NS
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

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 2)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

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
        raw = np.array(await self.o.receive(batch * last.out_features), dtype=np.int64)
        if not last.relu:  # two's complement act_bits codes
            raw -= (raw >> (last.act_bits - 1) & 1) << last.act_bits
        return raw.reshape(batch, last.out_features)

    def stop(self) -> None:
        for part in (self.x, self.writes, self.o):
            part.stop()


@cocotb.test()
async def network_matches_golden(dut):
    with np.load(os.environ["SPINEMU_STIMULUS"]) as stim:
        stimulus = {k: stim[k] for k in stim.files}
    plan = load_plan(stimulus)
    x = stimulus["x"]
    expected = plan.model()(x)

    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    tb = NetworkTB(dut, plan.config, np.random.default_rng(int(stimulus["seed"])),
                   float(stimulus["stall"]))
    await tb.reset()
    await tb.load(plan)
    started_ns, started_wall = get_sim_time(unit="ns"), time.perf_counter()
    tb.send_inputs(x)
    a = await tb.receive(len(x))
    sim_seconds = time.perf_counter() - started_wall
    cycles = round((get_sim_time(unit="ns") - started_ns) / CLOCK_NS)
    tb.stop()
    np.savez(os.environ["SPINEMU_RESULT"], a=a, cycles=cycles, sim_seconds=sim_seconds)

    wrong = np.argwhere(a != expected)
    for b, o in wrong[:10]:
        dut._log.error(f"vector {b} output {o}: rtl {a[b, o]} != golden {expected[b, o]}")
    assert wrong.size == 0, f"{len(wrong)} of {a.size} output codes differ from the golden model"
