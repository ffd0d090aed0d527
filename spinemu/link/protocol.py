"""The host-link protocol (DESIGN.md 4): frames, commands, status codes and the CRC.

Every field and code is named here once; the gateware frame engine
(:mod:`spinemu.hdl.link`), the host driver (:mod:`spinemu.link.driver`) and the tests read these
definitions. The protocol is sans-I/O: :class:`HostProtocol` turns requests into bytes and bytes
into replies, and never touches a port.

Frames
------
A request, host to device::

    SOF  cmd  seq  len[0] len[1]  payload[len]  crc[1] crc[0]

A reply, device to host::

    SOF  status  seq  echo[1] echo[0]  len[0] len[1]  payload[len]  crc[1] crc[0]

``SOF`` is :data:`SOF` (0xA5). ``len`` is little-endian, at most :data:`MAX_PAYLOAD`. ``crc`` is
CRC-16/IBM-3740 (also called CRC-16/CCITT-FALSE: polynomial 0x1021, init 0xFFFF, no
reflection, no final xor) over every byte after ``SOF`` up to the end of the payload, sent most
significant byte first. ``seq`` is chosen by the host; the reply carries the request's ``seq``
and, in ``echo``, the CRC field of the request it answers, so the host matches a reply to its
request by 24 bits (a reply to a garbled or foreign frame that happens to carry the same
``seq`` is not taken for the answer).

Commands
--------
``INFO`` (no payload)
    Reply: protocol version (1 byte), :data:`MAX_PAYLOAD` (2 bytes), register map hash (4 bytes).
``WRITE`` (address: 4 bytes, then whole words)
    Writes consecutive words from ``address``; each word takes the region's ``word_bytes`` bytes,
    little-endian. Reply: empty.
``READ`` (address: 4 bytes, count: 2 bytes)
    Reply: ``count`` words of the region, little-endian.

An address is ``region << 24 | index``. Regions and their words come from the register map
(:mod:`spinemu.link.regmap`).

Errors and resynchronisation
----------------------------
A command is checked whole before it runs: a bad address or length, or a region that cannot
take it now (``BUSY``), is answered with that status and changes nothing. A frame whose CRC does
not match is answered with ``BAD_CRC`` (its ``seq`` as received) and changes nothing. A frame
whose ``len`` exceeds :data:`MAX_PAYLOAD` is answered with ``BAD_LENGTH`` at once and its
payload is not read as a frame: the engine hunts for the next ``SOF``. A frame that stops
arriving for :data:`FRAME_TIMEOUT_BYTES` byte times is dropped without a reply and the engine
hunts for the next ``SOF``.

Retries
-------
The device keeps its last reply. A request with the same ``seq`` and command as the last frame it
executed, and a good CRC, is answered by resending that reply without running the command again:
a host that lost or garbled a reply resends the same request, safe even for commands that
consume data (reads of an output stream, writes to an input stream).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass

from spinemu.config import SpinemuError

__all__ = [
    "FRAME_TIMEOUT_BYTES", "HEADER_BYTES", "MAX_PAYLOAD", "PROTOCOL_VERSION", "REPLY_HEADER_BYTES",
    "SOF", "Command",
    "Frame", "FrameError", "HostProtocol", "LinkError", "Reply", "Status", "access_args", "crc16",
    "frame_crc",
    "decode_frames", "encode_frame",
]

SOF = 0xA5
PROTOCOL_VERSION = 1
#: Largest payload of a request or a reply, in bytes.
MAX_PAYLOAD = 256
#: Bytes after SOF and before the payload of a request: command, seq, len (2).
HEADER_BYTES = 4
#: ... and of a reply: status, seq, echo (2), len (2).
REPLY_HEADER_BYTES = 6
#: A frame whose next byte is this many byte times late is dropped.
FRAME_TIMEOUT_BYTES = 64

CRC_POLY = 0x1021
CRC_INIT = 0xFFFF


class Command(enum.IntEnum):
    """Request commands (the byte after ``SOF``)."""

    INFO = 0x01
    WRITE = 0x02
    READ = 0x03


class Status(enum.IntEnum):
    """Reply status (the byte after ``SOF`` in a reply)."""

    OK = 0x00
    BAD_CRC = 0x01          #: the request's CRC did not match; nothing was done
    UNKNOWN_COMMAND = 0x02  #: no such command; nothing was done
    BAD_ADDRESS = 0x03      #: no such region, an index past its depth, or a forbidden access
    BAD_LENGTH = 0x04       #: a payload too long, too short or not whole words
    BUSY = 0x05             #: the fabric is computing, or a stream lacks room or data; retry


class LinkError(SpinemuError, RuntimeError):
    """A link failure: a transport that does not answer, or an error reply."""


class FrameError(LinkError):
    """The device answered a request with an error status.

    Attributes
    ----------
    status : Status
    command : Command
    """

    def __init__(self, status: Status, command: Command, detail: str = ""):
        self.status, self.command = status, command
        message = f"device answered {command.name} with {status.name}"
        super().__init__(f"{message}: {detail}" if detail else message)


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    """CRC-16/IBM-3740 of ``data`` (bitwise: the definition the gateware unrolls per byte)."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


