"""An 8N1 UART (DESIGN.md 4): receiver and transmitter with a fixed baud divisor.

amaranth-stdio is not published on PyPI, so the host link's UART is written here. Both halves
run on the ``sync`` domain; the divisor (clocks per bit) comes from the board clock and the
baud rate through :func:`baud_divisor`.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UARTRx", "UARTTx", "baud_divisor"]

#: Baud-rate error the divisor may leave, as a fraction (8N1 tolerates about 4 % in total).
MAX_BAUD_ERROR = 0.02


def baud_divisor(clk_freq: int, baud: int) -> int:
    """Clocks per bit for ``baud`` on a ``clk_freq`` Hz clock, rounded to nearest.

    Raises ``ValueError`` when the divisor is under 4 or the rate it gives is more than
    :data:`MAX_BAUD_ERROR` away from ``baud``.
    """
    if clk_freq <= 0 or baud <= 0:
        raise ValueError(f"clk_freq and baud must be positive, not {clk_freq} and {baud}")
    divisor = round(clk_freq / baud)
    if divisor < 4:
        raise ValueError(f"baud = {baud} is too fast for a {clk_freq} Hz clock: "
                         f"{clk_freq / baud:.2f} clocks per bit, at least 4 allowed")
    error = abs(clk_freq / divisor - baud) / baud
    if error > MAX_BAUD_ERROR:
        raise ValueError(f"baud = {baud} is {error:.1%} off at {clk_freq} Hz with divisor "
                         f"{divisor}; at most {MAX_BAUD_ERROR:.0%} allowed")
    return divisor


class _Clocked(wiring.Component):
    """A UART half: ``divisor`` (clocks per bit, an integer >= 4) checked and kept."""

    def __init__(self, divisor: int, members: dict):
        if not isinstance(divisor, int) or divisor < 4:
            raise ValueError(f"divisor must be an integer >= 4, not {divisor!r}")
        self._divisor = divisor
        super().__init__(members)

    @property
    def divisor(self) -> int:
        return self._divisor


class UARTRx(_Clocked):
    """8N1 receiver.

    Parameters
    ----------
    divisor : int
        Clocks per bit, >= 4.

    Members
    -------
    rx : In(1, init=1)
        The serial line, idle high; synchronised here through two flip-flops.
    o : Out(stream.Signature(unsigned(8)))
        Received bytes, valid one clock after the stop bit is sampled (mid-bit). A byte that
        arrives while the previous one still waits for ``o.ready`` is dropped and counted.
    framing_errors : Out(32)
        Bytes whose stop bit sampled low (the byte is dropped); wraps.
    overruns : Out(32)
        Bytes dropped because ``o`` was still full; wraps.
    """

    def __init__(self, divisor: int):
        super().__init__(divisor, {"rx": In(1, init=1), "o": Out(stream.Signature(unsigned(8))),
                                   "framing_errors": Out(32), "overruns": Out(32)})

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        sync1, line = Signal(init=1), Signal(init=1)
        m.d.sync += [sync1.eq(self.rx), line.eq(sync1)]

        timer = Signal(range(d * 3 // 2 + 1))
        bit = Signal(range(9))
        shift = Signal(8)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    # first data bit is sampled 1.5 bit times after the start edge
                    m.d.sync += [timer.eq(d + d // 2 - 1), bit.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(d - 1), shift.eq(Cat(shift[1:], line)),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(~line):
                        m.d.sync += self.framing_errors.eq(self.framing_errors + 1)
                        m.next = "BREAK"
                    with m.Else():
                        with m.If(self.o.valid & ~self.o.ready):
                            m.d.sync += self.overruns.eq(self.overruns + 1)
                        with m.Else():
                            m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(1)]
                        m.next = "IDLE"
            with m.State("BREAK"):
                # a line held low (a break or noise) must go high before the next start bit
                with m.If(line):
                    m.next = "IDLE"
        return m


class UARTTx(_Clocked):
    """8N1 transmitter.

    Parameters
    ----------
    divisor : int
        Clocks per bit, >= 4.

    Members
    -------
    i : In(stream.Signature(unsigned(8)))
        Bytes to send; one is taken whenever the transmitter is idle, so a byte takes
        ``10 * divisor`` clocks.
    tx : Out(1, init=1)
        The serial line, idle high.
    """

    def __init__(self, divisor: int):
        super().__init__(divisor, {"i": In(stream.Signature(unsigned(8))), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        timer = Signal(range(d))
        bits = Signal(10)   # start, 8 data bits LSB first, stop
        left = Signal(range(11))
        m.d.comb += self.i.ready.eq(left == 0)
        with m.If(left == 0):
            with m.If(self.i.valid):
                m.d.sync += [bits.eq(Cat(0, self.i.payload, 1)), left.eq(10), timer.eq(d - 1),
                             self.tx.eq(0)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [timer.eq(d - 1), left.eq(left - 1), bits.eq(bits >> 1),
                             self.tx.eq(Cat(bits[1:], 1)[0])]
                with m.If(left == 1):
                    m.d.sync += self.tx.eq(1)
        return m
