"""The host-link core: a fabric behind a frame engine, on a UART or a plain byte stream.

:class:`LinkCore` is what a board top instantiates (and what the virtual board simulates): UART
pins in and out, the frame engine, the region decoder and the fabric. Its register map is the
``status`` region (id 0, :data:`STATUS_FIELDS`) followed by the fabric's regions.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.hdl.link import FrameEngine, RegionDecoder
from spinemu.hdl.regions import RegisterRegion
from spinemu.hdl.uart import UARTRx, UARTTx
from spinemu.link.protocol import FRAME_TIMEOUT_BYTES, MAX_PAYLOAD
from spinemu.link.regmap import Access, Region, RegisterMap

__all__ = ["STATUS_FIELDS", "LinkCore", "link_regmap"]

#: The ``status`` region's registers, 32 bits each, by index.
STATUS_FIELDS = (
    "idle",            # 1 when the fabric computes nothing and no input waits
    "framing_errors",  # UART bytes whose stop bit was low
    "overruns",        # UART bytes lost because the receive FIFO was full
    "bad_crc",         # frames refused for their CRC
    "dropped",         # frames dropped by the timeout
    "executed",        # commands run
    "clocks",          # clocks since reset, modulo 2**32
    "busy_clocks",     # clocks in which the fabric was not idle, modulo 2**32
)

#: Bytes the receive FIFO holds while the engine answers a frame: two whole frames.
RX_FIFO_DEPTH = 2 * (MAX_PAYLOAD + 8)


def link_regmap(fabric) -> RegisterMap:
    """The map of ``fabric`` on the link: ``status`` (id 0) and the fabric's regions."""
    status = Region("status", 0, Access.RO, len(STATUS_FIELDS), unsigned(32),
                    "link and fabric state", fields=STATUS_FIELDS)
    return RegisterMap(type(fabric).__name__, [status, *fabric.regions()])


class LinkCore(wiring.Component):
    """A fabric on the host link.

    Parameters
    ----------
    fabric : wiring.Component
        A fabric of :mod:`spinemu.gateware.fabrics`.
    divisor : int or None
        UART clocks per bit; ``None`` for the byte-stream transport (simulation).

    Members
    -------
    uart_rx : In(1, init=1), uart_tx : Out(1, init=1)
        The serial lines (with ``divisor``). ``uart_rx`` is synchronised inside.
    i : In(stream.Signature(8)), o : Out(stream.Signature(8))
        The byte streams (without ``divisor``).

    A frame stalled for :data:`FRAME_TIMEOUT_BYTES` byte times (10 * divisor clocks each; 16
    clocks on the byte stream) is dropped.
    """

    def __init__(self, fabric, *, divisor: int | None):
        self._fabric, self._divisor = fabric, divisor
        self._regmap = link_regmap(fabric)
        if divisor is None:
            members = {"i": In(stream.Signature(unsigned(8))),
                       "o": Out(stream.Signature(unsigned(8)))}
        else:
            members = {"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1)}
        super().__init__(members)

    @property
    def regmap(self) -> RegisterMap:
        return self._regmap

    @property
    def divisor(self) -> int | None:
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        byte_time = 16 if self._divisor is None else 10 * self._divisor
        m.submodules.engine = engine = FrameEngine(
            self._regmap, timeout=FRAME_TIMEOUT_BYTES * byte_time)
        m.submodules.decoder = decoder = RegionDecoder(self._regmap)
        m.submodules.fabric = fabric = self._fabric
        m.submodules.status = status = RegisterRegion(32, len(STATUS_FIELDS))
        wiring.connect(m, engine.bus, decoder.bus)
        wiring.connect(m, decoder.status, status.port)
        for region in self._fabric.regions():
            wiring.connect(m, getattr(decoder, region.name), getattr(fabric, region.name))

        m.submodules.rx_fifo = rx_fifo = fifo.SyncFIFOBuffered(width=8, depth=RX_FIFO_DEPTH)
        m.d.comb += [engine.i.payload.eq(rx_fifo.r_data), engine.i.valid.eq(rx_fifo.r_rdy),
                     rx_fifo.r_en.eq(engine.i.ready)]
        counters = {"idle": fabric.idle, "bad_crc": engine.bad_crc, "dropped": engine.dropped,
                    "executed": engine.executed}
        if self._divisor is None:
            m.d.comb += [rx_fifo.w_data.eq(self.i.payload), rx_fifo.w_en.eq(self.i.valid),
                         self.i.ready.eq(rx_fifo.w_rdy)]
            wiring.connect(m, engine.o, wiring.flipped(self.o))
        else:
            m.submodules.uart_rx = urx = UARTRx(self._divisor)
            m.submodules.uart_tx = utx = UARTTx(self._divisor)
            m.d.comb += [urx.rx.eq(self.uart_rx), self.uart_tx.eq(utx.tx),
                         rx_fifo.w_data.eq(urx.o.payload), rx_fifo.w_en.eq(urx.o.valid),
                         urx.o.ready.eq(rx_fifo.w_rdy)]
            wiring.connect(m, engine.o, utx.i)
            counters.update(framing_errors=urx.framing_errors, overruns=urx.overruns)
        clocks, busy_clocks = Signal(32), Signal(32)
        m.d.sync += clocks.eq(clocks + 1)
        with m.If(~fabric.idle):
            m.d.sync += busy_clocks.eq(busy_clocks + 1)
        counters.update(clocks=clocks, busy_clocks=busy_clocks)
        for k, name in enumerate(STATUS_FIELDS):
            if name in counters:
                m.d.comb += status.values[k].eq(counters[name])
        return m
