"""cocotb bench: a fabric's :class:`~spinemu.gateware.core.LinkCore` (byte streams) served on a
pseudo-terminal until told to stop (:class:`~spinemu.sim.link_server.LinkServer`).

Bytes a client writes to the pty go into the core's ``i`` stream, bytes from its ``o`` stream
go back to the pty (:class:`ByteBridge`, a byte per clock each way): the host driver on the pty
(:class:`~spinemu.link.driver.SerialTransport`) cannot tell the simulation from a board but by
speed. Between two looks at the pty the simulation runs a step of clocks on one timer, with no
Python per clock: :data:`STEP` clocks while bytes flow, doubling up to :data:`MAX_STEP` while
none do, and halved whenever a step took more than :data:`LOOK_SECONDS` of host time, so a large
design that simulates few clocks a second still answers its host within milliseconds. When
neither side has had a byte for :data:`QUIET_SECONDS` of host time it also sleeps a millisecond
per look, so an idle server costs little CPU (an anneal in progress is polled by its host, so it
is never quiet).

Stimulus: ``port_file`` (where the pty path is written once the core is out of reset),
``stop_file`` (the server stops when it exists) and ``parent`` (the server stops when that
process is gone). Result: ``bytes_in``, ``bytes_out`` and the :class:`Span`.
"""

from __future__ import annotations

import os
import time
import tty
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import Event, FallingEdge, First, RisingEdge, Timer

from .cocotb_bench import Span, load_stimulus, save_result, start
from .runner import CLOCK_NS

#: Clocks simulated between two looks at the pty while bytes flow; the gap doubles up to
#: :data:`MAX_STEP` while none do (a long anneal or inference costs few looks).
STEP = 32
MAX_STEP = 1024
#: Host seconds a step may take before the next one is halved (down to a clock).
LOOK_SECONDS = 0.002
#: Host seconds without a byte after which the server sleeps between looks.
QUIET_SECONDS = 0.5
#: Looks between two checks that the parent process still runs.
PARENT_CHECK = 1000
#: Environment variable naming a file: the server's Python is profiled (cProfile) into it.
PROFILE_VARIABLE = "SPINEMU_PROFILE"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except (BlockingIOError, InterruptedError):
        return b""


class ByteBridge:
    """The core's two byte streams, ``i`` (in) and ``o`` (out), driven by one task that wakes
    once a clock while bytes flow and sleeps while none do.

    :class:`~spinemu.sim.cocotb_streams.StreamSource` and ``StreamSink`` wake twice a beat each
    (falling edge, then the read-only phase) to be right for any DUT. Here both ends are the
    :class:`~spinemu.gateware.core.LinkCore`'s, which allows one look at the falling edge: ``o``
    is always ready, and a ``valid`` never depends on ``ready`` (lib.stream), so ``o__valid``
    and ``o__payload`` seen then hold until the next rising edge; ``i__ready`` is the writable
    flag of the core's receive FIFO, a register output that the ``i__valid`` and ``i__payload``
    driven at that edge cannot change. A byte offered while ``i__ready`` is high is taken at the
    next rising edge.

    ``send(data)`` queues bytes for ``i``; :attr:`received` collects those of ``o``.
    """

    def __init__(self, dut):
        self._clk = dut.clk
        self._i_payload, self._i_valid, self._i_ready = dut.i__payload, dut.i__valid, dut.i__ready
        self._o_payload, self._o_valid = dut.o__payload, dut.o__valid
        self._i_valid.value = 0
        dut.o__ready.value = 1
        self._queue, self._next = bytearray(), 0
        self.received = bytearray()
        self._pending = Event()
        self._task = cocotb.start_soon(self._run())

    def send(self, data: bytes) -> None:
        if self._next == len(self._queue):
            self._queue, self._next = bytearray(), 0
        self._queue += data
        self._pending.set()

    def stop(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        falling = FallingEdge(self._clk)
        wake = First(self._pending.wait(), RisingEdge(self._o_valid))
        offered = False     # the byte on ``i`` since the last falling edge is being taken
        while True:
            await falling
            if offered:
                self._next += 1
            out = self._o_valid.value
            if out:
                self.received.append(int(self._o_payload.value))
            if self._next < len(self._queue):
                self._i_payload.value = self._queue[self._next]
                self._i_valid.value = 1
                offered = bool(self._i_ready.value)
            else:
                offered = False
                self._i_valid.value = 0
                if not out:
                    self._pending.clear()
                    await wake
                    wake = First(self._pending.wait(), RisingEdge(self._o_valid))


@cocotb.test()
async def serve(dut):
    profile = os.environ.get(PROFILE_VARIABLE)
    if profile:  # the simulator's Python (cocotb's scheduler included) from here to the end
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        await _serve(dut)
    finally:
        if profile:
            profiler.disable()
            profiler.dump_stats(profile)


async def _serve(dut):
    stimulus = load_stimulus()
    port_file, stop_file = (Path(str(stimulus[k])) for k in ("port_file", "stop_file"))
    parent = int(stimulus["parent"])
    bridge = ByteBridge(dut)
    await start(dut, self_reset=True)
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    # written whole, then renamed: the host waits for the name to exist and must never read a
    # file that is still empty
    partial = port_file.with_name(port_file.name + ".partial")
    partial.write_text(os.ttyname(slave))
    partial.replace(port_file)
    span, bytes_in, sent, outgoing = Span(), 0, 0, b""
    last_byte, looks, step = time.monotonic(), 0, STEP
    stepped = last_byte
    try:
        while not stop_file.exists():
            looks += 1
            if looks % PARENT_CHECK == 0 and not _alive(parent):
                break
            incoming = _read(master)
            if incoming:
                bridge.send(incoming)
                bytes_in += len(incoming)
            if bridge.received:
                outgoing += bridge.received
                sent += len(bridge.received)
                bridge.received.clear()
            if outgoing:
                try:
                    outgoing = outgoing[os.write(master, outgoing):]
                except BlockingIOError:
                    pass
            now = time.monotonic()
            if incoming or outgoing:
                last_byte = now
            elif now - last_byte > QUIET_SECONDS:
                time.sleep(0.001)
            if now - stepped < LOOK_SECONDS:
                step = min(2 * step, STEP if incoming or outgoing else MAX_STEP)
            else:
                step = max(1, step // 2)
            stepped = time.monotonic()
            await Timer(step * CLOCK_NS, unit="ns")
    finally:
        os.close(master)
        os.close(slave)
    save_result(bytes_in=np.array(bytes_in), bytes_out=np.array(sent), **span.stop())
