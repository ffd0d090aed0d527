"""cocotb bench: the tile fabric's LinkCore driven through its UART pins (cocotbext-uart).

The host side is the real driver, :class:`~spinemu.link.driver.Link` with
:class:`~spinemu.link.clients.TileClient`, run in a bridge thread over :class:`CocotbTransport`
(bytes to a ``UartSource`` on ``uart_rx``, from a ``UartSink`` on ``uart_tx``). It programs
weights and calibration, reads them back, runs the input vectors and reads the status
registers; :mod:`spinemu.sim.runner` compares everything with the golden model.
"""

from __future__ import annotations

import json

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles
from cocotbext.uart import UartSink, UartSource

from spinemu.config import TileConfig
from spinemu.gateware.core import link_regmap
from spinemu.gateware.fabrics import TileFabric
from spinemu.link.clients import TileClient
from spinemu.link.driver import Link

from .cocotb_bench import Span, load_stimulus, save_result, start
from .runner import CLOCK_NS

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
async def tile_over_uart(dut):
    stimulus = load_stimulus()
    config = TileConfig.from_json(str(stimulus["config"]))
    divisor = int(stimulus["divisor"])
    baud = 1e9 / (CLOCK_NS * divisor)
    source = UartSource(dut.uart_rx, baud=baud, bits=8, stop_bits=1)
    sink = UartSink(dut.uart_tx, baud=baud, bits=8, stop_bits=1)
    await start(dut)
    regmap = link_regmap(TileFabric(config))
    transport = CocotbTransport(dut, source, sink, window=400 * divisor, step=10 * divisor)

    def host():
        link = Link(transport, regmap, timeout=600.0, first_seq=0)
        info = link.check()
        client = TileClient(link, config)
        client.program(stimulus["g"], stimulus["adc_shift"], stimulus["gain"], stimulus["offset"])
        g, adc_shift, gain, offset = client.read_images()
        z = client.run(stimulus["x"])
        return {"g": g, "adc_shift": adc_shift, "gain": gain, "offset": offset, "z": z,
                "status": np.array(json.dumps(link.status())),
                "map_hash": np.array(info.map_hash)}

    span = Span()
    result = await bridge(host)()
    save_result(**result, **span.stop())
