"""cocotb bench: a fabric's :class:`~spinemu.gateware.core.LinkCore` (byte streams) served on a
pseudo-terminal until told to stop (:class:`~spinemu.sim.link_server.LinkServer`).

The toplevel is :func:`~spinemu.sim.link_server.bridge_top`'s: it makes its own clock and reset,
and the core's two byte streams run between it and two rings of bytes. Bytes a client writes to
the pty go into the ``in`` ring, bytes of the ``out`` ring go back to the pty (:class:`RingBridge`,
a byte per clock each way at most): the host driver on the pty
(:class:`~spinemu.link.driver.SerialTransport`) cannot tell the simulation from a board but by
speed. Between two looks at the pty and the rings the simulation runs a step of clocks on one
timer, with no Python per clock or per byte: :data:`STEP` clocks while bytes flow, doubling up
to :data:`MAX_STEP` while none do, and halved whenever a step took more than
:data:`LOOK_SECONDS` of host time, so a large design that simulates few clocks a second still
answers its host within milliseconds. When neither side has had a byte for
:data:`QUIET_SECONDS` of host time it also sleeps a millisecond per look, so an idle server
costs little CPU (an anneal in progress is polled by its host, so it is never quiet).

Stimulus: ``port_file`` (where the pty path is written once the core is out of reset),
``stop_file`` (the server stops when it exists), ``parent`` (the server stops when that process
is gone) and ``ring_bytes``. Result: ``bytes_in``, ``bytes_out`` and the :class:`Span`.
"""

from __future__ import annotations

import os
import time
import tty
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import Timer

from .cocotb_bench import Span, load_stimulus, save_result
from .runner import CLOCK_NS, RESET_CLOCKS

#: Clocks simulated between two looks while bytes flow (at most a ring: a step of a byte a clock
#: must neither starve the core's ``i`` nor leave its ``o`` waiting long); the gap doubles up to
#: :data:`MAX_STEP` while none do (a long anneal or inference costs few looks).
STEP = 128
MAX_STEP = 1024
#: Bytes from the core kept back at most before they go to the pty while the core still sends.
FLUSH_BYTES = 4096
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


class RingBridge:
    """The toplevel's two rings (:func:`~spinemu.sim.link_server.bridge_top`), moved a look at a
    time: :meth:`exchange` takes the bytes the core wrote to ``out`` since the last look and puts
    as many queued bytes into the free slots of ``in`` as fit.

    Looks happen between clock edges (the server's steps are whole clocks from a falling
    edge), so what is read is the state after a rising edge and what is written is seen by the
    next one; the rings' pointers make that a matter of speed only, not of correctness.
    """

    def __init__(self, dut, ring_bytes: int):
        self._dut, self._size = dut, ring_bytes
        self._wrap = 2 * ring_bytes                # pointers count modulo twice the ring
        self._ring = bytearray(ring_bytes)         # what in_data holds
        self._in_wptr = self._out_rptr = 0
        self._queue = bytearray()
        dut.in_data.value = 0
        dut.in_wptr.value = 0
        dut.out_rptr.value = 0

    def send(self, data: bytes) -> None:
        self._queue += data

    @property
    def queued(self) -> int:
        """Bytes sent that are not in the ``in`` ring yet."""
        return len(self._queue)

    def exchange(self) -> bytes:
        """The bytes ``out`` got since the last call; queued bytes go into ``in``."""
        dut, size = self._dut, self._size
        received = b""
        out_wptr = int(dut.out_wptr.value)
        if out_wptr != self._out_rptr:
            count = (out_wptr - self._out_rptr) % self._wrap
            data = dut.out_data.value.to_unsigned().to_bytes(size, "little")
            first = self._out_rptr % size
            received = (data[first:first + count] if first + count <= size
                        else data[first:] + data[:first + count - size])
            self._out_rptr = out_wptr
            dut.out_rptr.value = out_wptr
        if self._queue:
            free = size - (self._in_wptr - int(dut.in_rptr.value)) % self._wrap
            if free:
                chunk, self._queue = self._queue[:free], self._queue[free:]
                at = self._in_wptr % size
                for k, byte in enumerate(chunk, at):
                    self._ring[k % size] = byte
                self._in_wptr = (self._in_wptr + len(chunk)) % self._wrap
                dut.in_data.value = int.from_bytes(self._ring, "little")
                dut.in_wptr.value = self._in_wptr
        return received


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
    bridge = RingBridge(dut, int(stimulus["ring_bytes"]))
    # the toplevel's clock rises at CLOCK_NS / 2 and every CLOCK_NS after: out of reset after
    # RESET_CLOCKS rising edges, and every look from here on is at a falling edge
    await Timer((RESET_CLOCKS + 1) * CLOCK_NS, unit="ns")
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
            received = bridge.exchange()
            if received:
                outgoing += received
                sent += len(received)
            # a reply goes to the pty once the core paused (a look with no new byte): written
            # as the bytes came, a frame took ~10 writes, each waking the host (0.4 ms a write)
            if outgoing and (not received or len(outgoing) >= FLUSH_BYTES):
                try:
                    outgoing = outgoing[os.write(master, outgoing):]
                except BlockingIOError:
                    pass
            now = time.monotonic()
            flowing = bool(incoming or received or outgoing or bridge.queued)
            if flowing:
                last_byte = now
            elif now - last_byte > QUIET_SECONDS:
                time.sleep(0.001)
            if now - stepped < LOOK_SECONDS:
                step = min(2 * step, STEP if flowing else MAX_STEP)
            else:
                step = max(1, step // 2)
            stepped = time.monotonic()
            await Timer(step * CLOCK_NS, unit="ns")
    finally:
        os.close(master)
        os.close(slave)
    save_result(bytes_in=np.array(bytes_in), bytes_out=np.array(sent), **span.stop())
