"""The host-link frame engine (DESIGN.md 4) and the region bus it drives.

Bytes in, bytes out: :class:`FrameEngine` parses request frames of
:mod:`spinemu.link.protocol`, runs them on a :class:`BusSignature` bus and sends the reply.
:class:`RegionDecoder` turns that bus into one port per region of a
:class:`~spinemu.link.regmap.RegisterMap`. The engine is three parts:

- :class:`FrameReceiver`: hunts for ``SOF``, buffers the payload, checks the CRC and the length,
  drops a frame that stalls for ``timeout`` clocks;
- :class:`Executor`: answers a frame (the cached reply for a repeated ``seq``, or runs the
  command on the bus into the reply buffer), from three parts: :class:`CommandChecker`,
  :class:`AccessSequencer` and :class:`ReplyBuilder`;
- :class:`FrameSender`: frames the reply and appends its CRC.
"""

from __future__ import annotations

from functools import reduce
from operator import xor

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, enum, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.link.protocol import (
    CRC_POLY,
    HEADER_BYTES,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    SOF,
    Command,
    Status,
)
from spinemu.link.regmap import INDEX_BITS, LEVEL_BITS, RegisterMap

__all__ = [
    "AccessSequencer", "Action", "BusSignature", "CommandChecker", "Executor", "FrameEngine",
    "FrameReceiver", "FrameSender", "RegionDecoder", "RegionSignature", "ReplyBuilder",
    "access_layout", "crc16_byte", "frame_layout", "reply_layout", "result_layout",
]

STATUS_SHAPE = unsigned(8)
#: Request arguments of READ and WRITE: address (4 bytes) and count (2 bytes).
ARG_BYTES = 6
#: Address bits of the request and reply payload buffers.
REPLY_ADDR_BITS = (MAX_PAYLOAD - 1).bit_length()


def _crc_shift8(value: int) -> int:
    """Eight bit steps of the CRC register (no input byte): the linear map the logic unrolls."""
    for _ in range(8):
        value = ((value << 1) ^ CRC_POLY if value & 0x8000 else value << 1) & 0xFFFF
    return value


def crc16_byte(crc, byte):
    """CRC-16/IBM-3740 after one more byte, as XOR logic.

    The update is linear over GF(2) in ``v = crc ^ byte << 8``: bit ``i`` of the result is the
    XOR of the bits ``j`` of ``v`` whose unit vector maps onto bit ``i``.
    """
    v = crc ^ (byte << 8)
    columns = [_crc_shift8(1 << j) for j in range(16)]
    return Cat(*(reduce(xor, [v[j] for j in range(16) if columns[j] >> i & 1], Const(0, 1))
                 for i in range(16)))


def frame_layout() -> data.StructLayout:
    """A received frame as the receiver hands it to the executor."""
    return data.StructLayout({
        "cmd": 8, "seq": 8, "length": 16, "crc": 16,
        "args": data.ArrayLayout(8, ARG_BYTES),
        "crc_ok": 1, "oversize": 1,
    })


def access_layout() -> data.StructLayout:
    """The arguments of READ and WRITE, as their :data:`ARG_BYTES` bytes arrive (``args`` of
    :func:`frame_layout`): the address ``region << 24 | index`` and the count, little-endian."""
    return data.StructLayout({"index": INDEX_BITS, "region": 8, "count": 16})


def reply_layout() -> data.StructLayout:
    """A reply's header as the executor hands it to the sender."""
    return data.StructLayout({"status": STATUS_SHAPE, "seq": 8, "echo": 16, "length": 16})


def result_layout() -> data.StructLayout:
    """The outcome of a command: the reply's status and payload length."""
    return data.StructLayout({"status": STATUS_SHAPE, "length": 16})


class BusSignature(wiring.Signature):
    """The executor's access to regions (initiator side).

    ``region``, ``index``, ``count`` and ``write`` describe the access and stay put while it
    runs; ``word_bytes`` answers them combinationally, ``status`` (OK, BAD_ADDRESS or BUSY)
    one clock later.
    A write sends ``count`` words on ``w``, ``index`` advancing after each; a read pulses
    ``rreq`` for the word at ``index`` and waits for ``rdata``.
    """

    def __init__(self, data_bits: int):
        super().__init__({
            "region": Out(8), "index": Out(INDEX_BITS), "count": Out(16), "write": Out(1),
            "status": In(STATUS_SHAPE), "word_bytes": In(8),
            "w": Out(stream.Signature(unsigned(data_bits))),
            "rreq": Out(1),
            "rdata": In(stream.Signature(unsigned(data_bits))),
        })


