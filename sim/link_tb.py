"""cocotb bench: a whole board core (:func:`~spinemu.sim.runner.link_bench_fabric`, a tile and a
p-bit core behind one LinkCore) driven through its UART pins (cocotbext-uart).

The host side is the real driver, :class:`~spinemu.link.driver.Link` with
:class:`~spinemu.link.clients.TileClient` and :class:`~spinemu.link.pbit_client.PBitClient`,
run in a bridge thread over :class:`CocotbTransport` (bytes to a ``UartSource`` on ``uart_rx``,
from a ``UartSink`` on ``uart_tx``). It programs weights, calibration, couplings, biases, seeds
and the initial state, reads them back, runs the input vectors and an anneal and reads the
status registers; the test compares everything with the golden model.
"""

from __future__ import annotations

import json
from dataclasses import fields

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles
from cocotbext.uart import UartSink, UartSource

from spinemu.config import PBitConfig, TileConfig, Topology
from spinemu.gateware.core import link_regmap
from spinemu.link.clients import TileClient
from spinemu.link.driver import Link
from spinemu.link.pbit_client import PBitClient

from .cocotb_bench import Span, load_stimulus, save_result, start
from .runner import CLOCK_NS, link_bench_fabric

__all__ = ["CocotbTransport"]


class CocotbTransport:
    """A transport for :class:`~spinemu.link.driver.Link` inside a cocotb bridge thread.

    ``receive(timeout)`` waits at most ``window`` clocks of simulated time per call, looking
    every ``step`` clocks (the driver's own deadline is in host seconds and bounds the number
    of calls).
    """

    def __init__(self, dut, source: UartSource, sink: UartSink, *, window: int, step: int):
        self._dut, self._source, self._sink = dut, source, sink
        self._window, self._step = window, step

    def send(self, data: bytes) -> None:
        resume(self._send)(data)

    async def _send(self, data: bytes) -> None:
        await self._source.write(data)

    def receive(self, timeout: float) -> bytes:
        return resume(self._receive)()

    async def _receive(self) -> bytes:
        waited = 0
        while self._sink.empty() and waited < self._window:
            await ClockCycles(self._dut.clk, self._step)
            waited += self._step
        return bytes(self._sink.read_nowait(self._sink.count())) if not self._sink.empty() \
            else b""

    def close(self) -> None:
        pass


@cocotb.test()
async def board_core_over_uart(dut):
    stimulus = load_stimulus()
    tile = TileConfig.from_json(str(stimulus["tile"]))
    pbit = PBitConfig.from_json(str(stimulus["pbit"]))
    topology = Topology(int(stimulus["n"]), tuple(map(tuple, stimulus["edges"].tolist())),
                        tuple(stimulus["colours"].tolist()))
    divisor = int(stimulus["divisor"])
    baud = 1e9 / (CLOCK_NS * divisor)
    source = UartSource(dut.uart_rx, baud=baud, bits=8, stop_bits=1)
    sink = UartSink(dut.uart_tx, baud=baud, bits=8, stop_bits=1)
    await start(dut)
    regmap = link_regmap(link_bench_fabric(tile, pbit, topology))
    assert regmap.hash == int(stimulus["map_hash"])
    transport = CocotbTransport(dut, source, sink, window=400 * divisor, step=10 * divisor)

    def host():
        link = Link(transport, regmap, timeout=600.0, busy_timeout=600.0, first_seq=0)
        info = link.check()
        tiles = TileClient(link, tile, prefix="tile_")
        tiles.program(stimulus["g"], stimulus["adc_shift"], stimulus["gain"], stimulus["offset"])
        g, adc_shift, gain, offset = tiles.read_images()
        z = tiles.run(stimulus["x"])
        pbits = PBitClient(link, pbit, topology, prefix="pbit_")
        pbits.program(stimulus["J"], stimulus["h"], stimulus["seeds"], stimulus["state"])
        J, h, seeds, state = pbits.read_images()
        run = pbits.anneal([tuple(step) for step in stimulus["schedule"].tolist()],
                           int(stimulus["record_every"]))
        return {"g": g, "adc_shift": adc_shift, "gain": gain, "offset": offset, "z": z,
                "J": J, "h": h, "seeds": seeds, "state": state,
                **{f"anneal_{f.name}": np.asarray(getattr(run, f.name)) for f in fields(run)},
                "status": np.array(json.dumps(link.status())),
                "map_hash": np.array(info.map_hash)}

    span = Span()
    result = await bridge(host)()
    save_result(**result, **span.stop())
