"""The host driver: the protocol of :mod:`spinemu.link.protocol` over any transport.

:class:`Link` holds a :class:`~spinemu.link.protocol.HostProtocol` (bytes in, bytes out) and a
transport that only moves bytes: :class:`SerialTransport` (pyserial: a board, or the virtual
board's pseudo-terminal) or the cocotb bridge of :mod:`spinemu.sim.link_tb`. On top it offers
words by region name (:meth:`Link.write`, :meth:`Link.read`), split into frames of at most
``MAX_PAYLOAD`` bytes.

Retries: a request whose reply does not come within ``timeout`` seconds, or comes back
``BAD_CRC``, is sent again with the same ``seq`` (the device answers a repeat from its cache,
so nothing runs twice), up to ``retries`` times. ``BUSY`` is retried as a new request after a
short wait, up to ``busy_timeout`` seconds. Other error replies raise
:class:`~spinemu.link.protocol.FrameError` at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from .protocol import (
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    Command,
    FrameError,
    HostProtocol,
    LinkError,
    Reply,
    Status,
    access_args,
)
from .regmap import Region, RegisterMap, bytes_to_words, pack, unpack, words_to_bytes

__all__ = ["Link", "LinkInfo", "SerialTransport", "Transport"]


class Transport(Protocol):
    """Moves bytes; knows nothing of frames."""

    def send(self, data: bytes) -> None: ...

    def receive(self, timeout: float) -> bytes:
        """Bytes that arrived within ``timeout`` seconds (empty if none)."""
        ...

    def close(self) -> None: ...


class SerialTransport:
    """A serial port through pyserial: a board's USB UART or the virtual board's pty."""

    def __init__(self, port: str, baudrate: int = 115200):
        import serial

        try:
            self._serial = serial.Serial(port, baudrate=baudrate, timeout=0)
        except (serial.SerialException, OSError) as error:
            raise LinkError(f"port {port!r} does not open: {error}") from None
        self.port = port

    def send(self, data: bytes) -> None:
        self._serial.write(data)
        self._serial.flush()

    def receive(self, timeout: float) -> bytes:
        self._serial.timeout = timeout
        first = self._serial.read(1)
        if not first:
            return b""
        self._serial.timeout = 0
        return first + self._serial.read(self._serial.in_waiting or 0)

    def close(self) -> None:
        self._serial.close()


class LinkInfo:
    """What ``INFO`` answered."""

    def __init__(self, payload: bytes):
        if len(payload) != 7:
            raise LinkError(f"INFO reply has {len(payload)} bytes, 7 expected")
        self.version = payload[0]
        self.max_payload = int.from_bytes(payload[1:3], "little")
        self.map_hash = int.from_bytes(payload[3:7], "little")


class Link:
    """A fabric's register map over a transport.

    Parameters
    ----------
    transport : Transport
    regmap : RegisterMap
        The map the device should have; :meth:`check` compares hashes.
    timeout : float
        Seconds to wait for a reply before resending.
    retries : int
        Resends of one request (timeouts and BAD_CRC) before :class:`LinkError`.
    """

    def __init__(self, transport: Transport, regmap: RegisterMap, *, timeout: float = 1.0,
                 retries: int = 3, busy_timeout: float = 10.0, first_seq: int | None = None):
        import random

        self._transport, self._regmap = transport, regmap
        self._timeout, self._retries, self._busy_timeout = timeout, retries, busy_timeout
        # a fresh seq each session, so a repeat of the last session's seq is unlikely to hit
        # the device's reply cache
        self._protocol = HostProtocol(random.randrange(256) if first_seq is None else first_seq)
        self.resends = 0

    @property
    def regmap(self) -> RegisterMap:
        return self._regmap

    @property
    def protocol(self) -> HostProtocol:
        """The sans-I/O protocol state (next ``seq``, replies ignored)."""
        return self._protocol

    def close(self) -> None:
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- frames ---------------------------------------------------------------------------
    def _exchange(self, data: bytes) -> Reply:
        for attempt in range(self._retries + 1):
            if attempt:
                self.resends += 1
                data = self._protocol.retry()
            self._transport.send(data)
            reply = self._await_reply()
            if reply is not None and reply.status != Status.BAD_CRC:
                return reply
        pending = self._protocol.pending
        raise LinkError(f"no good reply to {Command(pending.code).name} (seq {pending.seq}) after "
                        f"{self._retries + 1} attempts of {self._timeout} s")

    def _await_reply(self) -> Reply | None:
        deadline = time.monotonic() + self._timeout
        while (left := deadline - time.monotonic()) > 0:
            reply = self._protocol.receive(self._transport.receive(min(left, 0.05)))
            if reply is not None:
                return reply
        return None

    def request(self, command: Command, payload: bytes = b"", detail: str = "") -> bytes:
        """Run one command; its reply payload. BUSY is retried; other errors raise."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            reply = self._exchange(self._protocol.request(command, payload))
            if reply.status == Status.OK:
                return reply.payload
            if reply.status != Status.BUSY or time.monotonic() > deadline:
                raise FrameError(reply.status, command, detail)
            time.sleep(0.001)

    # --- commands -------------------------------------------------------------------------
    def info(self) -> LinkInfo:
        return LinkInfo(self.request(Command.INFO))

    def check(self) -> LinkInfo:
        """``INFO``, and :class:`LinkError` unless the device runs this map and protocol."""
        info = self.info()
        if info.version != PROTOCOL_VERSION or info.map_hash != self._regmap.hash:
            raise LinkError(
                f"device runs protocol {info.version}, map hash 0x{info.map_hash:08x}; expected "
                f"protocol {PROTOCOL_VERSION}, map hash 0x{self._regmap.hash:08x} "
                f"({self._regmap.fabric}): is the right bitstream loaded?")
        return info

    def write_words(self, region: Region, index: int, words: Sequence[int]) -> None:
        """Raw words into ``region`` from ``index``, in as many frames as needed."""
        per_frame = max(1, (MAX_PAYLOAD - 6) // region.word_bytes)
        for start in range(0, len(words), per_frame):
            chunk = words[start:start + per_frame]
            at = 0 if region.access.stream else index + start
            payload = (access_args(region.id, at, len(chunk))
                       + words_to_bytes(chunk, region.word_bytes))
            self.request(Command.WRITE, payload,
                         f"region {region.name!r}, index {index + start}, {len(chunk)} words")

    def read_words(self, region: Region, index: int, count: int) -> list[int]:
        """``count`` raw words of ``region`` from ``index``."""
        per_frame = max(1, MAX_PAYLOAD // region.word_bytes)
        words: list[int] = []
        for start in range(0, count, per_frame):
            n = min(per_frame, count - start)
            at = 0 if region.access.stream else index + start
            raw = self.request(Command.READ, access_args(region.id, at, n),
                               f"region {region.name!r}, index {index + start}, {n} words")
            words += bytes_to_words(raw, region.word_bytes)
        return words

    def write(self, name: str, values: Sequence, index: int = 0) -> None:
        """Values (ints, lists or dicts as the region's layout) into region ``name``."""
        region = self._regmap[name]
        self.write_words(region, index, [pack(region.layout, v) for v in values])

    def read(self, name: str, count: int, index: int = 0) -> list:
        """``count`` values of region ``name`` from ``index``, unpacked."""
        region = self._regmap[name]
        return [unpack(region.layout, w) for w in self.read_words(region, index, count)]

    def status(self) -> dict[str, int]:
        """The ``status`` registers by name."""
        region = self._regmap["status"]
        return dict(zip(region.fields, self.read("status", region.depth), strict=True))
