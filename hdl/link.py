"""The host-link frame engine (DESIGN.md 4) and the region bus it drives.

Bytes in, bytes out: :class:`FrameEngine` parses request frames of
:mod:`spinemu.link.protocol`, runs them on a :class:`BusSignature` bus and sends the reply.
:class:`RegionDecoder` turns that bus into one port per region of a
:class:`~spinemu.link.regmap.RegisterMap`. The engine is three parts:

- :class:`FrameReceiver`: hunts for ``SOF``, buffers the payload, checks the CRC and the length,
  drops a frame that stalls for ``timeout`` clocks;
- :class:`Executor`: answers a frame (the cached reply for a repeated ``seq``, or runs the
  command on the bus into the reply buffer);
- :class:`FrameSender`: frames the reply and appends its CRC.
"""

from __future__ import annotations

from functools import reduce
from operator import xor

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
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
    "BusSignature", "Executor", "FrameEngine", "FrameReceiver", "FrameSender", "RegionDecoder",
    "RegionSignature", "crc16_byte",
]

STATUS_SHAPE = unsigned(8)
#: Request arguments of READ and WRITE: address (4 bytes) and count (2 bytes).
ARG_BYTES = 6


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


def reply_layout() -> data.StructLayout:
    return data.StructLayout({"status": STATUS_SHAPE, "seq": 8, "echo": 16, "length": 16})


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


