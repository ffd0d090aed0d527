"""The host protocol against a :class:`~spinemu.gateware.core.LinkCore` in ``amaranth.sim``.

:class:`SimHost` drives the core's byte streams from an async testbench with the same sans-I/O
:class:`~spinemu.link.protocol.HostProtocol` the driver uses; :class:`SimTransport` is a
transport for the driver itself (:class:`~spinemu.link.driver.Link`), stepping the simulation
while the driver waits. Nothing here re-implements the protocol.
"""

from __future__ import annotations

from collections import deque

from amaranth.sim import Simulator

from spinemu.link.protocol import Command, HostProtocol, Reply, access_args
from spinemu.link.regmap import Region, bytes_to_words, words_to_bytes

from .testbench import stream_put

__all__ = ["SimHost", "SimTransport"]


class SimHost:
    """A host on the byte streams ``core.i`` / ``core.o`` of a simulated LinkCore."""

    def __init__(self, ctx, core, *, first_seq: int = 0, timeout: int = 4000):
        self.ctx, self.core, self.timeout = ctx, core, timeout
        self.protocol = HostProtocol(first_seq)

    async def send(self, data: bytes) -> None:
        await stream_put(self.ctx, self.core.i, list(data))

    async def receive(self, ticks: int | None = None) -> bytes:
        """Reply bytes until ``ticks`` pass with no byte (``timeout`` by default)."""
        got, quiet = [], 0
        self.ctx.set(self.core.o.ready, 1)
        while quiet < (self.timeout if ticks is None else ticks):
            _, _, valid, payload = await self.ctx.tick().sample(self.core.o.valid,
                                                                 self.core.o.payload)
            quiet = 0 if valid else quiet + 1
            if valid:
                got.append(payload)
        self.ctx.set(self.core.o.ready, 0)
        return bytes(got)

    async def exchange(self, data: bytes) -> Reply | None:
        """Send raw request bytes; the reply to the pending request, or None if ``timeout``
        ticks pass without a byte."""
        await self.send(data)
        quiet = 0
        self.ctx.set(self.core.o.ready, 1)
        try:
            while quiet < self.timeout:
                _, _, valid, payload = await self.ctx.tick().sample(self.core.o.valid,
                                                                     self.core.o.payload)
                quiet = 0 if valid else quiet + 1
                if valid and (reply := self.protocol.receive(bytes([payload]))) is not None:
                    return reply
            return None
        finally:
            self.ctx.set(self.core.o.ready, 0)

    async def command(self, command: Command | int, payload: bytes = b"") -> Reply:
        reply = await self.exchange(self.protocol.request(command, payload))
        if reply is None:
            raise AssertionError(f"no reply to {command.name} {payload.hex()}")
        return reply

    async def write(self, region: Region, index: int, words) -> Reply:
        payload = (access_args(region.id, index, len(words))
                   + words_to_bytes(words, region.word_bytes))
        return await self.command(Command.WRITE, payload)

    async def read(self, region: Region, index: int, count: int) -> tuple[Reply, list[int]]:
        reply = await self.command(Command.READ, access_args(region.id, index, count))
        words = bytes_to_words(reply.payload, region.word_bytes) if reply.status == 0 else []
        return reply, words


class SimTransport:
    """A :class:`~spinemu.link.driver.Transport` to a byte-stream LinkCore in amaranth.sim.

    ``send`` queues bytes; ``receive`` runs the simulation, ``step`` clocks at a time, until
    reply bytes come or ``window`` clocks pass.
    """

    def __init__(self, core, *, step: int = 16, window: int = 4000):
        self._core, self._step, self._window = core, step, window
        self._to_core, self._from_core = deque(), bytearray()
        self._sim = Simulator(core)
        self._sim.add_clock(1e-8)
        self._sim.add_testbench(self._pump, background=True)
        self._clocks = 0

    async def _pump(self, ctx):
        core = self._core
        ctx.set(core.o.ready, 1)
        while True:
            if self._to_core:
                ctx.set(core.i.payload, self._to_core[0])
            ctx.set(core.i.valid, bool(self._to_core))
            _, _, offered, taken, valid, byte = await ctx.tick().sample(
                core.i.valid, core.i.ready, core.o.valid, core.o.payload)
            if offered and taken:
                self._to_core.popleft()
            if valid:
                self._from_core.append(byte)

    def send(self, data: bytes) -> None:
        self._to_core.extend(data)

    def receive(self, timeout: float) -> bytes:
        for _ in range(0, self._window, self._step):
            if self._from_core:
                break
            self._clocks += self._step
            self._sim.run_until(self._clocks * 1e-8)
        got, self._from_core = bytes(self._from_core), bytearray()
        return got

    def close(self) -> None:
        pass
