"""The host protocol against a :class:`~spinemu.gateware.core.LinkCore` in ``amaranth.sim``.

:class:`SimHost` drives the core's byte streams from an async testbench with the same sans-I/O
:class:`~spinemu.link.protocol.HostProtocol` the driver uses; nothing here re-implements the
protocol.
"""

from __future__ import annotations

from spinemu.link.protocol import Command, HostProtocol, Reply, access_args
from spinemu.link.regmap import Region, bytes_to_words, words_to_bytes

from .testbench import stream_put

__all__ = ["SimHost"]


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