@dataclass(frozen=True)
class Frame:
    """A frame as sent: ``code`` is a :class:`Command` (request) or :class:`Status` (reply);
    ``echo`` is the answered request's CRC field, for replies only (``None`` in a request)."""

    code: int
    seq: int
    payload: bytes = b""
    echo: int | None = None


def _body(frame: Frame) -> bytes:
    echo = b"" if frame.echo is None else frame.echo.to_bytes(2, "big")
    return bytes([frame.code, frame.seq]) + echo + len(frame.payload).to_bytes(2, "little") \
        + frame.payload


def frame_crc(frame: Frame) -> int:
    """The CRC field ``frame`` is sent with (what a reply to it echoes)."""
    return crc16(_body(frame))


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``frame``, ``SOF`` to CRC."""
    if not 0 <= frame.seq <= 0xFF:
        raise ValueError(f"seq must be 0..255, not {frame.seq}")
    if len(frame.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload must be at most {MAX_PAYLOAD} bytes, not {len(frame.payload)}")
    body = _body(frame)
    return bytes([SOF]) + body + crc16(body).to_bytes(2, "big")


def decode_frames(buffer: bytearray, *, replies: bool = False) -> list[Frame]:
    """Take every complete, well-formed frame (requests, or ``replies``) off ``buffer``.

    Bytes before a ``SOF``, frames whose CRC fails and frames whose length exceeds
    :data:`MAX_PAYLOAD` are discarded byte by byte (resynchronising on the next ``SOF``); an
    incomplete frame at the end stays in ``buffer`` for more bytes.
    """
    header = REPLY_HEADER_BYTES if replies else HEADER_BYTES
    frames = []
    while buffer:
        if buffer[0] != SOF:
            del buffer[0]
            continue
        if len(buffer) < 1 + header:
            break
        length = int.from_bytes(buffer[header - 1:header + 1], "little")
        if length > MAX_PAYLOAD:
            del buffer[0]
            continue
        end = 1 + header + length + 2
        if len(buffer) < end:
            break
        body = bytes(buffer[1:end - 2])
        if crc16(body) != int.from_bytes(buffer[end - 2:end], "big"):
            del buffer[0]
            continue
        echo = int.from_bytes(body[2:4], "big") if replies else None
        frames.append(Frame(body[0], body[1], body[header:], echo))
        del buffer[:end]
    return frames


def access_args(region_id: int, index: int, count: int) -> bytes:
    """The arguments of a ``READ`` or ``WRITE``: address ``region << 24 | index`` (4 bytes) and
    ``count`` (2 bytes), little-endian."""
    return ((region_id << 24) | index).to_bytes(4, "little") + count.to_bytes(2, "little")


@dataclass(frozen=True)
class Reply:
    """A reply matched to its request."""

    command: Command | int
    status: Status
    seq: int
    payload: bytes


class HostProtocol:
    """The host side of the link, sans I/O.

    :meth:`request` returns the bytes of a new request (or of a retry of the pending one);
    :meth:`receive` takes bytes from the device and returns the reply to the pending request once
    it has arrived whole. Replies with another ``seq`` or ``echo`` (late answers to an earlier
    attempt, answers to garbled frames) are counted in :attr:`ignored` and otherwise ignored.
    A transport moves the bytes; :class:`~spinemu.link.driver.Link` adds timeouts and
    retries.
    """

    def __init__(self, first_seq: int = 0):
        self._seq = first_seq & 0xFF
        self._pending: Frame | None = None
        self._last: Frame | None = None
        self._buffer = bytearray()
        #: status code -> count of well-formed frames that answered no pending request
        self.ignored: Counter[int] = Counter()

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next new request will carry."""
        return self._seq

    @property
    def pending(self) -> Frame | None:
        """The request awaiting a reply, if any."""
        return self._pending

    def request(self, command: Command | int, payload: bytes = b"") -> bytes:
        """Bytes of a new request; it becomes the pending one.

        ``command`` may be a code that is no :class:`Command` (to test a device's refusal).
        """
        if not 0 <= int(command) <= 0xFF:
            raise ValueError(f"command must be 0..255, not {command}")
        self._pending = self._last = Frame(int(command), self._seq, bytes(payload))
        self._seq = (self._seq + 1) & 0xFF
        self._buffer.clear()
        return encode_frame(self._pending)

    def retry(self) -> bytes:
        """Bytes of the last request again, same ``seq``; it is pending again.

        The device answers a repeat of the last command it ran from its reply cache, without
        running it twice.
        """
        if self._last is None:
            raise LinkError("no request has been made")
        self._pending = self._last
        self._buffer.clear()
        return encode_frame(self._last)

    def receive(self, data: bytes) -> Reply | None:
        """Feed bytes from the device; the reply to the pending request once it is complete."""
        self._buffer += data
        for frame in decode_frames(self._buffer, replies=True):
            pending = self._pending
            if pending is not None and (frame.seq, frame.echo) == (pending.seq,
                                                                   frame_crc(pending)):
                reply = Reply(_command(self._pending.code), _status(frame.code), frame.seq,
                              frame.payload)
                self._pending = None
                self._buffer.clear()
                return reply
            self.ignored[frame.code] += 1
        return None


def _command(code: int) -> Command | int:
    try:
        return Command(code)
    except ValueError:
        return code


def _status(code: int) -> Status:
    try:
        return Status(code)
    except ValueError:
        raise LinkError(f"device sent unknown status 0x{code:02x}") from None
