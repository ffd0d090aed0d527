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

import cocotb
import numpy as np

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


@cocotb.test()
async def network_matches_golden(dut):
    stimulus = load_stimulus()
    plan = load_plan(stimulus)
    x = stimulus["x"]
    expected = plan.model()(x)

    tb = NetworkTB(dut, plan.config, np.random.default_rng(int(stimulus["seed"])),
                   float(stimulus["stall"]))
    await start(dut)
    await tb.load(plan)
    span = Span()
    tb.send_inputs(x)
    a = await tb.receive(len(x))
    timing = span.stop()
    tb.stop()
    save_result(a=a, **timing)
    check_equal(dut, a, expected, "output")
