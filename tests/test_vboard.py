"""The virtual board under pyserial: a registered loopback and an Amaranth UART that adds one.

The loopback exercises the harness's transmitter and receiver alone; the adder is a real UART
receiver, FIFO and transmitter, written in Amaranth and converted as a board top would be, so
that bytes passing through the harness untouched would fail. Every byte value goes through
(CR, LF, XON/XOFF, ^C and ^D included: the pty must translate nothing), the port survives a
close and reopen, and the harness ends with the context.
"""

import os
import stat

import numpy as np
import pytest
import serial
from amaranth import Cat, Module, Signal
from amaranth.back import verilog
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import ConfigError
from spinemu.sim.runner import SimulatorError
from spinemu.sim.vboard import VirtualBoard, build_virtual_board

CLOCKS_PER_BIT = 8
SEED = 20240611

LOOPBACK = """
module board_top(input clk, input rst, input uart_rx, output reg uart_tx);
  always @(posedge clk)
    if (rst) uart_tx <= 1'b1;
    else uart_tx <= uart_rx;
endmodule
"""


class AddOneUart(wiring.Component):
    """Receives 8N1 bytes on ``uart_rx``, sends each plus one (mod 256) on ``uart_tx``.

    A frame takes exactly ``10 * clocks_per_bit`` clocks each way and the transmitter starts the
    next queued byte on the clock its stop bit ends, so back-to-back input never overruns.
    """

    uart_rx: In(1, init=1)
    uart_tx: Out(1, init=1)

    def __init__(self, clocks_per_bit: int):
        self._cpb = clocks_per_bit
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        cpb = self._cpb
        m.submodules.queue = queue = fifo.SyncFIFO(width=8, depth=4)

        line = Signal(init=1)
        m.d.sync += line.eq(self.uart_rx)
        rx_busy, rx_count = Signal(), Signal(range(cpb))
        rx_index, rx_shift = Signal(range(10)), Signal(8)
        m.d.comb += queue.w_data.eq(rx_shift + 1)
        with m.If(~rx_busy):
            with m.If(~line):
                m.d.sync += [rx_busy.eq(1), rx_count.eq(cpb // 2 - 1), rx_index.eq(0)]
        with m.Elif(rx_count != 0):
            m.d.sync += rx_count.eq(rx_count - 1)
        with m.Else():
            m.d.sync += [rx_count.eq(cpb - 1), rx_index.eq(rx_index + 1)]
            with m.If(rx_index == 0):
                m.d.sync += rx_busy.eq(~line)  # a start bit high at its middle was a glitch
            with m.Elif(rx_index <= 8):
                m.d.sync += rx_shift.eq(Cat(rx_shift[1:], line))
            with m.Else():
                m.d.sync += rx_busy.eq(0)
                m.d.comb += queue.w_en.eq(line)

        tx_busy, tx_count = Signal(), Signal(range(cpb))
        tx_index, tx_shift = Signal(range(10)), Signal(10, init=1)
        m.d.comb += self.uart_tx.eq(~tx_busy | tx_shift[0])
        frame_done = tx_busy & (tx_count == 0) & (tx_index == 9)
        with m.If(~tx_busy | frame_done):
            m.d.comb += queue.r_en.eq(1)
            m.d.sync += [tx_busy.eq(queue.r_rdy), tx_count.eq(cpb - 1), tx_index.eq(0),
                         tx_shift.eq(Cat(0, queue.r_data, 1))]
        with m.Elif(tx_count != 0):
            m.d.sync += tx_count.eq(tx_count - 1)
        with m.Else():
            m.d.sync += [tx_count.eq(cpb - 1), tx_index.eq(tx_index + 1),
                         tx_shift.eq(tx_shift[1:])]
        return m


@pytest.fixture(scope="module")
def loopback():
    return build_virtual_board(LOOPBACK)


@pytest.fixture(scope="module")
def add_one():
    return build_virtual_board(
        verilog.convert(AddOneUart(CLOCKS_PER_BIT), name="board_top", emit_src=False))


def payload(rng: np.random.Generator, n: int) -> bytes:
    """Every byte value once, then ``n`` random bytes."""
    return bytes(range(256)) + rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()


def exchange(port: str, data: bytes) -> bytes:
    with serial.Serial(port, baudrate=115200, timeout=10) as link:
        link.write(data)
        return link.read(len(data))


def test_loopback_echoes_every_byte_across_reopen(loopback):
    rng = np.random.default_rng(SEED)
    with VirtualBoard(loopback, clocks_per_bit=CLOCKS_PER_BIT) as board:
        for _ in range(3):  # closing and reopening the port must not break the board
            data = payload(rng, 300)
            assert exchange(board.port, data) == data
        process = board.process
        assert process.poll() is None
    assert process.returncode == 0
    assert board.stats["framing_errors"] == 0 and board.stats["glitches"] == 0
    assert board.stats["bytes_in"] == board.stats["bytes_out"] == 3 * 556
    assert board.stats["cycles"] >= 3 * 556 * 10 * CLOCKS_PER_BIT


def test_add_one_transforms_bytes(add_one):
    rng = np.random.default_rng(SEED + 1)
    with VirtualBoard(add_one, clocks_per_bit=CLOCKS_PER_BIT) as board:
        for _ in range(2):
            data = payload(rng, 300)
            assert exchange(board.port, data) == bytes((b + 1) % 256 for b in data)
    assert board.process.returncode == 0
    assert board.stats["framing_errors"] == 0


def test_link_names_the_port_and_goes_with_the_board(loopback, tmp_path):
    link = tmp_path / "ttyVB0"
    with VirtualBoard(loopback, clocks_per_bit=CLOCKS_PER_BIT, link=link) as board:
        assert board.port == str(link) and os.path.realpath(link) == board.device
        assert stat.S_ISCHR(os.stat(board.port).st_mode)
        assert exchange(board.port, b"\r\n\x03spinemu") == b"\r\n\x03spinemu"
    assert not os.path.lexists(link)


def test_max_cycles_ends_the_board(loopback):
    with VirtualBoard(loopback, clocks_per_bit=CLOCKS_PER_BIT, max_cycles=1000) as board:
        assert board.process.wait(timeout=10) == 0
    assert board.stats["cycles"] == 1000


def test_missing_executable(tmp_path):
    with pytest.raises(SimulatorError, match=r"^virtual board executable .*nope does not exist"):
        VirtualBoard(tmp_path / "nope").start()


def test_harness_that_dies_before_its_port(tmp_path):
    script = tmp_path / "dies"
    script.write_text("#!/bin/sh\necho 'no pty here' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(SimulatorError, match=r"^virtual board .*dies exited with code 3 before "
                                             r"giving its port: no pty here$"):
        with VirtualBoard(script):
            pass


def test_design_that_fails_to_build():
    with pytest.raises(SimulatorError, match=r"^verilator build of virtual board board_top "
                                             r"failed \(exit \d+\); log .*build\.log:\n"):
        build_virtual_board("module board_top(input clk, input rst, input uart_rx,\n"
                            "  output uart_tx);\n  assign uart_tx = no_such_signal;\nendmodule\n")


@pytest.mark.parametrize("clocks_per_bit", [3, 8.0, True])
def test_clocks_per_bit_is_checked(loopback, clocks_per_bit):
    with pytest.raises(ConfigError, match=r"^clocks_per_bit "):
        VirtualBoard(loopback, clocks_per_bit=clocks_per_bit)


def test_second_board_links_the_kept_runtime(cache_without_ccache):
    """Without ccache, the first board build compiles Verilator's runtime and keeps it; a second
    design compiles none of it, and its board still echoes every byte."""
    first = build_virtual_board(LOOPBACK)
    second = build_virtual_board(LOOPBACK + "// another design, the same runtime\n")
    logs = [(exe.parent.parent / "build.log").read_text() for exe in (first, second)]
    assert ["-o verilated.o" in log for log in logs] == [True, False]
    assert list(cache_without_ccache.glob("verilator-runtime/*/verilated.o"))
    data = payload(np.random.default_rng(SEED + 2), 64)
    with VirtualBoard(second, clocks_per_bit=CLOCKS_PER_BIT) as board:
        assert exchange(board.port, data) == data