class RegionSignature(wiring.Signature):
    """One region's port (decoder side): writes and read requests out, read data and state in.

    ``ready`` low makes the decoder answer BUSY (nothing is done); ``level`` is a stream region's
    room (push) or data waiting (pop), in words.
    """

    def __init__(self, word_bits: int):
        super().__init__({
            "index": Out(INDEX_BITS),
            "w": Out(stream.Signature(unsigned(word_bits))),
            "rreq": Out(1),
            "rdata": In(stream.Signature(unsigned(word_bits))),
            "ready": In(1, init=1),
            "level": In(LEVEL_BITS),
        })


class RegionDecoder(wiring.Component):
    """Bus to one :class:`RegionSignature` port per region of ``regmap``, named as the region.

    Checks an access: an unknown region, a write to a read-only region or a read of a push
    stream, an index range past a memory's depth, a stream index other than 0 give BAD_ADDRESS;
    a region not ``ready``, or a stream count over its ``level``, gives BUSY. ``bus.status`` is
    registered: it answers the bus fields (and the regions' ``ready`` and ``level``) of the
    clock before, so that the check is not one combinational path with the engine's own logic.
    """

    def __init__(self, regmap: RegisterMap):
        self._regmap = regmap
        super().__init__({
            "bus": In(BusSignature(regmap.data_bits)),
            **{r.name: Out(RegionSignature(r.word_bits)) for r in regmap.regions},
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        status = Signal(STATUS_SHAPE)
        m.d.sync += bus.status.eq(status)
        m.d.comb += [status.eq(Status.BAD_ADDRESS), bus.rdata.valid.eq(0)]
        for region in self._regmap.regions:
            port = getattr(self, region.name)
            acc = region.access
            m.d.comb += [port.index.eq(bus.index), port.w.payload.eq(bus.w.payload),
                         port.rdata.ready.eq(bus.rdata.ready)]
            if acc.stream:
                in_range = (bus.index == 0) & (bus.count <= port.level)
                fits = bus.index == 0
            else:
                in_range = fits = bus.index + bus.count <= region.depth
            allowed = Mux(bus.write, acc.writable, acc.readable)
            with m.If(bus.region == region.id):
                m.d.comb += [
                    bus.word_bytes.eq(region.word_bytes),
                    status.eq(Mux(~allowed | ~fits, Status.BAD_ADDRESS,
                                  Mux(port.ready & in_range, Status.OK, Status.BUSY))),
                    port.w.valid.eq(bus.w.valid), bus.w.ready.eq(port.w.ready),
                    port.rreq.eq(bus.rreq),
                    bus.rdata.valid.eq(port.rdata.valid), bus.rdata.payload.eq(port.rdata.payload),
                ]
        return m


class FrameReceiver(wiring.Component):
    """Request frames from a byte stream.

    Members
    -------
    i : In(stream.Signature(8))
        Bytes from the host. Not ready while a frame waits in ``frame``.
    frame : Out(stream.Signature(frame_layout()))
        One per frame: header, the first :data:`ARG_BYTES` payload bytes, CRC verdict, and
        ``oversize`` (length over ``MAX_PAYLOAD``: handed on at once after the header, its
        payload left to the hunt for the next ``SOF``). The payload stays in the buffer until
        ``frame`` is taken.
    rd_addr : In(range(MAX_PAYLOAD)), rd_data : Out(8)
        The payload buffer, read one clock after ``rd_addr``.
    dropped : Out(32)
        Frames dropped because no byte came for ``timeout`` clocks mid-frame.
    """

    def __init__(self, timeout: int):
        self._timeout = timeout
        super().__init__({
            "i": In(stream.Signature(unsigned(8))),
            "frame": Out(stream.Signature(frame_layout())),
            "rd_addr": In(range(MAX_PAYLOAD)), "rd_data": Out(8),
            "dropped": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.buf = buf = memory.Memory(shape=8, depth=MAX_PAYLOAD, init=[])
        wr, rd = buf.write_port(), buf.read_port()
        m.d.comb += [rd.addr.eq(self.rd_addr), self.rd_data.eq(rd.data)]

        f = self.frame.payload
        crc = Signal(16)
        pos = Signal(range(MAX_PAYLOAD + 2))
        idle = Signal(range(self._timeout + 1))
        byte = self.i.payload
        take = self.i.valid & self.i.ready
        m.d.comb += [wr.addr.eq(pos), wr.data.eq(byte)]
        with m.If(self.frame.ready):
            m.d.sync += self.frame.valid.eq(0)

        stalled = Signal()
        m.d.comb += [self.i.ready.eq(~self.frame.valid),
                     stalled.eq((idle == self._timeout) & ~take)]
        with m.FSM() as fsm:
            with m.State("HUNT"):
                with m.If(take & (byte == SOF)):
                    m.d.sync += [crc.eq(0xFFFF), pos.eq(0), f.crc.eq(0), f.crc_ok.eq(0),
                                 f.oversize.eq(0)]
                    m.next = "HEADER"
            with m.State("HEADER"):
                with m.If(take):
                    m.d.sync += [crc.eq(crc16_byte(crc, byte)), pos.eq(pos + 1)]
                    with m.Switch(pos):
                        for k, field in enumerate([f.cmd, f.seq, f.length[:8], f.length[8:]]):
                            with m.Case(k):
                                m.d.sync += field.eq(byte)
                    with m.If(pos == HEADER_BYTES - 1):
                        m.d.sync += pos.eq(0)
                        length = byte << 8 | f.length[:8]
                        with m.If(length > MAX_PAYLOAD):
                            m.d.sync += [f.oversize.eq(1), self.frame.valid.eq(1)]
                            m.next = "HUNT"
                        with m.Elif(length == 0):
                            m.next = "CRC"
                        with m.Else():
                            m.next = "PAYLOAD"
                with m.If(stalled):
                    m.next = "HUNT"
            with m.State("PAYLOAD"):
                m.d.comb += wr.en.eq(take)
                with m.If(take):
                    m.d.sync += [crc.eq(crc16_byte(crc, byte)), pos.eq(pos + 1)]
                    with m.If(pos < ARG_BYTES):
                        m.d.sync += f.args[pos[:3]].eq(byte)
                    with m.If(pos == f.length - 1):
                        m.d.sync += pos.eq(0)
                        m.next = "CRC"
                with m.If(stalled):
                    m.next = "HUNT"
            with m.State("CRC"):
                with m.If(take):
                    m.d.sync += pos.eq(pos + 1)
                    with m.If(pos == 0):
                        m.d.sync += f.crc[8:].eq(byte)
                    with m.Else():
                        m.d.sync += [f.crc[:8].eq(byte), self.frame.valid.eq(1),
                                     f.crc_ok.eq((f.crc[8:] == crc[8:]) & (byte == crc[:8]))]
                        m.next = "HUNT"
                with m.If(stalled):
                    m.next = "HUNT"
        # a frame that stops arriving is dropped; the hunt starts again
        with m.If(fsm.ongoing("HUNT") | take):
            m.d.sync += idle.eq(0)
        with m.Elif(stalled):
            m.d.sync += [idle.eq(0), self.dropped.eq(self.dropped + 1)]
        with m.Else():
            m.d.sync += idle.eq(idle + 1)
        return m


class Action(enum.Enum, shape=2):
    """What the executor does with a checked command (:attr:`CommandChecker.action`)."""

    REPLY = 0   #: reply at once with the checker's ``status`` and no payload
    INFO = 1    #: write the INFO payload (:class:`ReplyBuilder`), reply OK
    WRITE = 2   #: run the access on the bus (:class:`AccessSequencer`), reply OK
    READ = 3    #: run the access on the bus, reply OK with the words read


class CommandChecker(wiring.Component):
    """Checks a command whole before anything runs, in the order of docs/link.md ("Commands"):
    the frame's lengths, then the region's verdict from the bus, then a zero count.

    Parameters
    ----------
    max_word_bytes : int
        Bytes of the widest word (the bus's ``data_bits // 8``), >= 1: sizes the length product.

    Members
    -------
    start : In(1)
        Pulse with a command to check, in the clock its access is loaded onto the bus. ``cmd``,
        ``length`` and ``count`` are held from then until ``done``.
    cmd : In(8), length : In(16)
        The request's command and payload length.
    count : In(16)
        Words to access (READ, WRITE).
    word_bytes : In(8)
        The bus's bytes per word of the addressed region (0: no such region), sampled one clock
        after ``start``.
    region_status : In(STATUS_SHAPE)
        The bus's verdict on the access (OK, BAD_ADDRESS, BUSY), sampled two clocks after
        ``start`` (the region decoder registers it one clock after the access is loaded).
    done : Out(1)
        Pulses three clocks after ``start``.
    action : Out(Action), status : Out(STATUS_SHAPE)
        The verdict, valid with ``done`` and held until the next ``start``: ``REPLY`` with an
        error status (or OK for a zero ``count``), or the action to run.
    word_size : Out(8)
        ``word_bytes`` as sampled, held until the next check: the bytes per word of the access.

    Both samples are registers so that neither the decoder nor the product ``count * word_bytes``
    shares a combinational path with the checks.
    """

    def __init__(self, max_word_bytes: int):
        if max_word_bytes < 1:
            raise ValueError(f"max_word_bytes must be >= 1, not {max_word_bytes}")
        self._max_word_bytes = max_word_bytes
        super().__init__({
            "start": In(1), "cmd": In(8), "length": In(16), "count": In(16),
            "word_bytes": In(8), "region_status": In(STATUS_SHAPE),
            "done": Out(1), "action": Out(Action), "status": Out(STATUS_SHAPE),
            "word_size": Out(8),
        })

    @property
    def max_word_bytes(self) -> int:
        return self._max_word_bytes

    def elaborate(self, platform):
        m = Module()
        stage = Signal(3)   # start, one, two and three clocks ago
        verdict = Signal(STATUS_SHAPE)
        wants = Signal(range(ARG_BYTES + (1 << 16) * self._max_word_bytes + 1))
        m.d.sync += stage.eq(Cat(self.start, stage[:2]))
        with m.If(stage[0]):
            m.d.sync += self.word_size.eq(self.word_bytes)
        with m.If(stage[1]):
            m.d.sync += [verdict.eq(self.region_status),
                         wants.eq(ARG_BYTES + self.count * self.word_size)]
        m.d.comb += self.done.eq(stage[2])

        def reply(status):
            m.d.comb += [self.action.eq(Action.REPLY), self.status.eq(status)]

        write, length = self.cmd == Command.WRITE, self.length
        with m.Switch(self.cmd):
            with m.Case(Command.INFO):
                with m.If(length != 0):
                    reply(Status.BAD_LENGTH)
                with m.Else():
                    m.d.comb += self.action.eq(Action.INFO)
            with m.Case(Command.WRITE, Command.READ):
                # the frame's own lengths first, then the region's verdict
                with m.If(length < ARG_BYTES):
                    reply(Status.BAD_LENGTH)
                with m.Elif(self.word_size == 0):
                    reply(Status.BAD_ADDRESS)
                with m.Elif(write & (length != wants)):
                    reply(Status.BAD_LENGTH)
                with m.Elif(~write & ((length != ARG_BYTES) | (wants > MAX_PAYLOAD + ARG_BYTES))):
                    reply(Status.BAD_LENGTH)
                with m.Elif(verdict != Status.OK):
                    reply(verdict)
                with m.Elif(self.count == 0):
                    reply(Status.OK)
                with m.Else():
                    m.d.comb += self.action.eq(Mux(write, Action.WRITE, Action.READ))
            with m.Default():
                reply(Status.UNKNOWN_COMMAND)
        return m


class AccessSequencer(wiring.Component):
    """Runs a checked READ or WRITE on the bus: a burst of ``count`` words from ``index`` on (a
    memory's consecutive words, or ``count`` pushes or pops of a stream region at index 0).

    Parameters
    ----------
    data_bits : int
        Bus width, a positive multiple of 8 (the register map's ``data_bits``).

    Members
    -------
    args : In(access_layout())
        The command's arguments: region, index and count.
    write : In(1)
        The access is a WRITE (else a READ).
    load : In(1)
        Latch ``args`` and ``write`` onto ``bus``; the bus's answers (``word_bytes``,
        ``status``) follow from the next clock on.
    start : In(1)
        Run the loaded access (``count`` >= 1), while idle; ``word_bytes`` is held until ``done``.
    word_bytes : In(8)
        Bytes per word of the region, 1 .. ``data_bits // 8``.
    done : Out(1)
        High in the clock the last word completes, with ``length``; idle from the next clock.
    length : Out(range(MAX_PAYLOAD + 1))
        Reply payload bytes: ``count * word_bytes`` for a READ, 0 for a WRITE.
    bus : Out(BusSignature(data_bits))
        ``index`` advances after each word.
    rd_addr : Out(range(MAX_PAYLOAD)), rd_data : In(8)
        The request payload buffer (read latency one clock): a WRITE's words from byte
        :data:`ARG_BYTES` on.
    reply : In(memory.WritePort.Signature(addr_width=8, shape=8))
        Writes a READ's words into the reply buffer from byte 0 (the memory's signature, flipped:
        driven here).

    Timing, from ``start`` in clock ``s``: a WRITE word is fetched in ``2 * word_bytes`` clocks
    and offered on ``bus.w`` until taken (``w.valid`` first in clock ``s + 1 + 2 * word_bytes``);
    a READ word pulses ``rreq`` (first in clock ``s + 1``), waits for ``rdata`` (the region's
    latency, one clock at least) and writes a byte per clock. ``done`` comes with the last
    ``w`` transfer, or with the last byte written.
    """

    def __init__(self, data_bits: int):
        if data_bits < 8 or data_bits % 8:
            raise ValueError(f"data_bits must be a positive multiple of 8, not {data_bits}")
        self._data_bits = data_bits
        super().__init__({
            "args": In(access_layout()), "write": In(1), "load": In(1), "start": In(1),
            "word_bytes": In(8),
            "done": Out(1), "length": Out(range(MAX_PAYLOAD + 1)),
            "bus": Out(BusSignature(data_bits)),
            "rd_addr": Out(range(MAX_PAYLOAD)), "rd_data": In(8),
            "reply": In(memory.WritePort.Signature(addr_width=REPLY_ADDR_BITS, shape=8)),
        })

    @property
    def data_bits(self) -> int:
        return self._data_bits

    def elaborate(self, platform):
        m = Module()
        bus, args = self.bus, self.args
        lanes = self._data_bits // 8
        # A WRITE fills ``word`` byte lane by byte lane, the lane named by the one-hot ``lane``;
        # a READ shifts ``word`` down a byte per reply byte. A byte counter and a byte
        # multiplexer instead fanned the counter out to every lane of a bus hundreds of bytes
        # wide (a p-bit core's 855-bit words), which was the most congested net of its build.
        word = Signal(self._data_bits)
        lane = Signal(lanes, init=1)
        byte = Signal(range(lanes))                  # bytes of the word done
        ptr = Signal(range(MAX_PAYLOAD + 1))         # next request byte / next reply byte
        left = Signal(16)
        last_byte = byte == self.word_bytes - 1
        m.d.comb += [self.rd_addr.eq(ptr), self.reply.addr.eq(ptr), bus.w.payload.eq(word),
                     self.reply.data.eq(word[:8])]
        with m.If(self.load):
            m.d.sync += [bus.region.eq(args.region), bus.index.eq(args.index),
                         bus.count.eq(args.count), bus.write.eq(self.write)]

        def done(length=0):
            m.d.comb += [self.done.eq(1), self.length.eq(length)]
            m.next = "IDLE"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [byte.eq(0), lane.eq(1), word.eq(0), left.eq(bus.count)]
                    with m.If(bus.write):
                        m.d.sync += ptr.eq(ARG_BYTES)
                        m.next = "W_FETCH"
                    with m.Else():
                        m.d.sync += ptr.eq(0)
                        m.next = "R_REQ"
            with m.State("W_FETCH"):   # payload byte at ptr arrives next clock
                m.next = "W_BYTE"
            with m.State("W_BYTE"):
                for k in range(lanes):
                    with m.If(lane[k]):
                        m.d.sync += word[8 * k: 8 * k + 8].eq(self.rd_data)
                m.d.sync += [ptr.eq(ptr + 1), byte.eq(byte + 1), lane.eq(lane.rotate_left(1))]
                m.next = "W_FETCH"
                with m.If(last_byte):
                    m.d.sync += [byte.eq(0), lane.eq(1)]
                    m.next = "W_PUSH"
            with m.State("W_PUSH"):
                m.d.comb += bus.w.valid.eq(1)
                with m.If(bus.w.ready):
                    m.d.sync += [bus.index.eq(bus.index + 1), left.eq(left - 1), word.eq(0)]
                    m.next = "W_FETCH"
                    with m.If(left == 1):
                        done()
            with m.State("R_REQ"):
                m.d.comb += bus.rreq.eq(1)
                m.next = "R_WAIT"
            with m.State("R_WAIT"):
                m.d.comb += bus.rdata.ready.eq(1)
                with m.If(bus.rdata.valid):
                    m.d.sync += word.eq(bus.rdata.payload)
                    m.next = "R_BYTE"
            with m.State("R_BYTE"):
                m.d.comb += self.reply.en.eq(1)
                m.d.sync += [ptr.eq(ptr + 1), byte.eq(byte + 1), word.eq(word[8:])]
                with m.If(last_byte):
                    m.d.sync += [byte.eq(0), bus.index.eq(bus.index + 1), left.eq(left - 1)]
                    m.next = "R_REQ"
                    with m.If(left == 1):
                        done(ptr + 1)
        return m


class ReplyBuilder(wiring.Component):
    """Holds the reply: its payload in the reply buffer, its header on ``reply`` until the sender
    takes it, and the last reply sent OK, for a repeated frame.

    Parameters
    ----------
    info : sequence of int
        The INFO reply payload, 1 .. :data:`MAX_PAYLOAD` bytes.

    Members
    -------
    seq : In(8), echo : In(16)
        The frame being answered (its seq and CRC field), held until its reply is taken.
    cached : Out(1), cached_length : Out(16)
        The frame repeats the last one answered OK (same ``seq`` and ``echo``), and that reply's
        payload length: the payload is still in the buffer. Combinational.
    w : Out(memory.WritePort.Signature(addr_width=8, shape=8))
        Payload bytes into the reply buffer (:class:`AccessSequencer`), while no INFO payload is
        being written.
    info : In(1)
        Pulse: write the INFO payload into the buffer from byte 0, one byte per clock from the
        next clock on.
    info_done : Out(1)
        High in the clock the INFO payload's last byte is written, ``len(info)`` clocks after
        ``info``.
    finish : In(stream.Signature(result_layout()))
        The reply's status and payload length; ready while no reply is held. On ``reply`` the
        next clock, with ``seq`` and ``echo``.
    reply : Out(stream.Signature(reply_layout()))
        Held until taken. Taking an OK reply makes it the cached one.
    reply_addr : In(range(MAX_PAYLOAD)), reply_data : Out(8)
        The reply buffer, read one clock after ``reply_addr``.
    """

    def __init__(self, info):
        self._info = tuple(int(b) for b in info)
        if not 1 <= len(self._info) <= MAX_PAYLOAD or not all(0 <= b < 256 for b in self._info):
            raise ValueError(f"info must be 1..{MAX_PAYLOAD} bytes, not {list(self._info)}")
        super().__init__({
            "seq": In(8), "echo": In(16), "cached": Out(1), "cached_length": Out(16),
            "w": Out(memory.WritePort.Signature(addr_width=REPLY_ADDR_BITS, shape=8)),
            "info": In(1), "info_done": Out(1),
            "finish": In(stream.Signature(result_layout())),
            "reply": Out(stream.Signature(reply_layout())),
            "reply_addr": In(range(MAX_PAYLOAD)), "reply_data": Out(8),
        })

    @property
    def info_bytes(self) -> tuple[int, ...]:
        return self._info

    def elaborate(self, platform):
        m = Module()
        m.submodules.buf = buf = memory.Memory(shape=8, depth=MAX_PAYLOAD, init=[])
        wr, rd = buf.write_port(), buf.read_port()
        m.d.comb += [rd.addr.eq(self.reply_addr), self.reply_data.eq(rd.data)]

        info, pos, writing = self._info, Signal(range(len(self._info))), Signal()
        with m.If(self.info):
            m.d.sync += [writing.eq(1), pos.eq(0)]
        with m.If(writing):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(pos)]
            with m.Switch(pos):
                for k, value in enumerate(info):
                    with m.Case(k):
                        m.d.comb += wr.data.eq(value)
            m.d.sync += pos.eq(pos + 1)
            with m.If(pos == len(info) - 1):
                m.d.comb += self.info_done.eq(1)
                m.d.sync += writing.eq(0)
        with m.Else():
            m.d.comb += [wr.en.eq(self.w.en), wr.addr.eq(self.w.addr), wr.data.eq(self.w.data)]

        r, done = self.reply.payload, self.finish.payload
        last = Signal(data.StructLayout({"seq": 8, "echo": 16, "length": 16, "valid": 1}))
        m.d.comb += [self.finish.ready.eq(~self.reply.valid),
                     self.cached.eq(last.valid & (last.seq == self.seq) & (last.echo == self.echo)),
                     self.cached_length.eq(last.length)]
        with m.If(self.finish.valid & self.finish.ready):
            m.d.sync += [r.status.eq(done.status), r.length.eq(done.length), r.seq.eq(self.seq),
                         r.echo.eq(self.echo), self.reply.valid.eq(1)]
        with m.If(self.reply.valid & self.reply.ready):
            m.d.sync += self.reply.valid.eq(0)
            with m.If(r.status == Status.OK):
                m.d.sync += [last.seq.eq(r.seq), last.echo.eq(r.echo), last.length.eq(r.length),
                             last.valid.eq(1)]
        return m


class Executor(wiring.Component):
    """Answers received frames: runs a command on the bus, or repeats the cached reply.

    Three parts, each with its own tests: :class:`CommandChecker` (lengths and the bus's
    verdict), :class:`AccessSequencer` (the words of a READ or WRITE on the bus) and
    :class:`ReplyBuilder` (the reply buffer, the INFO payload, the reply and the cache); this
    component sequences them.

    Parameters
    ----------
    regmap : RegisterMap
        Gives the bus width and the hash sent by ``INFO``.

    Members
    -------
    frame : In(stream.Signature(frame_layout()))
        Taken once its reply has been handed to ``reply`` (the payload buffer is read until then).
    rd_addr : Out(range(MAX_PAYLOAD)), rd_data : In(8)
        The request payload buffer (read latency one clock).
    bus : Out(BusSignature(regmap.data_bits))
    reply : Out(stream.Signature(reply_layout()))
        Status, seq and payload length of the reply; the payload is in the reply buffer.
    reply_addr : In(range(MAX_PAYLOAD)), reply_data : Out(8)
        The reply buffer, read one clock after ``reply_addr``.
    bad_crc, executed : Out(32)
        Frames refused for their CRC; commands run (cached repeats not counted).

    Latency, from ``frame.valid`` in clock ``t``: ``reply.valid`` in clock ``t + 1`` for an
    oversized frame, a bad CRC or a repeat; ``t + 4`` for a command refused by the checks (or a
    zero count); ``t + 4 + len(info)`` for INFO; one clock after the sequencer's ``done`` for a
    READ or WRITE (about ``word_bytes + 2`` clocks per word plus the region's latency).
    Only OK replies are cached: a command refused (BUSY, BAD_ADDRESS, ...) changed nothing and
    runs again when repeated.
    """

    def __init__(self, regmap: RegisterMap):
        self._regmap = regmap
        super().__init__({
            "frame": In(stream.Signature(frame_layout())),
            "rd_addr": Out(range(MAX_PAYLOAD)), "rd_data": In(8),
            "bus": Out(BusSignature(regmap.data_bits)),
            "reply": Out(stream.Signature(reply_layout())),
            "reply_addr": In(range(MAX_PAYLOAD)), "reply_data": Out(8),
            "bad_crc": Out(32), "executed": Out(32),
        })

    def _info_bytes(self) -> list[int]:
        return [PROTOCOL_VERSION, *MAX_PAYLOAD.to_bytes(2, "little"),
                *self._regmap.hash.to_bytes(4, "little")]

    def elaborate(self, platform):
        m = Module()
        info = self._info_bytes()
        m.submodules.check = check = CommandChecker(self._regmap.data_bits // 8)
        m.submodules.access = access = AccessSequencer(self._regmap.data_bits)
        m.submodules.builder = builder = ReplyBuilder(info)
        f, bus = self.frame.payload, self.bus
        wiring.connect(m, access.bus, wiring.flipped(bus))
        wiring.connect(m, access.reply, builder.w)
        wiring.connect(m, builder.reply, wiring.flipped(self.reply))
        m.d.comb += [
            self.rd_addr.eq(access.rd_addr), access.rd_data.eq(self.rd_data),
            builder.reply_addr.eq(self.reply_addr), self.reply_data.eq(builder.reply_data),
            access.args.eq(f.args.as_value()), access.write.eq(f.cmd == Command.WRITE),
            access.word_bytes.eq(check.word_size),
            check.cmd.eq(f.cmd), check.length.eq(f.length), check.count.eq(bus.count),
            check.word_bytes.eq(bus.word_bytes), check.region_status.eq(bus.status),
            builder.seq.eq(f.seq), builder.echo.eq(f.crc),
        ]

        def finish(status, length=0):
            m.d.comb += [builder.finish.valid.eq(1), builder.finish.payload.status.eq(status),
                         builder.finish.payload.length.eq(length)]
            m.next = "REPLY"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.frame.valid):
                    m.d.comb += access.load.eq(1)
                    with m.If(f.oversize):
                        finish(Status.BAD_LENGTH)
                    with m.Elif(~f.crc_ok):
                        m.d.sync += self.bad_crc.eq(self.bad_crc + 1)
                        finish(Status.BAD_CRC)
                    with m.Elif(builder.cached):
                        finish(Status.OK, builder.cached_length)
                    with m.Else():
                        m.d.sync += self.executed.eq(self.executed + 1)
                        m.d.comb += check.start.eq(1)
                        m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(check.done):
                    with m.Switch(check.action):
                        with m.Case(Action.REPLY):
                            finish(check.status)
                        with m.Case(Action.INFO):
                            m.d.comb += builder.info.eq(1)
                            m.next = "INFO"
                        with m.Default():
                            m.d.comb += access.start.eq(1)
                            m.next = "ACCESS"
            with m.State("INFO"):
                with m.If(builder.info_done):
                    finish(Status.OK, len(info))
            with m.State("ACCESS"):
                with m.If(access.done):
                    finish(Status.OK, access.length)
            with m.State("REPLY"):   # the reply is held until taken, then the frame is
                m.d.comb += self.frame.ready.eq(self.reply.ready)
                with m.If(self.reply.ready):
                    m.next = "IDLE"
        return m


class FrameSender(wiring.Component):
    """Reply frames onto a byte stream.

    Members
    -------
    reply : In(stream.Signature(reply_layout()))
        Taken when the frame's last byte has been sent.
    addr : Out(range(MAX_PAYLOAD)), data : In(8)
        The reply buffer (read latency one clock).
    o : Out(stream.Signature(8))
        ``SOF``, status, seq, echo (2), length (2), payload, CRC (2): one byte per clock at most; a
        payload byte takes two clocks (buffer read, then send).
    """

    def __init__(self):
        super().__init__({
            "reply": In(stream.Signature(reply_layout())),
            "addr": Out(range(MAX_PAYLOAD)), "data": In(8),
            "o": Out(stream.Signature(unsigned(8))),
        })

    def elaborate(self, platform):
        m = Module()
        r = self.reply.payload
        crc = Signal(16)
        pos = Signal(range(MAX_PAYLOAD + 1))
        byte = Signal(8)
        sent = self.o.valid & self.o.ready
        m.d.comb += [self.o.payload.eq(byte), self.addr.eq(pos)]

        def send(value, next_state, checked=True):
            m.d.comb += [byte.eq(value), self.o.valid.eq(1)]
            with m.If(self.o.ready):
                m.next = next_state
                if checked:
                    m.d.sync += crc.eq(crc16_byte(crc, value))

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.reply.valid):
                    m.next = "SOF"
            with m.State("SOF"):
                send(SOF, "STATUS", checked=False)
                m.d.sync += [crc.eq(0xFFFF), pos.eq(0)]
            with m.State("STATUS"):
                send(r.status, "SEQ")
            with m.State("SEQ"):
                send(r.seq, "ECHO1")
            with m.State("ECHO1"):
                send(r.echo[8:], "ECHO0")
            with m.State("ECHO0"):
                send(r.echo[:8], "LEN0")
            with m.State("LEN0"):
                send(r.length[:8], "LEN1")
            with m.State("LEN1"):
                send(r.length[8:], "FETCH")
                with m.If((r.length == 0) & self.o.ready):
                    m.next = "CRC1"
            with m.State("FETCH"):
                m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                send(self.data, "FETCH")
                with m.If(sent):
                    m.d.sync += pos.eq(pos + 1)
                    with m.If(pos == r.length - 1):
                        m.next = "CRC1"
            with m.State("CRC1"):
                send(crc[8:], "CRC0", checked=False)
            with m.State("CRC0"):
                send(crc[:8], "IDLE", checked=False)
                m.d.comb += self.reply.ready.eq(self.o.ready)
        return m


class FrameEngine(wiring.Component):
    """Requests in, replies out: :class:`FrameReceiver`, :class:`Executor`, :class:`FrameSender`.

    Parameters
    ----------
    regmap : RegisterMap
    timeout : int
        Clocks without a byte after which a frame being received is dropped.

    Members
    -------
    i : In(stream.Signature(8)), o : Out(stream.Signature(8))
        Request bytes in, reply bytes out.
    bus : Out(BusSignature(regmap.data_bits))
    bad_crc, dropped, executed : Out(32)
        Counters (wrap): frames refused for their CRC, frames dropped by the timeout, commands
        run.
    """

    def __init__(self, regmap: RegisterMap, *, timeout: int):
        self._regmap, self._timeout = regmap, timeout
        super().__init__({
            "i": In(stream.Signature(unsigned(8))), "o": Out(stream.Signature(unsigned(8))),
            "bus": Out(BusSignature(regmap.data_bits)),
            "bad_crc": Out(32), "dropped": Out(32), "executed": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.rx = rx = FrameReceiver(self._timeout)
        m.submodules.ex = ex = Executor(self._regmap)
        m.submodules.tx = tx = FrameSender()
        wiring.connect(m, wiring.flipped(self.i), rx.i)
        wiring.connect(m, rx.frame, ex.frame)
        wiring.connect(m, ex.reply, tx.reply)
        wiring.connect(m, tx.o, wiring.flipped(self.o))
        wiring.connect(m, ex.bus, wiring.flipped(self.bus))
        m.d.comb += [rx.rd_addr.eq(ex.rd_addr), ex.rd_data.eq(rx.rd_data),
                     ex.reply_addr.eq(tx.addr), tx.data.eq(ex.reply_data),
                     self.bad_crc.eq(ex.bad_crc), self.dropped.eq(rx.dropped),
                     self.executed.eq(ex.executed)]
        return m
