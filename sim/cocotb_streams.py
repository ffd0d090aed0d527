"""Queue-backed lib.stream source and sink for cocotb 2.x testbenches.

Amaranth flattens a stream port ``x`` into ``x__payload``, ``x__valid`` and ``x__ready``. Both
classes act on the falling clock edge: they drive their side of the handshake, wait for the
read-only phase and decide whether the transfer happens on the next rising edge. Deciding in the
middle of the cycle keeps them correct on every simulator, whatever order its edge callbacks run
in. ``pause`` callables (see :func:`spinemu.sim.testbench.random_pause`) insert idle cycles.

While a source has nothing to send, or its DUT is not ready, and while a sink sees no valid
data, they sleep on an event or on the rising edge of the handshake signal instead of waking every
cycle, so long compute phases run at the simulator's own speed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import cocotb
from cocotb.triggers import Event, FallingEdge, ReadOnly, RisingEdge

from spinemu.link.regmap import pack_fields  # re-exported: the benches pack payloads with it

__all__ = ["StreamSource", "StreamSink", "pack_fields"]


class StreamSource:
    """Drives payloads (ints, already packed) into a DUT ``In(stream.Signature)`` port."""

    def __init__(self, dut, name: str, clk, pause: Callable[[], bool] | None = None):
        self._payload = getattr(dut, f"{name}__payload")
        self._valid = getattr(dut, f"{name}__valid")
        self._ready = getattr(dut, f"{name}__ready")
        self._clk, self._pause = clk, pause
        self._queue: deque[int] = deque()
        self._idle, self._pending = Event(), Event()
        self._idle.set()
        self._valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send(self, payloads) -> None:
        self._queue.extend(int(p) for p in payloads)
        if self._queue:
            self._idle.clear()
            self._pending.set()

    async def wait_idle(self) -> None:
        """Return once every queued payload has been transferred."""
        await self._idle.wait()

    def stop(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        falling, read_only = FallingEdge(self._clk), ReadOnly()
        ready_rises = RisingEdge(self._ready)
        presenting = False
        while True:
            await falling
            if not self._queue:
                self._valid.value = 0
                self._pending.clear()
                await self._pending.wait()
                continue
            if not presenting and self._pause is not None and self._pause():
                self._valid.value = 0
                continue
            # Once offered, a payload stays valid until it is taken (lib.stream rules).
            self._payload.value = self._queue[0]
            self._valid.value = 1
            await read_only
            presenting = not self._ready.value
            if presenting:
                await ready_rises
            else:
                self._queue.popleft()
                if not self._queue:
                    self._idle.set()


class StreamSink:
    """Accepts payloads from a DUT ``Out(stream.Signature)`` port into a list (as unsigned ints;
    the caller sign-converts)."""

    def __init__(self, dut, name: str, clk, pause: Callable[[], bool] | None = None):
        self._payload = getattr(dut, f"{name}__payload")
        self._valid = getattr(dut, f"{name}__valid")
        self._ready = getattr(dut, f"{name}__ready")
        self._clk, self._pause = clk, pause
        self.received: list[int] = []
        self._wanted = 0
        self._done = Event()
        self._ready.value = 0
        self._task = cocotb.start_soon(self._run())

    async def receive(self, count: int) -> list[int]:
        """Wait until ``count`` payloads in all have arrived; return them all."""
        self._wanted = count
        if len(self.received) < count:
            self._done.clear()
            await self._done.wait()
        return self.received

    def stop(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        falling, read_only = FallingEdge(self._clk), ReadOnly()
        valid_rises = RisingEdge(self._valid)
        while True:
            await falling
            ready = self._pause is None or not self._pause()
            self._ready.value = int(ready)
            await read_only
            if not self._valid.value:
                await valid_rises
            elif ready:
                self.received.append(int(self._payload.value))
                if len(self.received) >= self._wanted:
                    self._done.set()