class Executor(wiring.Component):
    """Answers received frames: runs a command on the bus, or repeats the cached reply.

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

    A READ or WRITE takes about ``word_bytes + 2`` clocks per word plus the region's latency.
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
        m.submodules.buf = buf = memory.Memory(shape=8, depth=MAX_PAYLOAD, init=[])
        wr, rd = buf.write_port(), buf.read_port()
        m.d.comb += [rd.addr.eq(self.reply_addr), self.reply_data.eq(rd.data)]

        f, bus, r = self.frame.payload, self.bus, self.reply.payload
        last = Signal(data.StructLayout({"seq": 8, "crc": 16, "length": 16, "valid": 1}))
        word = Signal(self._regmap.data_bits)
        ptr = Signal(range(MAX_PAYLOAD + 1))   # next payload byte / next reply byte
        byte = Signal(range(self._regmap.data_bits // 8))
        left = Signal(16)
        info = self._info_bytes()
        m.d.comb += [self.rd_addr.eq(ptr), wr.addr.eq(ptr), bus.w.payload.eq(word),
                     wr.data.eq(word.word_select(byte, 8))]
        # the region's word size (CHECK) and verdict (MEASURE: the decoder registers it),
        # registered, so that neither the decoder nor the length product sits on a long
        # combinational path
        verdict = Signal(STATUS_SHAPE)
        word_bytes = Signal(8)
        wants = Signal(range(ARG_BYTES + (1 << 16) * (self._regmap.data_bits // 8) + 1))
        last_byte = byte == word_bytes - 1

        def finish(status, length=0):
            m.d.sync += [r.status.eq(status), r.length.eq(length), self.reply.valid.eq(1)]
            m.next = "REPLY"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.frame.valid):
                    m.d.sync += [r.seq.eq(f.seq), r.echo.eq(f.crc), ptr.eq(0), byte.eq(0),
                                 word.eq(0),
                                 bus.region.eq(f.args[3]), bus.index.eq(f.args.as_value()[:24]),
                                 bus.count.eq(f.args.as_value()[32:48]),
                                 left.eq(f.args.as_value()[32:48]),
                                 bus.write.eq(f.cmd == Command.WRITE)]
                    with m.If(f.oversize):
                        finish(Status.BAD_LENGTH)
                    with m.Elif(~f.crc_ok):
                        m.d.sync += self.bad_crc.eq(self.bad_crc + 1)
                        finish(Status.BAD_CRC)
                    with m.Elif(last.valid & (last.seq == f.seq) & (last.crc == f.crc)):
                        finish(Status.OK, last.length)
                    with m.Else():
                        m.d.sync += self.executed.eq(self.executed + 1)
                        m.next = "CHECK"
            with m.State("CHECK"):
                m.d.sync += word_bytes.eq(bus.word_bytes)
                m.next = "MEASURE"
            with m.State("MEASURE"):
                m.d.sync += [verdict.eq(bus.status), wants.eq(ARG_BYTES + bus.count * word_bytes)]
                m.next = "DECODE"
            with m.State("DECODE"):
                with m.Switch(f.cmd):
                    with m.Case(Command.INFO):
                        with m.If(f.length != 0):
                            finish(Status.BAD_LENGTH)
                        with m.Else():
                            m.next = "INFO"
                    with m.Case(Command.WRITE, Command.READ):
                        # the frame's own lengths first, then the region's verdict
                        with m.If(f.length < ARG_BYTES):
                            finish(Status.BAD_LENGTH)
                        with m.Elif(word_bytes == 0):
                            finish(Status.BAD_ADDRESS)
                        with m.Elif(bus.write & (f.length != wants)):
                            finish(Status.BAD_LENGTH)
                        with m.Elif(~bus.write & ((f.length != ARG_BYTES) |
                                                  (wants > MAX_PAYLOAD + ARG_BYTES))):
                            finish(Status.BAD_LENGTH)
                        with m.Elif(verdict != Status.OK):
                            finish(verdict)
                        with m.Elif(bus.count == 0):
                            finish(Status.OK)
                        with m.Elif(bus.write):
                            m.d.sync += ptr.eq(ARG_BYTES)
                            m.next = "W_FETCH"
                        with m.Else():
                            m.next = "R_REQ"
                    with m.Default():
                        finish(Status.UNKNOWN_COMMAND)
            with m.State("INFO"):
                m.d.comb += wr.en.eq(1)
                with m.Switch(ptr):
                    for k, value in enumerate(info):
                        with m.Case(k):
                            m.d.comb += wr.data.eq(value)
                m.d.sync += ptr.eq(ptr + 1)
                with m.If(ptr == len(info) - 1):
                    finish(Status.OK, len(info))
            with m.State("W_FETCH"):   # payload byte at ptr arrives next clock
                m.next = "W_BYTE"
            with m.State("W_BYTE"):
                m.d.sync += [word.word_select(byte, 8).eq(self.rd_data), ptr.eq(ptr + 1),
                             byte.eq(byte + 1)]
                m.next = "W_FETCH"
                with m.If(last_byte):
                    m.d.sync += byte.eq(0)
                    m.next = "W_PUSH"
            with m.State("W_PUSH"):
                m.d.comb += bus.w.valid.eq(1)
                with m.If(bus.w.ready):
                    m.d.sync += [bus.index.eq(bus.index + 1), left.eq(left - 1), word.eq(0)]
                    m.next = "W_FETCH"
                    with m.If(left == 1):
                        finish(Status.OK)
            with m.State("R_REQ"):
                m.d.comb += bus.rreq.eq(1)
                m.next = "R_WAIT"
            with m.State("R_WAIT"):
                m.d.comb += bus.rdata.ready.eq(1)
                with m.If(bus.rdata.valid):
                    m.d.sync += word.eq(bus.rdata.payload)
                    m.next = "R_BYTE"
            with m.State("R_BYTE"):
                m.d.comb += wr.en.eq(1)
                m.d.sync += [ptr.eq(ptr + 1), byte.eq(byte + 1)]
                with m.If(last_byte):
                    m.d.sync += [byte.eq(0), bus.index.eq(bus.index + 1), left.eq(left - 1)]
                    m.next = "R_REQ"
                    with m.If(left == 1):
                        finish(Status.OK, ptr + 1)
            with m.State("REPLY"):
                with m.If(self.reply.ready):
                    m.d.sync += self.reply.valid.eq(0)
                    m.d.comb += self.frame.ready.eq(1)
                    with m.If(~f.oversize & f.crc_ok & (r.status == Status.OK)):
                        m.d.sync += [last.seq.eq(f.seq), last.crc.eq(f.crc),
                                     last.length.eq(r.length), last.valid.eq(1)]
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
