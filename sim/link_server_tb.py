"""cocotb bench: a fabric's :class:`~spinemu.gateware.core.LinkCore` (byte streams) served on a
pseudo-terminal until told to stop (:class:`~spinemu.sim.link_server.LinkServer`).

Bytes a client writes to the pty go into the core's ``i`` stream, bytes from its ``o`` stream
go back to the pty: the host driver on the pty (:class:`~spinemu.link.driver.SerialTransport`)
cannot tell the simulation from a board but by speed. The simulation advances
:data:`STEP` clocks between looks at the pty while bytes flow, up to :data:`MAX_STEP` while
none do; when neither side has had a byte for
:data:`QUIET_SECONDS` of host time it also sleeps a millisecond per look, so an idle server
costs little CPU (an anneal in progress is polled by its host, so it is never quiet).

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
from cocotb.triggers import ClockCycles

from .cocotb_bench import Span, load_stimulus, save_result, start
from .cocotb_streams import StreamSink, StreamSource

#: Clocks simulated between two looks at the pty while bytes flow; the gap doubles up to
#: :data:`MAX_STEP` while none do (a long anneal or inference costs few looks).
STEP = 32
MAX_STEP = 1024
#: Host seconds without a byte after which the server sleeps between looks.
QUIET_SECONDS = 0.5
#: Looks between two checks that the parent process still runs.
PARENT_CHECK = 1000


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


@cocotb.test()
async def serve(dut):
    stimulus = load_stimulus()
    port_file, stop_file = (Path(str(stimulus[k])) for k in ("port_file", "stop_file"))
    parent = int(stimulus["parent"])
    source, sink = StreamSource(dut, "i", dut.clk), StreamSink(dut, "o", dut.clk)
    await start(dut)
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
    try:
        while not stop_file.exists():
            looks += 1
            if looks % PARENT_CHECK == 0 and not _alive(parent):
                break
            incoming = _read(master)
            if incoming:
                source.send(incoming)
                bytes_in += len(incoming)
            if len(sink.received) > sent:
                outgoing += bytes(sink.received[sent:])
                sent = len(sink.received)
            if outgoing:
                try:
                    outgoing = outgoing[os.write(master, outgoing):]
                except BlockingIOError:
                    pass
            if incoming or outgoing:
                last_byte, step = time.monotonic(), STEP
            else:
                step = min(2 * step, MAX_STEP)
                if time.monotonic() - last_byte > QUIET_SECONDS:
                    time.sleep(0.001)
            await ClockCycles(dut.clk, step)
    finally:
        os.close(master)
        os.close(slave)
    save_result(bytes_in=np.array(bytes_in), bytes_out=np.array(sent), **span.stop())
