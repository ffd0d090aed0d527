"""The host-link protocol, sans I/O: CRC against an independent library, framing, resync."""

from __future__ import annotations

import numpy as np
import pytest
from crc import Calculator, Crc16

from spinemu.link.protocol import (
    MAX_PAYLOAD,
    SOF,
    Command,
    Frame,
    HostProtocol,
    LinkError,
    Status,
    crc16,
    decode_frames,
    encode_frame,
    frame_crc,
)


def test_crc_equals_crc_package_ibm_3740():
    reference = Calculator(Crc16.IBM_3740)
    rng = np.random.default_rng(0)
    assert crc16(b"123456789") == 0x29B1  # the catalogue's check value
    for n in [0, 1, 2, 7, 64, 263]:
        for _ in range(20):
            data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
            assert crc16(data) == reference.checksum(data)


def test_frames_round_trip_and_resync_after_noise():
    rng = np.random.default_rng(1)
    frames = [Frame(int(rng.integers(256)), int(rng.integers(256)),
                    rng.integers(0, 256, size=int(rng.integers(0, MAX_PAYLOAD + 1)),
                                 dtype=np.uint8).tobytes()) for _ in range(50)]
    stream = bytearray()
    for frame in frames:
        stream += rng.integers(0, 256, size=int(rng.integers(0, 5)), dtype=np.uint8).tobytes()
        stream += encode_frame(frame)
    got = decode_frames(stream)
    # noise may fake a frame only with a matching CRC: every real frame must be found, in order
    real = iter(got)
    assert all(any(g == f for g in real) for f in frames)
    assert len(got) - len(frames) <= 1


def test_corrupted_frame_is_skipped():
    good, bad = encode_frame(Frame(1, 2, b"abc")), bytearray(encode_frame(Frame(1, 3, b"abc")))
    bad[5] ^= 0x10
    assert decode_frames(bytearray(bytes(bad) + good)) == [Frame(1, 2, b"abc")]


def test_incomplete_frame_waits_for_more():
    data = encode_frame(Frame(2, 9, bytes(10)))
    buffer = bytearray(data[:-3])
    assert decode_frames(buffer) == [] and bytes(buffer) == data[:-3]
    buffer += data[-3:]
    assert decode_frames(buffer) == [Frame(2, 9, bytes(10))] and not buffer


def test_replies_round_trip_with_echo():
    frames = [Frame(Status.OK, 3, b"xyz", 0xBEEF), Frame(Status.BUSY, 4, b"", 0)]
    stream = bytearray(b"".join(encode_frame(f) for f in frames))
    assert decode_frames(stream, replies=True) == frames


def test_host_matches_reply_by_seq_and_echo_and_ignores_others():
    host = HostProtocol(first_seq=255)
    request = host.request(Command.READ, b"\x00" * 6)
    assert request[0] == SOF and request[2] == 255
    echo = frame_crc(host.pending)
    assert echo == int.from_bytes(request[-2:], "big")
    late = encode_frame(Frame(Status.OK, 254, b"old", echo))
    foreign = encode_frame(Frame(Status.BAD_CRC, 255, b"", echo ^ 1))  # same seq, other frame
    mine = encode_frame(Frame(Status.OK, 255, b"new", echo))
    assert host.receive(late + foreign + mine[:4]) is None
    reply = host.receive(mine[4:])
    assert reply.payload == b"new" and reply.command is Command.READ and host.pending is None
    assert host.ignored == {Status.OK: 1, Status.BAD_CRC: 1}
    assert host.request(Command.INFO)[2] == 0  # seq wraps
    assert host.retry()[2] == 0


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match=r"^payload must be at most 256 bytes, not 257$"):
        encode_frame(Frame(1, 0, bytes(MAX_PAYLOAD + 1)))
    with pytest.raises(LinkError, match=r"^no request has been made$"):
        HostProtocol().retry()
    host = HostProtocol()
    host.request(Command.INFO)
    with pytest.raises(LinkError, match=r"^device sent unknown status 0x77$"):
        host.receive(encode_frame(Frame(0x77, 0, b"", frame_crc(host.pending))))
