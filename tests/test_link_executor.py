# amaranth: UnusedElaboratable=no
"""The executor's parts (hdl/link.py) in amaranth.sim: CommandChecker, AccessSequencer,
ReplyBuilder, and the Executor that sequences them, against a real RegionDecoder.

The whole link (bytes in, bytes out, every error reply) is tested in tests/test_link.py; here each
part's verdicts, bytes and clock-exact latencies are checked as their docstrings state them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from spinemu.hdl.link import (
    ARG_BYTES,
    AccessSequencer,
    Action,
    CommandChecker,
    Executor,
    RegionDecoder,
    ReplyBuilder,
)
from spinemu.link.protocol import MAX_PAYLOAD, PROTOCOL_VERSION, Command, Status
from spinemu.link.regmap import Access, Region, RegisterMap, bytes_to_words, words_to_bytes
from spinemu.sim.testbench import random_pause, stream_get, stream_get_timed, stream_put

REGION_STATUSES = (Status.OK, Status.BAD_ADDRESS, Status.BUSY)


def simulate(dut, *benches, background=()):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in benches:
        sim.add_testbench(bench)
    for bench in background:
        sim.add_testbench(bench, background=True)
    sim.run()


# --- CommandChecker ----------------------------------------------------------------------------

def checker_verdict(cmd, length, count, word_bytes, region_status):
    """(action, status) in the order docs/link.md gives: lengths, region, BUSY, zero count."""
    if cmd == Command.INFO:
        return (Action.REPLY, Status.BAD_LENGTH) if length else (Action.INFO, None)
    if cmd not in (Command.WRITE, Command.READ):
        return Action.REPLY, Status.UNKNOWN_COMMAND
    data_bytes = count * word_bytes
    if length < ARG_BYTES:
        return Action.REPLY, Status.BAD_LENGTH
    if word_bytes == 0:
        return Action.REPLY, Status.BAD_ADDRESS
    if cmd == Command.WRITE and length != ARG_BYTES + data_bytes:
        return Action.REPLY, Status.BAD_LENGTH
    if cmd == Command.READ and (length != ARG_BYTES or data_bytes > MAX_PAYLOAD):
        return Action.REPLY, Status.BAD_LENGTH
    if region_status != Status.OK:
        return Action.REPLY, region_status
    if count == 0:
        return Action.REPLY, Status.OK
    return (Action.WRITE if cmd == Command.WRITE else Action.READ), None


def random_check(rng, max_word_bytes):
    """A command drawn so that every verdict is likely: lengths near the ones that pass, counts
    and word sizes over their whole ranges."""
    cmd = int(rng.choice([Command.INFO, Command.WRITE, Command.READ, Command.WRITE, Command.READ,
                          int(rng.integers(0, 256))]))
    word_bytes = int(rng.integers(0, max_word_bytes + 1))
    count = int(rng.choice([0, rng.integers(1, 8), rng.integers(0, 1 << 16)]))
    if rng.random() < 0.3:   # a read that just fits or just does not
        count = MAX_PAYLOAD // max(word_bytes, 1) + int(rng.integers(0, 2))
    exact = ARG_BYTES + (count * word_bytes if cmd == Command.WRITE else 0)
    length = int(rng.choice([exact, exact, exact + int(rng.integers(-2, 3)),
                             rng.integers(0, ARG_BYTES), rng.integers(0, 1 << 16)])) % (1 << 16)
    if cmd == Command.INFO and rng.random() < 0.5:
        length = 0
    status = REGION_STATUSES[int(rng.integers(0, 3))]
    return cmd, length, count, word_bytes, status


@pytest.mark.parametrize("max_word_bytes, seed", [(1, 0), (4, 1), (107, 2)])
def test_checker_verdicts_and_sample_clocks(max_word_bytes, seed):
    """Each command is checked as docs/link.md orders the checks; ``word_bytes`` is taken only
    one clock after ``start`` and ``region_status`` only two (garbage is driven around them);
    ``done`` pulses exactly three clocks after ``start``."""
    rng = np.random.default_rng(seed)
    dut = CommandChecker(max_word_bytes)
    cases = [random_check(rng, max_word_bytes) for _ in range(400)]
    got = []

    async def garbage(ctx):
        ctx.set(dut.word_bytes, int(rng.integers(0, 256)))
        ctx.set(dut.region_status, int(rng.choice([s for s in Status])))

    async def bench(ctx):
        for cmd, length, count, word_bytes, status in cases:
            await garbage(ctx)
            ctx.set(dut.cmd, cmd)
            ctx.set(dut.length, length)
            ctx.set(dut.count, count)
            ctx.set(dut.start, 1)
            done = [ctx.get(dut.done)]
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.word_bytes, word_bytes)          # one clock after start
            done.append(ctx.get(dut.done))
            await ctx.tick()
            await garbage(ctx)
            ctx.set(dut.region_status, status)           # two clocks after start
            done.append(ctx.get(dut.done))
            await ctx.tick()
            await garbage(ctx)
            done.append(ctx.get(dut.done))               # three clocks after start
            action = Action(ctx.get(dut.action))
            verdict = Status(ctx.get(dut.status)) if action == Action.REPLY else None
            got.append((action, verdict, ctx.get(dut.word_size), done))
            await ctx.tick()
            assert ctx.get(dut.done) == 0

    simulate(dut, bench)
    seen = set()
    for case, (action, verdict, word_size, done) in zip(cases, got, strict=True):
        expected = checker_verdict(*case)
        assert (action, verdict) == expected, (seed, max_word_bytes, case)
        assert word_size == case[3], case
        assert done == [0, 0, 0, 1], case
        seen.add(expected)
    # the random cases reached every verdict the checker can give
    assert seen == {(Action.INFO, None), (Action.WRITE, None), (Action.READ, None),
                    *((Action.REPLY, s) for s in Status if s != Status.BAD_CRC)}


def test_checker_rejects_no_word_bytes():
    with pytest.raises(ValueError, match=r"^max_word_bytes must be >= 1, not 0$"):
        CommandChecker(0)


# --- AccessSequencer ---------------------------------------------------------------------------

class BusModel:
    """A region behind the sequencer's bus: a write stream with random back-pressure, reads
    answered ``latency`` clocks after ``rreq`` (one at least) and held until taken; the
    request payload buffer with one clock of read latency; the reply buffer's writes."""

    def __init__(self, dut, rng, *, payload, stall=0.0, latency=(1, 1)):
        self.dut, self.rng, self.payload = dut, rng, payload
        self.stalls, self.latency = random_pause(rng, stall), latency
        self.words = {}          # index -> word written
        self.reply = {}          # reply buffer address -> byte
        self.reads = []          # indices read, in order

    def value(self, index):
        """The region's word at ``index``: random over the whole bus width."""
        raw = np.random.default_rng(index).bytes(self.dut.data_bits // 8)
        return int.from_bytes(raw, "little")

    async def writes(self, ctx):
        bus = self.dut.bus
        while True:
            ctx.set(bus.w.ready, not self.stalls())
            _, _, valid, ready, index, payload = await ctx.tick().sample(
                bus.w.valid, bus.w.ready, bus.index, bus.w.payload)
            if valid and ready:
                self.words[index] = payload

    async def reads_(self, ctx):
        bus = self.dut.bus
        while True:
            _, _, rreq, index = await ctx.tick().sample(bus.rreq, bus.index)
            if rreq:
                self.reads.append(index)
                extra = int(self.rng.integers(*self.latency, endpoint=True)) - 1
                if extra:
                    await ctx.tick().repeat(extra)
                ctx.set(bus.rdata.payload, self.value(index))
                ctx.set(bus.rdata.valid, 1)
                await ctx.tick().until(bus.rdata.ready)
                ctx.set(bus.rdata.valid, 0)

    async def buffers(self, ctx):
        dut = self.dut
        while True:
            _, _, addr, en, waddr, wdata = await ctx.tick().sample(
                dut.rd_addr, dut.reply.en, dut.reply.addr, dut.reply.data)
            ctx.set(dut.rd_data, self.payload[addr] if addr < len(self.payload) else 0xEE)
            if en:
                self.reply[waddr] = wdata

    @property
    def processes(self):
        return self.writes, self.reads_, self.buffers


async def run_access(ctx, dut, *, region, index, count, write, word_bytes):
    """Load and start one access; the clocks from ``start`` to ``done`` and ``length``."""
    ctx.set(dut.args, {"region": region, "index": index, "count": count})
    ctx.set(dut.write, write)
    ctx.set(dut.load, 1)
    await ctx.tick()
    ctx.set(dut.load, 0)
    loaded = [ctx.get(getattr(dut.bus, name)) for name in ("region", "index", "count", "write")]
    assert loaded == [region, index, count, write]
    ctx.set(dut.word_bytes, word_bytes)
    ctx.set(dut.start, 1)
    await ctx.tick()
    ctx.set(dut.start, 0)
    clocks = 1
    while True:
        _, _, done, length = await ctx.tick().sample(dut.done, dut.length)
        if done:
            return clocks, length
        clocks += 1
        assert clocks < 100_000, "the access never finished"


@pytest.mark.parametrize("data_bits", [8, 24, 856])
@pytest.mark.parametrize("write", [True, False])
def test_sequencer_moves_every_word_and_meets_its_timing(data_bits, write):
    """Bursts of random words at random indices: a WRITE puts the payload's words on ``bus.w``
    at consecutive indices (nothing above ``word_bytes``), a READ writes the region's words into
    the reply buffer from byte 0. Without stalls ``done`` comes ``count * (2 * word_bytes + 1)``
    (WRITE) or ``count * (word_bytes + 2)`` (READ, latency 1) clocks after ``start``; with
    stalls and slower reads the words are the same."""
    seed = data_bits + write
    rng = np.random.default_rng(seed)
    dut = AccessSequencer(data_bits)
    max_bytes = data_bits // 8
    plans = []
    for k in range(12):
        word_bytes = int(rng.integers(1, max_bytes + 1)) if k else max_bytes
        room = (MAX_PAYLOAD - ARG_BYTES if write else MAX_PAYLOAD) // word_bytes
        count = int(rng.integers(1, room + 1)) if k % 3 else room
        index = int(rng.integers(0, 1 << 23))
        words = [int.from_bytes(rng.bytes(word_bytes), "little") for _ in range(count)]
        stalled = k >= 6
        plans.append((word_bytes, count, index, words, stalled))
    model = BusModel(dut, rng, payload=b"")
    results = []

    async def bench(ctx):
        for word_bytes, count, index, words, stalled in plans:
            model.payload = bytes(ARG_BYTES) + words_to_bytes(words, word_bytes)
            model.words, model.reply, model.reads = {}, {}, []
            model.stalls = random_pause(rng, 0.4 if stalled else 0.0)
            model.latency = (1, 4) if stalled else (1, 1)
            clocks, length = await run_access(ctx, dut, region=int(rng.integers(0, 256)),
                                              index=index, count=count, write=write,
                                              word_bytes=word_bytes)
            await ctx.tick().repeat(2)   # the last reply byte is recorded
            end_index = ctx.get(dut.bus.index)
            results.append((clocks, length, dict(model.words), dict(model.reply),
                            list(model.reads), end_index))

    simulate(dut, bench, background=model.processes)
    slower = 0
    for (word_bytes, count, index, words, stalled), result in zip(plans, results, strict=True):
        clocks, length, written, reply, reads, end_index = result
        case = (seed, data_bits, word_bytes, count, index, stalled)
        indices = list(range(index, index + count))
        assert end_index == index + count, case
        if write:
            assert written == dict(zip(indices, words, strict=True)), case
            assert reply == {} and reads == [] and length == 0, case
        else:
            values = [model.value(i) & ((1 << 8 * word_bytes) - 1) for i in indices]
            assert reads == indices and written == {}, case
            assert sorted(reply) == list(range(count * word_bytes)), case
            assert bytes_to_words(bytes(reply[a] for a in sorted(reply)), word_bytes) == values
            assert length == count * word_bytes, case
        per_word = 2 * word_bytes + 1 if write else word_bytes + 2
        if stalled:
            slower += clocks > count * per_word
        else:
            assert clocks == count * per_word, case
    assert slower >= 3   # the stalls did hold the sequencer up


def test_sequencer_rejects_a_partial_byte():
    with pytest.raises(ValueError, match=r"^data_bits must be a positive multiple of 8, not 12$"):
        AccessSequencer(12)


# --- ReplyBuilder ------------------------------------------------------------------------------

async def read_buffer(ctx, dut, length):
    got = []
    for addr in range(length):
        ctx.set(dut.reply_addr, addr)
        await ctx.tick()
        got.append(ctx.get(dut.reply_data))
    return got


def test_builder_info_payload_and_writes():
    """``info`` writes the INFO bytes from 0 with ``info_done`` ``len(info)`` clocks later;
    ``w`` is ignored meanwhile and written otherwise."""
    rng = np.random.default_rng(5)
    info = [int(b) for b in rng.integers(0, 256, 11)]
    dut = ReplyBuilder(info)
    seen = {}

    async def bench(ctx):
        extra = [int(b) for b in rng.integers(0, 256, 20)]
        for addr, byte in enumerate(extra):       # bytes from the sequencer
            ctx.set(dut.w.en, 1)
            ctx.set(dut.w.addr, addr)
            ctx.set(dut.w.data, byte)
            await ctx.tick()
        ctx.set(dut.info, 1)
        await ctx.tick()
        ctx.set(dut.info, 0)
        done = []
        for k in range(len(info) + 2):            # a stray write every clock: ignored
            ctx.set(dut.w.addr, k)
            ctx.set(dut.w.data, 0x5A)
            done.append(ctx.get(dut.info_done))
            await ctx.tick()
        ctx.set(dut.w.en, 0)
        seen["done"] = done
        seen["buffer"] = await read_buffer(ctx, dut, len(extra))
        seen["extra"] = extra

    simulate(dut, bench)
    assert seen["done"] == [0] * (len(info) - 1) + [1, 0, 0]
    # the clock after info_done the sequencer's writes land again: bytes 11 and 12 are 0x5A
    expected = info + [0x5A, 0x5A] + seen["extra"][len(info) + 2:]
    assert seen["buffer"] == expected


def test_builder_holds_the_reply_and_caches_only_ok():
    """A finished reply is on ``reply`` the next clock and held (``finish`` not ready) until
    taken; a taken OK reply answers ``cached`` for its seq and echo only; a taken error reply
    leaves the cache as it was."""
    rng = np.random.default_rng(6)
    dut = ReplyBuilder([1])
    steps = []
    for _ in range(60):
        status = Status.OK if rng.random() < 0.4 else REGION_STATUSES[int(rng.integers(1, 3))]
        seq, echo = (steps[-1][:2] if steps and rng.random() < 0.4   # a retry
                     else (int(rng.integers(0, 4)), int(rng.integers(0, 4))))
        steps.append((seq, echo, status, int(rng.integers(0, MAX_PAYLOAD + 1))))
    observed = []

    async def bench(ctx):
        for seq, echo, status, length in steps:
            ctx.set(dut.seq, seq)
            ctx.set(dut.echo, echo)
            cached = (ctx.get(dut.cached), ctx.get(dut.cached_length))
            await stream_put(ctx, dut.finish, [{"status": status, "length": length}])
            held = []
            for _ in range(int(rng.integers(0, 3))):   # the sender is slow
                held.append((ctx.get(dut.reply.valid), ctx.get(dut.finish.ready)))
                await ctx.tick()
            (reply,), (tick,) = await stream_get_timed(ctx, dut.reply, 1)
            observed.append((cached, held, reply, tick))

    simulate(dut, bench)
    last = None
    for (seq, echo, status, length), (cached, held, reply, tick) in zip(steps, observed,
                                                                         strict=True):
        expected_cached = (last is not None and last[:2] == (seq, echo),
                           last[2] if last is not None else 0)
        assert cached == expected_cached, (seq, echo, last)
        assert all(h == (1, 0) for h in held)
        assert tick == 1
        assert (reply.status, reply.seq, reply.echo, reply.length) == (status, seq, echo, length)
        if status == Status.OK:
            last = (seq, echo, length)
    assert sum(c for (c, _), *_ in observed) >= 5   # repeats were seen


def test_builder_rejects_empty_info():
    with pytest.raises(ValueError, match=re.escape(f"info must be 1..{MAX_PAYLOAD} bytes")):
        ReplyBuilder([])


# --- Executor ----------------------------------------------------------------------------------

def executor_regmap():
    return RegisterMap("test", [
        Region("mem", 1, Access.RW, 16, 20, "a memory of 20-bit words (3 bytes)"),
        Region("out", 2, Access.POP, 8, 8, "an output stream"),
    ])


class ExecutorHarness(wiring.Component):
    """An Executor on a real RegionDecoder, the regions' ports exposed to the testbench."""

    def __init__(self, regmap):
        self.regmap = regmap
        self.executor = Executor(regmap)
        self.decoder = RegionDecoder(regmap)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.executor, m.submodules.decoder = self.executor, self.decoder
        wiring.connect(m, self.executor.bus, self.decoder.bus)
        return m


def test_executor_replies_at_the_documented_clock():
    """Every kind of reply, with its latency from ``frame.valid`` (Executor docstring): 1 for
    an oversized frame, a bad CRC or a repeat; 4 for a refused command; 4 + len(info) for
    INFO; 4 + the sequencer's clocks for READ and WRITE. Payloads and counters checked."""
    regmap = executor_regmap()
    top = ExecutorHarness(regmap)
    ex, dec = top.executor, top.decoder
    info = [PROTOCOL_VERSION, *MAX_PAYLOAD.to_bytes(2, "little"),
            *regmap.hash.to_bytes(4, "little")]
    rng = np.random.default_rng(8)
    words = [int(w) for w in rng.integers(0, 1 << 20, 3)]
    mem, fifo, popped = {}, [0x42], []

    def frame(cmd, seq, args=b"", data=b"", *, length=None, crc=None, crc_ok=1, oversize=0):
        payload = args + data
        return {"cmd": cmd, "seq": seq, "length": len(payload) if length is None else length,
                "crc": seq * 257 + cmd if crc is None else crc,
                "args": list((args + bytes(ARG_BYTES))[:ARG_BYTES]), "crc_ok": crc_ok,
                "oversize": oversize}, payload

    def access(region, index, count):
        return ((region << 24) | index).to_bytes(4, "little") + count.to_bytes(2, "little")

    info_frame = frame(Command.INFO, 1)
    pop_frame = frame(Command.READ, 12, access(2, 0, 1))
    # (frame, status, latency, payload or None)
    plan = [
        (info_frame, Status.OK, 4 + len(info), info),
        (info_frame, Status.OK, 1, info),                               # a repeat
        (frame(Command.INFO, 1, crc=9, crc_ok=0), Status.BAD_CRC, 1, None),
        (frame(Command.WRITE, 3, length=MAX_PAYLOAD + 1, oversize=1), Status.BAD_LENGTH, 1, None),
        (frame(Command.WRITE, 4, access(1, 2, 3), words_to_bytes(words, 3)), Status.OK,
         4 + 3 * (2 * 3 + 1), []),
        (frame(Command.READ, 5, access(1, 2, 3)), Status.OK, 4 + 3 * (3 + 2),
         list(words_to_bytes(words, 3))),
        (frame(Command.READ, 6, access(1, 15, 2)), Status.BAD_ADDRESS, 4, None),
        (frame(Command.READ, 7, access(2, 0, 2)), Status.BUSY, 4, None),
        (frame(0x7E, 8), Status.UNKNOWN_COMMAND, 4, None),
        (frame(Command.WRITE, 9, access(1, 0, 0)), Status.OK, 4, []),
        (frame(Command.INFO, 10, b"\x00"), Status.BAD_LENGTH, 4, None),
        (pop_frame, Status.OK, 4 + 1 * (1 + 2), [0x42]),
        (pop_frame, Status.OK, 1, [0x42]),                              # popped once
        (frame(Command.READ, 13, access(2, 0, 1)), Status.BUSY, 4, None),
    ]
    got = []

    async def frames(ctx):
        for (payload, _), *_ in plan:
            await stream_put(ctx, ex.frame, [payload])

    async def request_buffer(ctx):
        k = 0
        while True:
            _, _, addr, taken = await ctx.tick().sample(ex.rd_addr, ex.frame.ready)
            data = plan[k][0][1] if k < len(plan) else b""
            ctx.set(ex.rd_data, data[addr] if addr < len(data) else 0)
            k += taken

    async def regions(ctx):
        ctx.set(dec.mem.w.ready, 1)
        ctx.set(dec.out.ready, 1)
        while True:
            ctx.set(dec.out.level, len(fifo))
            _, _, w, index, word, rreq, rreq_out = await ctx.tick().sample(
                dec.mem.w.valid, dec.mem.index, dec.mem.w.payload, dec.mem.rreq, dec.out.rreq)
            if w:
                mem[index] = word
            ctx.set(dec.mem.rdata.valid, rreq)
            ctx.set(dec.mem.rdata.payload, mem.get(index, 0))
            ctx.set(dec.out.rdata.valid, rreq_out)
            popped.append(fifo.pop(0) if rreq_out and fifo else None)
            ctx.set(dec.out.rdata.payload, popped[-1] or 0)

    async def replies(ctx):
        for _ in plan:
            latency = 0
            while not ctx.get(ex.reply.valid):
                await ctx.tick()
                latency += 1
            length = ctx.get(ex.reply.payload.length)
            payload = await read_buffer(ctx, ex, length)
            (reply,) = await stream_get(ctx, ex.reply, 1)
            got.append((reply, latency, payload))
        got.append((ctx.get(ex.bad_crc), ctx.get(ex.executed)))

    simulate(top, frames, replies, background=(request_buffer, regions))
    counters = got.pop()
    for k, (((payload, _), status, latency, data), (reply, took, bytes_)) in enumerate(
            zip(plan, got, strict=True)):
        assert (reply.status, took) == (status, latency), (k, reply, took)
        assert (reply.seq, reply.echo) == (payload["seq"], payload["crc"]), k
        if data is not None:
            assert bytes_ == data and reply.length == len(data), (k, bytes_)
    assert mem == dict(zip(range(2, 5), words, strict=True))
    assert [p for p in popped if p is not None] == [0x42]   # the repeat did not pop again
    # one bad CRC; every frame but it, the oversized one and the two repeats ran
    assert counters == (1, len(plan) - 4)
