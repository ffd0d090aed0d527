"""Region adapters: what stands behind each region of a host-link register map.

Each adapter takes a :class:`~spinemu.hdl.link.RegionSignature` port from the
:class:`~spinemu.hdl.link.RegionDecoder` and turns it into what a fabric offers:

- :class:`PushRegion`: words written go into a FIFO that feeds an input stream;
- :class:`PopRegion`: an output stream fills a FIFO that reads pop;
- :class:`MemoryRegion`: a component's write stream and read port
  (:class:`~spinemu.hdl.ports.ReadSignature`);
- :class:`RegisterRegion`: read-only registers.

A read answers one clock after ``rreq`` at the earliest and holds ``rdata`` until taken.
"""

from __future__ import annotations

from amaranth.hdl import Module, Shape, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .link import RegionSignature
from .ports import ReadSignature

__all__ = ["MemoryRegion", "PopRegion", "PushRegion", "RegisterRegion"]


def _width(shape) -> int:
    return Shape.cast(shape).width


class PushRegion(wiring.Component):
    """Input-stream region: ``depth`` words of FIFO in front of ``o``.

    Members
    -------
    port : In(RegionSignature(width))
        ``level`` is the room left, so a write the FIFO cannot take whole is refused (BUSY).
    o : Out(stream.Signature(shape))
    empty : Out(1)
        Nothing waits in the FIFO.
    """

    def __init__(self, shape, depth: int):
        self._shape, self._depth = shape, depth
        super().__init__({
            "port": In(RegionSignature(_width(shape))),
            "o": Out(stream.Signature(shape)),
            "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = q = fifo.SyncFIFOBuffered(width=_width(self._shape), depth=self._depth)
        m.d.comb += [
            q.w_data.eq(self.port.w.payload), q.w_en.eq(self.port.w.valid),
            self.port.w.ready.eq(q.w_rdy), self.port.level.eq(self._depth - q.level),
            self.o.payload.eq(q.r_data), self.o.valid.eq(q.r_rdy), q.r_en.eq(self.o.ready),
            self.empty.eq(q.level == 0),
        ]
        return m


class PopRegion(wiring.Component):
    """Output-stream region: ``i`` fills ``depth`` words of FIFO that reads pop.

    Members
    -------
    i : In(stream.Signature(shape))
        Back-pressured when the FIFO is full: nothing is dropped.
    port : In(RegionSignature(width))
        ``level`` is the number of words waiting; a read of more is refused (BUSY).
    """

    def __init__(self, shape, depth: int):
        self._shape, self._depth = shape, depth
        super().__init__({
            "i": In(stream.Signature(shape)),
            "port": In(RegionSignature(_width(shape))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = q = fifo.SyncFIFOBuffered(width=_width(self._shape), depth=self._depth)
        port = self.port
        m.d.comb += [q.w_data.eq(self.i.payload), q.w_en.eq(self.i.valid),
                     self.i.ready.eq(q.w_rdy), port.level.eq(q.level)]
        with m.If(port.rdata.ready):
            m.d.sync += port.rdata.valid.eq(0)
        with m.If(port.rreq & q.r_rdy):
            m.d.comb += q.r_en.eq(1)
            m.d.sync += [port.rdata.payload.eq(q.r_data), port.rdata.valid.eq(1)]
        return m


class MemoryRegion(wiring.Component):
    """Memory region over a component's write stream and read port.

    Members
    -------
    port : In(RegionSignature(width))
        ``ready`` is ``idle``: writes and reads only while the fabric is idle (else BUSY).
    wr : Out(stream.Signature({"addr", "data"} layout of the component))
        ``addr`` takes the region index, ``data`` the word.
    rd : Out(ReadSignature(addr_shape, shape))
    idle : In(1)
    """

    def __init__(self, write_layout, addr_shape, shape):
        self._shape = shape
        super().__init__({
            "port": In(RegionSignature(_width(shape))),
            "wr": Out(stream.Signature(write_layout)),
            "rd": Out(ReadSignature(addr_shape, shape)),
            "idle": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        port, wr, rd = self.port, self.wr, self.rd
        fields = list(wr.payload.shape())
        addr, value = (getattr(wr.payload, name) for name, _ in fields)
        m.d.comb += [
            port.ready.eq(self.idle),
            addr.eq(port.index), value.eq(port.w.payload),
            wr.valid.eq(port.w.valid), port.w.ready.eq(wr.ready),
            rd.addr.payload.eq(port.index),
            port.rdata.payload.eq(rd.data.payload), port.rdata.valid.eq(rd.data.valid),
            rd.data.ready.eq(port.rdata.ready),
        ]
        requested = Signal()   # rreq is a pulse; hold the request until the memory takes it
        with m.If(port.rreq):
            m.d.sync += requested.eq(1)
        with m.If(rd.addr.valid & rd.addr.ready):
            m.d.sync += requested.eq(0)
        m.d.comb += rd.addr.valid.eq(port.rreq | requested)
        return m


class RegisterRegion(wiring.Component):
    """Read-only registers: ``values[k]`` at index ``k``.

    Members
    -------
    port : In(RegionSignature(width))
    values : In(ArrayLayout(unsigned(width), count))
    """

    def __init__(self, width: int, count: int):
        self._width, self._count = width, count
        super().__init__({
            "port": In(RegionSignature(width)),
            "values": In(data.ArrayLayout(width, count)),
        })

    def elaborate(self, platform):
        m = Module()
        port = self.port
        with m.If(port.rdata.ready):
            m.d.sync += port.rdata.valid.eq(0)
        with m.If(port.rreq):
            m.d.sync += port.rdata.valid.eq(1)
            # One case per register: ``values[port.index]`` would select through a shifter as
            # wide as the 24-bit index (on the p-bit core's 850-bit result words, about 20,000
            # cells); the decoder has already refused an index past ``count``.
            with m.Switch(port.index):
                for k in range(self._count):
                    with m.Case(k):
                        m.d.sync += port.rdata.payload.eq(self.values[k])
        return m

