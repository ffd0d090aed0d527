"""A fabric's RTL kept running under cocotb and served on a pseudo-terminal: the ``"rtl"``
backend of :class:`spinemu.Emulator`.

The fabric sits behind a :class:`~spinemu.gateware.core.LinkCore` on its byte streams (no UART:
a byte per clock), in a toplevel (:func:`bridge_top`) that makes its own clock and reset and
holds two rings of bytes, one each way, that the testbench (:mod:`spinemu.sim.link_server_tb`)
fills and empties a whole step of clocks at a time: no Python runs per clock or per byte, and
no input of the core's logic is written by cocotb. It is built once per design for Verilator or
Icarus (:func:`spinemu.sim.runner.build` caches it) and simulated in a thread of this process
until :meth:`LinkServer.stop`. Its :attr:`~LinkServer.port` takes the host driver as a board's
serial port does, so the RTL and board backends share the driver and the clients. Unlike
:mod:`spinemu.sim.vboard` (a board top with UART pins, Verilator only), this runs on both
simulators.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

from spinemu.link.regmap import RegisterMap

from .runner import CLOCK_NS, RESET_CLOCKS, SimulatorError, build, check_simulator, run_test

__all__ = ["LinkServer", "bridge_top", "RING_BYTES"]

TOPLEVEL = "link_top"
#: The LinkCore's module inside :data:`TOPLEVEL` (:func:`bridge_top`).
CORE = "link_core"
#: Bytes of each ring of :func:`bridge_top`: the most a step of clocks can move each way.
RING_BYTES = 256
_CORE_PORTS = {"clk", "rst", "i__valid", "i__payload", "i__ready", "o__valid", "o__payload",
               "o__ready"}
_HEADER = re.compile(r"^module\s+(\S+)\s*\(([^)]*)\)\s*;", re.MULTILINE)


def bridge_top(verilog: str, core: str = CORE, toplevel: str = TOPLEVEL,
               ring_bytes: int = RING_BYTES) -> str:
    """``verilog`` (module ``core``: a LinkCore with byte streams ``i`` and ``o``, ``clk`` and
    an active-high ``rst``) and a module ``toplevel`` that runs it. For simulation builds only.

    The toplevel makes ``clk`` itself (``always`` with a delay of half :data:`CLOCK_NS`:
    Verilator needs ``--timing``) and holds ``rst`` high for the first :data:`RESET_CLOCKS`
    rising edges. Its ports are two rings of ``ring_bytes`` bytes (a power of two) with
    free-running pointers of one bit more than an index:

    - ``in_data`` (byte ``k`` at bits ``8k+7:8k``) and ``in_wptr`` are written by the testbench,
      ``in_rptr`` counts the bytes the core took; the core's ``i`` is valid while
      ``in_rptr != in_wptr``, and a slot is the testbench's again once ``in_rptr`` passed it;
    - ``out_data`` and ``out_wptr`` are the bytes of the core's ``o`` and their count,
      ``out_rptr`` is written by the testbench; ``o`` is ready while the ring is not full.

    The inputs are taken into registers at every rising edge (a clock late), so that no logic
    of the core depends on a port: Verilator evaluates such logic on every ``eval``, twice a
    clock.
    """
    if ring_bytes < 2 or ring_bytes & (ring_bytes - 1):
        raise SimulatorError(f"ring_bytes = {ring_bytes}: a power of two >= 2 is needed")
    ports = {name.lstrip(chr(92)): text.split(",") for name, text in _HEADER.findall(verilog)}
    if core not in ports:
        raise SimulatorError(f"core = {core!r}: no module of that name in the Verilog")
    names = {port.strip().lstrip(chr(92)) for port in ports[core]}
    if names != _CORE_PORTS:
        raise SimulatorError(f"module {core!r} has ports {sorted(names)}; "
                             f"{sorted(_CORE_PORTS)} are needed")
    top, bits, hold = toplevel, ring_bytes.bit_length(), RESET_CLOCKS - 1
    index = f"{bits - 2}:0"
    lines = [
        f"module {top}(in_data, in_wptr, in_rptr, out_data, out_wptr, out_rptr);",
        f"  input [{8 * ring_bytes - 1}:0] in_data;",
        f"  input [{bits - 1}:0] in_wptr;",
        f"  output [{bits - 1}:0] in_rptr;",
        f"  output [{8 * ring_bytes - 1}:0] out_data;",
        f"  output [{bits - 1}:0] out_wptr;",
        f"  input [{bits - 1}:0] out_rptr;",
        "  reg clk = 1'b0;",
        f"  always #{CLOCK_NS / 2:g} clk = ~clk;",
        f"  reg [{hold}:0] reset_hold = {{{RESET_CLOCKS}{{1'b1}}}};",
        f"  always @(posedge clk) reset_hold <= {{reset_hold[{hold - 1}:0], 1'b0}};"
        if hold else "  always @(posedge clk) reset_hold <= 1'b0;",
        f"  reg [{bits - 1}:0] in_rptr = {bits}'d0;",
        f"  reg [{bits - 1}:0] out_wptr = {bits}'d0;",
        f"  reg [{8 * ring_bytes - 1}:0] out_data = {8 * ring_bytes}'d0;",
        # the inputs, registered: no logic of the core depends on a port of the toplevel
        f"  reg [{8 * ring_bytes - 1}:0] in_ring = {8 * ring_bytes}'d0;",
        f"  reg [{bits - 1}:0] in_end = {bits}'d0;",
        f"  reg [{bits - 1}:0] out_start = {bits}'d0;",
        f"  wire [{bits - 1}:0] out_level = out_wptr - out_start;",
        "  wire i_valid = in_rptr != in_end;",
        f"  wire o_ready = !out_level[{bits - 1}];",
        "  wire i_ready, o_valid;",
        "  wire [7:0] o_payload;",
        "  always @(posedge clk) begin",
        "    if (in_wptr != in_end) begin",
        "      in_ring <= in_data;",
        "      in_end <= in_wptr;",
        "    end",
        "    out_start <= out_rptr;",
        f"    if (i_valid && i_ready) in_rptr <= in_rptr + {bits}'d1;",
        "    if (o_valid && o_ready) begin",
        f"      out_data[{{out_wptr[{index}], 3'b000}} +: 8] <= o_payload;",
        f"      out_wptr <= out_wptr + {bits}'d1;",
        "    end",
        "  end",
        f"  {core} core (.clk(clk), .rst(reset_hold[{hold}]), .i__valid(i_valid),",
        f"    .i__payload(in_ring[{{in_rptr[{index}], 3'b000}} +: 8]), .i__ready(i_ready),",
        "    .o__valid(o_valid), .o__payload(o_payload), .o__ready(o_ready));",
        "endmodule",
    ]
    return verilog + "\n" + "\n".join(lines) + "\n"


class LinkServer:
    """A running simulation of ``fabric`` on the host link.

    Parameters
    ----------
    fabric : wiring.Component
        A fabric of :mod:`spinemu.gateware.fabrics`.
    simulator : {"verilator", "icarus"}
    start_timeout : float
        Host seconds to wait for the simulation to come out of reset (the build comes first and
        is not counted).

    Use as a context manager, or call :meth:`stop`. A simulation that fails raises
    :class:`~spinemu.sim.runner.SimulatorError` from :meth:`stop` (and from the constructor if
    it fails before serving).
    """

    def __init__(self, fabric, simulator: str = "verilator", *, start_timeout: float = 120.0):
        from spinemu.gateware.convert import to_verilog
        from spinemu.gateware.core import LinkCore

        check_simulator(simulator)
        core = LinkCore(fabric, divisor=None)
        self._regmap, self._simulator = core.regmap, simulator
        build_dir = build(bridge_top(to_verilog(core, CORE)), TOPLEVEL, simulator, timing=True)
        self._folder = Path(tempfile.mkdtemp(prefix="spinemu-rtl-"))
        self._port_file, self._stop_file = self._folder / "port", self._folder / "stop"
        self._error: BaseException | None = None
        self.result: dict | None = None
        io = {"port_file": str(self._port_file), "stop_file": str(self._stop_file),
              "parent": os.getpid(), "ring_bytes": RING_BYTES}
        self._thread = threading.Thread(target=self._serve, args=(build_dir, io), daemon=True,
                                        name=f"spinemu-rtl-{simulator}")
        self._thread.start()
        deadline = time.monotonic() + start_timeout
        while not self._port_file.exists():
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop(check=False)
                raise SimulatorError(f"the {simulator} simulation of the link did not start "
                                     f"within {start_timeout} s: {self._error}")
            time.sleep(0.01)
        self._port = self._port_file.read_text()

    def _serve(self, build_dir: Path, io: dict) -> None:
        try:
            self.result = run_test(build_dir, TOPLEVEL, self._simulator,
                                   "spinemu.sim.link_server_tb", io)
        except BaseException as error:   # reported by stop()
            self._error = error

    @property
    def port(self) -> str:
        """Path of the pseudo-terminal the simulation serves."""
        return self._port

    @property
    def regmap(self) -> RegisterMap:
        return self._regmap

    @property
    def simulator(self) -> str:
        return self._simulator

    def stop(self, *, check: bool = True, timeout: float = 60.0) -> None:
        """Stop the simulation and wait for it; with ``check``, raise if it had failed."""
        if self._folder.exists():
            self._stop_file.touch()
            self._thread.join(timeout)
            shutil.rmtree(self._folder, ignore_errors=True)
        if check and self._error is not None:
            raise SimulatorError(f"the {self._simulator} simulation of the link failed: "
                                 f"{self._error}")

    def __enter__(self) -> LinkServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop(check=exc[0] is None)
