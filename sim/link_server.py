"""A fabric's RTL kept running under cocotb and served on a pseudo-terminal: the ``"rtl"``
backend of :class:`spinemu.Emulator`.

The fabric sits behind a :class:`~spinemu.gateware.core.LinkCore` on its byte streams (no UART:
a byte per clock), in a toplevel that resets it itself (:func:`~spinemu.sim.runner.self_reset_top`:
no ``rst`` input, which keeps Verilator from evaluating the core's next-state logic on every
input write), built once per design for Verilator or Icarus (:func:`spinemu.sim.runner.build`
caches it) and simulated by :mod:`spinemu.sim.link_server_tb` in a thread of this process until
:meth:`LinkServer.stop`. Its :attr:`~LinkServer.port` takes the host driver as a board's serial
port does, so the RTL and board backends share the driver and the clients. Unlike
:mod:`spinemu.sim.vboard` (a board top with UART pins, Verilator only), this runs on both
simulators.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from spinemu.link.regmap import RegisterMap

from .runner import SimulatorError, build, check_simulator, run_test, self_reset_top

__all__ = ["LinkServer"]

TOPLEVEL = "link_top"
#: The LinkCore's module inside :data:`TOPLEVEL`, which resets it (:func:`self_reset_top`).
CORE = "link_core"


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
        verilog = self_reset_top(to_verilog(core, CORE), CORE, TOPLEVEL)
        build_dir = build(verilog, TOPLEVEL, simulator)
        self._folder = Path(tempfile.mkdtemp(prefix="spinemu-rtl-"))
        self._port_file, self._stop_file = self._folder / "port", self._folder / "stop"
        self._error: BaseException | None = None
        self.result: dict | None = None
        io = {"port_file": str(self._port_file), "stop_file": str(self._stop_file),
              "parent": os.getpid()}
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
