# amaranth: UnusedElaboratable=no
"""The host driver over the virtual board (Verilator, UART pins, a pseudo-terminal, pyserial).

A random tile is programmed, read back and run against the golden model through the same
:class:`~spinemu.link.driver.Link` a board uses, and the link is fuzzed with 10,000 frames. The
digits network and a p-bit anneal over the virtual board are in ``tests/test_emulator.py`` (the
board backend of :class:`spinemu.Emulator`, which speaks through the same driver).
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest

from spinemu.gateware.fabrics import TileFabric
from spinemu.link.clients import TileClient
from spinemu.link.driver import Link, SerialTransport
from spinemu.link.protocol import (
    MAX_PAYLOAD,
    SOF,
    Command,
    Frame,
    FrameError,
    LinkError,
    Status,
    decode_frames,
    encode_frame,
)
from spinemu.link.regmap import pack
from spinemu.sim.golden import tile_forward
from spinemu.sim.vboard import fabric_board

from cases import random_tile_case

SEED = 11


@pytest.fixture(scope="module")
def tile_case():
    return random_tile_case(SEED, max_rows=24, max_cols=16, batch=6)


@pytest.fixture(scope="module")
def board(tile_case):
    with fabric_board(TileFabric(tile_case.config), clocks_per_bit=4) as board:
        yield board


@pytest.fixture
def link(board):
    with Link(SerialTransport(board.port), board.regmap, timeout=2.0) as link:
        yield link


def test_tile_over_virtual_board_equals_golden(tile_case, link):
    cfg = tile_case.config
    link.check()
    client = TileClient(link, cfg)
    client.program(tile_case.g, tile_case.adc_shift, tile_case.gain, tile_case.offset)
    g, adc_shift, gain, offset = client.read_images()
    assert (g == tile_case.g).all(), tile_case
    assert (adc_shift == tile_case.adc_shift).all() and (gain == tile_case.gain).all()
    assert (offset == tile_case.offset).all()
    z = client.run(tile_case.x)
    expected = tile_forward(cfg, tile_case.g, tile_case.x, tile_case.adc_shift, tile_case.gain,
                            tile_case.offset)
    assert (z == expected).all(), tile_case
    assert link.status()["idle"] == 1


def test_errors_raise_frame_error_naming_the_reply(link):
    weights = link.regmap["weights"]
    last = weights.depth - 1
    with pytest.raises(FrameError, match=rf"^device answered READ with BAD_ADDRESS: region "
                                         rf"'weights', index {last}, 2 words$"):
        link.read_words(weights, last, 2)
    with pytest.raises(LinkError, match=r"^port '/nonexistent/tty' does not open"):
        SerialTransport("/nonexistent/tty")


def _bad_frames(rng, valid: bytes, seq: int) -> bytes:
    """One bad frame (or noise) derived from a valid request."""
    kind = rng.integers(5)
    if kind == 0:    # one byte changed after SOF: CRC-16 catches every single-byte error
        frame = bytearray(valid)
        at = int(rng.integers(1, len(frame)))
        frame[at] ^= int(rng.integers(1, 256))
        return bytes(frame)
    if kind == 1:    # truncated
        return valid[: int(rng.integers(1, len(valid)))]
    if kind == 2:    # oversized length field
        length = int(rng.integers(MAX_PAYLOAD + 1, 1 << 16))
        return bytes([SOF, Command.WRITE, seq]) + length.to_bytes(2, "little") + bytes(8)
    if kind == 3:    # byte storm
        return rng.integers(0, 256, size=int(rng.integers(1, 300)), dtype=np.uint8).tobytes()
    return encode_frame(Frame(int(rng.integers(4, 256)), seq, b""))   # unknown command


def test_fuzzed_link_answers_valid_frames_and_keeps_state(tile_case, board):
    """10,000 frames: valid requests through the driver between bursts of bad frames."""
    cfg = tile_case.config
    rng = np.random.default_rng(SEED)
    transport = SerialTransport(board.port)
    link = Link(transport, board.regmap, timeout=2.0, first_seq=0)
    weights = board.regmap["weights"]
    shadow = [pack(weights.layout, w) for w in TileFabric.images(cfg, tile_case.g)["weights"]]
    link.write_words(weights, 0, shadow)
    flush = bytes(MAX_PAYLOAD + 8)   # no SOF: ends any partial frame, then is hunted through
    frames = valid = 0
    while frames < 10_000:
        # a burst of bad frames, each built from a write that would change the weights
        burst = b""
        for _ in range(int(rng.integers(1, 8))):
            index = int(rng.integers(weights.depth))
            word = int(rng.integers(1 << weights.word_bits)) ^ shadow[index]
            payload = ((weights.id << 24 | index).to_bytes(4, "little") + (1).to_bytes(2, "little")
                       + word.to_bytes(weights.word_bytes, "little"))
            seq = (link.protocol.next_seq + 128) & 0xFF   # far from the driver's next seqs
            burst += _bad_frames(rng, encode_frame(Frame(Command.WRITE, seq, payload)), seq)
            frames += 1
        transport.send(burst + flush)
        # then a valid request, answered correctly
        if rng.integers(2):
            index, count = int(rng.integers(weights.depth)), 1
            count = int(rng.integers(1, min(weights.depth - index, 20) + 1))
            words = [int(w) for w in rng.integers(0, 1 << min(weights.word_bits, 62), size=count)]
            words = [w & ((1 << weights.word_bits) - 1) for w in words]
            link.write_words(weights, index, words)
            shadow[index:index + count] = words
        else:
            index = int(rng.integers(weights.depth))
            count = int(rng.integers(1, min(weights.depth - index, 20) + 1))
            assert link.read_words(weights, index, count) == shadow[index:index + count]
        frames += 1
        valid += 1
    assert link.read_words(weights, 0, weights.depth) == shadow
    status = link.status()
    transport.close()
    print(f"{frames} frames, {valid} valid; device: {status}; resends {link.resends}; "
          f"replies to bad frames by status: {dict(link.protocol.ignored)}")
    # a resend happens only when a storm's fake frame carried the pending seq
    assert link.resends <= link.protocol.ignored[Status.BAD_CRC] // 64 + 3
    assert status["bad_crc"] > 1000 and status["framing_errors"] == 0
    assert link.protocol.ignored[Status.OK] == 0, "a bad frame was answered OK"


def test_stray_replies_to_bad_frames_are_errors(board):
    """Bad frames alone: whatever comes back is an error reply, never OK."""
    rng = np.random.default_rng(SEED + 1)
    transport = SerialTransport(board.port)
    weights = board.regmap["weights"]
    sent = b""
    for _ in range(200):
        payload = ((weights.id << 24).to_bytes(4, "little") + (1).to_bytes(2, "little")
                   + bytes(weights.word_bytes))
        sent += _bad_frames(rng, encode_frame(Frame(Command.WRITE, 7, payload)), 7)
    transport.send(sent + bytes(MAX_PAYLOAD + 8))
    received = bytearray()
    while chunk := transport.receive(1.0):
        received += chunk
    replies = decode_frames(received, replies=True)
    transport.close()
    assert replies, "bad frames got no error reply at all"
    assert all(Status(r.code) != Status.OK for r in replies), replies


def test_board_status_command(tile_case, board, tmp_path):
    """`spinemu board status` finds the fabric's map on the virtual board, and refuses a board
    that carries another one."""
    (tmp_path / "tile.toml").write_text(tile_case.config.to_toml())
    env = {**os.environ, "COLUMNS": "200"}   # rich tables wrap at 80 columns without a tty
    ok = subprocess.run(["spinemu", "board", "status", "tile.toml", "--port", board.port],
                        capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    assert ok.returncode == 0, ok.stderr
    assert f"map 0x{board.regmap.hash:08x}" in ok.stdout and "idle" in ok.stdout
    other = subprocess.run(["spinemu", "board", "status", "--port", board.port],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert other.returncode == 2
    assert re.match(rf"^error: device runs protocol 1, map hash 0x{board.regmap.hash:08x}; "
                    r"expected protocol 1, map hash 0x[0-9a-f]{8} \(TileFabric\): is the right "
                    r"bitstream loaded\?$", other.stderr.strip()), other.stderr
