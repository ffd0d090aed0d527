# amaranth: UnusedElaboratable=no
"""The host-link core (frame engine, region decoder, tile fabric) in amaranth.sim.

Programs random tiles through frames, reads everything back, runs vectors against the golden
model, and checks every error reply and that a refused frame changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from spinemu.gateware.core import LinkCore
from spinemu.gateware.fabrics import NetworkFabric, TileFabric
from spinemu.hdl.layer import network_addresses, network_writes
from spinemu.link.clients import runs
from spinemu.link.protocol import (
    FRAME_TIMEOUT_BYTES,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    SOF,
    Command,
    Frame,
    Status,
    decode_frames,
    encode_frame,
)
from spinemu.link.regmap import pack, unpack
from spinemu.sim.golden import tile_forward
from spinemu.sim.link_sim import SimHost

from cases import random_inputs, random_plan, random_tile_case


def run(core, bench):
    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


async def program(host, regmap, images):
    for name, values in images.items():
        region = regmap[name]
        words = [pack(region.layout, v) for v in values]
        per = (MAX_PAYLOAD - 6) // region.word_bytes
        for start in range(0, len(words), per):
            reply = await host.write(region, start, words[start:start + per])
            assert reply.status == Status.OK


async def read_all(host, region):
    words = []
    per = MAX_PAYLOAD // region.word_bytes
    for start in range(0, region.depth, per):
        reply, got = await host.read(region, start, min(per, region.depth - start))
        assert reply.status == Status.OK
        words += got
    return words


async def run_vectors(host, regmap, x, outputs):
    xr, zr = regmap["x"], regmap["z"]
    z = []
    for vector in x:
        words = [pack(xr.layout, int(v)) for v in vector]
        for start in range(0, len(words), 200):
            assert (await host.write(xr, 0, words[start:start + 200])).status == Status.OK
        got = []
        while len(got) < outputs:
            reply, words_out = await host.read(zr, 0, min(64, outputs - len(got)))
            if reply.status == Status.BUSY:   # outputs not there yet
                continue
            assert reply.status == Status.OK
            got += [unpack(zr.layout, w) for w in words_out]
        z.append(got)
    return np.array(z)


@pytest.mark.parametrize("seed", range(4))
def test_tile_through_link_equals_golden(seed):
    case = random_tile_case(seed, max_rows=12, max_cols=10, batch=3)
    cfg = case.config
    core = LinkCore(TileFabric(cfg), divisor=None)
    regmap = core.regmap
    images = TileFabric.images(cfg, case.g, case.adc_shift, case.gain, case.offset)
    expected = tile_forward(cfg, case.g, case.x, case.adc_shift, case.gain, case.offset)
    result = {}

    async def bench(ctx):
        host = SimHost(ctx, core)
        info = await host.command(Command.INFO)
        assert info.status == Status.OK
        assert info.payload[0] == PROTOCOL_VERSION
        assert int.from_bytes(info.payload[3:7], "little") == regmap.hash
        await program(host, regmap, images)
        for name in images:
            region = regmap[name]
            result[name] = [unpack(region.layout, w) for w in await read_all(host, region)]
        result["z"] = await run_vectors(host, regmap, case.x, cfg.cols)
        status = dict(zip(regmap["status"].fields, await read_all(host, regmap["status"]),
                          strict=True))
        result["status"] = status

    run(core, bench)
    assert result["weights"] == images["weights"], case
    assert result["columns"] == images["columns"], case
    assert (result["z"] == expected).all(), case
    assert result["status"]["idle"] == 1
    assert result["status"]["bad_crc"] == 0 and result["status"]["dropped"] == 0


@pytest.mark.parametrize("seed", range(3))
def test_network_through_link_equals_golden(seed):
    """Every layer's images written in bursts and read back at their addresses; an address of
    nothing reads 0; vectors through the whole network equal the golden model."""
    rng = np.random.default_rng(300 + seed)
    plan = random_plan(rng, layers=2, max_features=8, max_rows=4, max_cols=4)
    config = plan.config
    x = random_inputs(rng, config.layers[0], 3)
    core = LinkCore(NetworkFabric(config), divisor=None)
    regmap = core.regmap
    images = regmap["images"]
    writes = network_writes(config, plan.images)
    used = set(network_addresses(config))
    unused = next(a for a in range(images.depth) if a not in used)
    result = {}

    per_frame = (MAX_PAYLOAD - 6) // images.word_bytes
    bursts = [(start + k, min(per_frame, count - k)) for start, count in runs(a for a, _ in writes)
              for k in range(0, count, per_frame)]
    values = dict(writes)

    async def bench(ctx):
        host = SimHost(ctx, core)
        for start, count in bursts:
            words = [values[a] for a in range(start, start + count)]
            assert (await host.write(images, start, words)).status == Status.OK
        assert (await host.write(images, unused, [(1 << images.word_bits) - 1])).status == 0
        got = {}
        for start, count in bursts:
            reply, words = await host.read(images, start, count)
            assert reply.status == Status.OK
            got.update(zip(range(start, start + count), words, strict=True))
        result["read"] = [got[a] for a, _ in writes]
        result["unused"] = (await host.read(images, unused, 1))[1]
        result["z"] = await run_vectors(host, regmap, x, config.layers[-1].out_features)

    run(core, bench)
    assert result["read"] == [word for _, word in writes]
    assert result["unused"] == [0]
    assert (result["z"] == plan.model()(x)).all()


def _address(region, index=0):
    return ((region.id << 24) | index).to_bytes(4, "little")


def test_errors_change_nothing():
    case = random_tile_case(7, max_rows=6, max_cols=5, batch=1)
    cfg = case.config
    core = LinkCore(TileFabric(cfg), divisor=None)
    regmap = core.regmap
    w, x, z = regmap["weights"], regmap["x"], regmap["z"]
    images = TileFabric.images(cfg, case.g)
    seen = {}

    async def bench(ctx):
        host = SimHost(ctx, core)
        await program(host, regmap, images)
        before = await read_all(host, w)
        one = (0).to_bytes(2, "little")
        word = bytes(w.word_bytes)

        async def status_of(command, payload):
            return (await host.command(command, payload)).status

        seen["unknown"] = await status_of(0x7E, b"")
        seen["info_len"] = await status_of(Command.INFO, b"\x00")
        seen["no_region"] = await status_of(Command.READ, (0x55 << 24).to_bytes(4, "little") + one)
        seen["past_end"] = await status_of(
            Command.WRITE, _address(w, w.depth - 1) + (2).to_bytes(2, "little") + 2 * word)
        seen["short_args"] = await status_of(Command.WRITE, _address(w)[:3])
        seen["not_whole"] = await status_of(
            Command.WRITE, _address(w) + (1).to_bytes(2, "little") + word + b"\x01")
        seen["write_ro"] = await status_of(
            Command.WRITE, _address(regmap["status"]) + (1).to_bytes(2, "little") + bytes(4))
        seen["read_push"] = await status_of(Command.READ, _address(x) + (1).to_bytes(2, "little"))
        seen["pop_empty"] = await status_of(Command.READ, _address(z) + (1).to_bytes(2, "little"))
        seen["read_too_long"] = await status_of(
            Command.READ, _address(w) + (MAX_PAYLOAD // w.word_bytes + 1).to_bytes(2, "little"))
        # a frame with a bad CRC that would have written weights
        bad = bytearray(host.protocol.request(
            Command.WRITE, _address(w) + (1).to_bytes(2, "little") + b"\x7f" * w.word_bytes))
        bad[-3] ^= 0x01   # a payload bit: the reply echoes the CRC field the host sent
        seen["bad_crc"] = (await host.exchange(bytes(bad))).status
        # an oversized frame: answered at once (echo 0), its payload left to the hunt
        await host.send(bytes([SOF, Command.WRITE, 9]) + (MAX_PAYLOAD + 1).to_bytes(2, "little"))
        replies = decode_frames(bytearray(await host.receive(100)), replies=True)
        seen["oversize"] = replies[0].code if len(replies) == 1 else replies
        # a truncated frame: dropped silently after the timeout, then the link works again
        host.protocol.request(Command.INFO)
        await host.send(encode_frame(Frame(Command.INFO, 3, b""))[:4])
        seen["truncated"] = await host.receive(FRAME_TIMEOUT_BYTES * 16 + 50)
        seen["after"] = await read_all(host, w)
        seen["before"] = before
        seen["status"] = dict(zip(regmap["status"].fields, await read_all(host, regmap["status"]),
                                  strict=True))

    run(core, bench)
    assert seen["unknown"] == Status.UNKNOWN_COMMAND
    assert seen["info_len"] == Status.BAD_LENGTH
    for key in ("no_region", "past_end", "write_ro", "read_push"):
        assert seen[key] == Status.BAD_ADDRESS, key
    for key in ("short_args", "not_whole", "read_too_long", "oversize"):
        assert seen[key] == Status.BAD_LENGTH, key
    assert seen["pop_empty"] == Status.BUSY
    assert seen["bad_crc"] == Status.BAD_CRC
    assert seen["truncated"] == b""
    assert seen["after"] == seen["before"]
    assert seen["status"]["bad_crc"] == 1
    assert seen["status"]["dropped"] == 1


def test_repeated_seq_is_answered_from_cache():
    """A retry (same seq, same frame) of a pop gets the same words; the data is popped once."""
    case = random_tile_case(3, max_rows=4, max_cols=6, batch=1)
    cfg = case.config
    core = LinkCore(TileFabric(cfg), divisor=None)
    regmap = core.regmap
    x, z = regmap["x"], regmap["z"]
    seen = {}

    async def bench(ctx):
        host = SimHost(ctx, core)
        await program(host, regmap, TileFabric.images(cfg, case.g))
        await host.write(x, 0, [pack(x.layout, int(v)) for v in case.x[0]])
        await host.receive(200)  # let the vector through
        first = await host.command(Command.READ, _address(z) + (1).to_bytes(2, "little"))
        again = await host.exchange(host.protocol.retry())
        seen["first"], seen["again"] = first, again
        rest, words = await host.read(z, 0, cfg.cols - 1)
        seen["rest"] = rest.status
        seen["over"] = (await host.read(z, 0, 1))[0].status

    run(core, bench)
    assert seen["first"].status == Status.OK and seen["again"].payload == seen["first"].payload
    assert seen["rest"] == Status.OK          # exactly cols - 1 words were left
    assert seen["over"] == Status.BUSY

