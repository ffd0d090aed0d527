"""Bitstreams for boards: synthesis, fit check, place and route, packing, report; programming.

:func:`build` puts a core on a board (:class:`~spinemu.boards.top.BoardTop`) and runs the open
flow, every tool from :mod:`spinemu.gateware.toolchain`:

    yosys (synth_ice40 / synth_ecp5 / synth_gowin)
      -> fit check: resources after synthesis against the board's capacity (:class:`FitError`)
      -> nextpnr-ice40 / nextpnr-ecp5 / nextpnr-himbaechel (Gowin), with ``--report``
      -> icepack (.bin) / ecppack (.bit) / gowin_pack (.fs)
      -> report.json (:class:`~spinemu.gateware.report.BuildReport`)

Amaranth writes the plan: ``platform.build(top, do_build=False)`` gives the RTLIL, the yosys
script, the pin and clock constraints and the tool command lines, exactly as Amaranth would run
them, and two overrides add what spinemu needs (a ``stat -json`` after synthesis, and
``--report``/``--timing-allow-fail`` for nextpnr). The commands are then run here one by one, from
the plan's ``build_top.json``, rather than through ``plan.execute_local()``, whose one shell
script cannot stop between synthesis and place and route for the fit check, cannot tell which
step failed, and cannot report progress. Each step's output goes to ``top.<tool>.log``; yosys
and nextpnr also keep their own logs (``top.rpt``, ``top.tim``).

:func:`program` loads a bitstream with openFPGALoader.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spinemu.boards import Board, get_board
from spinemu.boards.top import BoardTop, CoreFactory

from .report import BuildReport, count_resources, fit_problems, parse_nextpnr_report
from .toolchain import (
    ToolchainError,
    find_openfpgaloader,
    tool_env_var,
    tool_version,
    toolchain_env,
)

__all__ = ["DESIGN", "BuildError", "FitError", "ProgramError", "TimingError", "build",
           "program"]

#: Name of the design inside the build folder: ``top.il``, ``top.ys``, ``top.bin``, ...
DESIGN = "top"

#: Step of the flow -> description shown while it runs.
STEPS = {"synthesis": "synthesis (yosys)", "place_and_route": "place and route (nextpnr)",
         "bitstream": "bitstream"}

_STAT = f"{DESIGN}.stat.json"
_PNR_REPORT = f"{DESIGN}.nextpnr.json"


class BuildError(ToolchainError):
    """A board build that failed: a tool's error, a design too big, timing not met."""


class FitError(BuildError):
    """The design needs more of a resource than the board's device has."""


class TimingError(BuildError):
    """A clock misses its constraint after place and route (the bitstream is still written)."""


class ProgramError(ToolchainError):
    """openFPGALoader could not load a bitstream."""


def _step(tool: str) -> str:
    if tool == "yosys":
        return "synthesis"
    return "place_and_route" if tool.startswith("nextpnr") else "bitstream"


def _run(step: str, argv: list[str], board: Board, out: Path, env: dict[str, str]) -> None:
    tool = argv[0]
    log = out / f"{DESIGN}.{tool}.log"
    with open(log, "w") as output:
        result = subprocess.run([env[tool_env_var(tool)], *argv[1:]], cwd=out, env=env,
                                stdout=output, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        # The tool's own output (errors, WASM traps) first; its log file when it printed nothing.
        own = out / (f"{DESIGN}.rpt" if tool == "yosys" else f"{DESIGN}.tim")
        source = log if log.stat().st_size or not own.exists() else own
        tail = "\n".join(source.read_text(errors="replace").strip().splitlines()[-20:])
        raise BuildError(f"{STEPS[step]} failed for board {board.name!r}: {tool} exit "
                         f"{result.returncode}; log {source}\n{tail}")


def build(board_name: str, core_factory: CoreFactory, out_dir, *, synth_only: bool = False,
          allow_timing_fail: bool = False,
          progress: Callable[[str], None] | None = None) -> BuildReport:
    """Build a bitstream of ``core_factory``'s core for a board.

    Parameters
    ----------
    board_name : str
        A key of :data:`spinemu.boards.BOARDS`.
    core_factory : CoreFactory
        Builds the core for the board clock (:mod:`spinemu.boards.top` states the contract).
    out_dir : str or Path
        Build folder, created if missing; gets Amaranth's plan, the tool logs, the bitstream
        (``top.bin`` / ``top.bit`` / ``top.fs``) and ``report.json``.
    synth_only : bool
        Stop after synthesis and the fit check: resources only, no bitstream.
    allow_timing_fail : bool
        Return normally when a clock misses its constraint instead of raising
        :class:`TimingError`.
    progress : callable, optional
        Called with a one-line description as each step starts (e.g. ``rich`` status
        ``update``). Without it the build prints nothing.

    Returns
    -------
    BuildReport
        Also written as ``out_dir/report.json``, before any :class:`FitError` or
        :class:`TimingError` is raised.

    Raises
    ------
    UnknownBoardError
        ``board_name`` is not a known board.
    FitError
        The synthesised design needs more LUT, FF, BRAM, DSP or I/O than the device has; the
        message names each resource: ``does not fit iCE40UP5K: LUT 6012 used of 5280``.
    TimingError
        A clock's Fmax is below its constraint (unless ``allow_timing_fail``).
    BuildError
        A tool failed; the message names the step, the tool and its log, then the log's tail.
    ToolchainError
        A tool is not installed.
    """
    flow = _start(board_name, out_dir, progress)
    for argv in _write_plan(flow, core_factory):
        if _run_step(flow, argv) == "synthesis":
            result = _write_report(flow)
            _check_fit(flow.board, result)
            if synth_only:
                return result
    result = _write_report(flow, json.loads((flow.out / _PNR_REPORT).read_text()))
    _check_timing(flow.board, result, allow_timing_fail)
    return result


@dataclass
class _Flow:
    """One build under way: its board, folder and tool environment, and what it measured."""

    board: Board
    out: Path
    env: dict[str, str]
    notify: Callable[[str], None]
    started: float
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    tools: dict[str, str] = field(default_factory=dict)  # yosys / nextpnr / packer -> version

    @property
    def bitstream(self) -> Path:
        return self.out / f"{DESIGN}{self.board.bitstream_suffix}"


def _start(board_name: str, out_dir, progress: Callable[[str], None] | None) -> _Flow:
    """Check the board and the tools, then make ``out_dir`` and clear an earlier build's report
    and bitstream from it (so that a failing build leaves none to be mistaken for its own)."""
    started = time.perf_counter()
    board = get_board(board_name)
    notify = progress or (lambda message: None)
    env = {**os.environ, **toolchain_env()}
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    flow = _Flow(board, out, env, notify, started)
    for stale in (out / "report.json", out / _STAT, out / _PNR_REPORT, flow.bitstream):
        stale.unlink(missing_ok=True)
    return flow


def _write_plan(flow: _Flow, core_factory: CoreFactory) -> list[list[str]]:
    """Amaranth's plan for the board, written into the folder; its tool command lines."""
    flow.notify(f"{flow.board.name}: elaborating")
    plan = flow.board.platform().build(
        BoardTop(core_factory), name=DESIGN, do_build=False,
        script_after_synth=f"tee -q -o {_STAT} stat -json",
        nextpnr_opts=" ".join(("--report", _PNR_REPORT, "--timing-allow-fail",
                               *flow.board.nextpnr_options)),
    )
    plan.extract(flow.out)
    return json.loads(plan.files[f"build_{DESIGN}.json"])["commands"]


def _run_step(flow: _Flow, argv: list[str]) -> str:
    """Run one of the plan's commands (synthesis, place and route or packing), timing it and
    noting its tool's version; the step's name."""
    step = _step(argv[0])
    flow.notify(f"{flow.board.name}: {STEPS[step]}: {argv[0]}")
    step_started = time.perf_counter()
    _run(step, argv, flow.board, flow.out, flow.env)
    flow.steps[step] = time.perf_counter() - step_started
    flow.tools[{"synthesis": "yosys", "place_and_route": "nextpnr"}.get(step, "packer")] = \
        tool_version(tool_env_var(argv[0]), flow.env)
    return step


def _write_report(flow: _Flow, pnr: dict | None = None) -> BuildReport:
    """The report so far, written as ``report.json``: resources after synthesis and, given
    nextpnr's ``pnr`` report, clocks, placement and the bitstream."""
    board = flow.board
    clocks, placement = parse_nextpnr_report(pnr) if pnr is not None else ((), {})
    stat = json.loads((flow.out / _STAT).read_text())
    used = count_resources(stat["design"]["num_cells_by_type"], board.family)
    available = board.capacity.as_dict()
    result = BuildReport(
        board=board.name, device=board.device, family=board.family,
        resources={name: (used[name], available[name]) for name in available},
        clocks=clocks, placement=placement, tools=dict(flow.tools),
        seconds=time.perf_counter() - flow.started, steps=dict(flow.steps),
        bitstream=str(flow.bitstream) if pnr is not None else None,
    )
    (flow.out / "report.json").write_text(result.to_json() + "\n")
    return result


def _check_fit(board: Board, result: BuildReport) -> None:
    problems = fit_problems({n: u for n, (u, _) in result.resources.items()},
                            board.capacity.as_dict())
    if problems:
        raise FitError(f"does not fit {board.device}: {', '.join(problems)}")


def _check_timing(board: Board, result: BuildReport, allow_timing_fail: bool) -> None:
    failing = [clock for clock in result.clocks if not clock.passed]
    if failing and not allow_timing_fail:
        raise TimingError(f"timing fails on {board.name} ({board.device}): " + "; ".join(
            f"{c.name} {c.achieved_mhz:.2f} MHz achieved, {c.constraint_mhz:.2f} MHz required "
            f"(slack {c.slack_ns:.2f} ns)" for c in failing))


# openFPGALoader's words for "no cable / no board there" (FTDI, USB, JTAG probing).
_NO_CABLE = ("unable to open ftdi device", "device not found", "no device found",
             "cable not found", "jtag init failed", "no cable", "fail to open",
             "usb_open", "libusb")


def program(board_name: str, bitstream, *, flash: bool = False, timeout: float = 600) -> None:
    """Load ``bitstream`` into the board with ``openFPGALoader -b <board>``.

    Parameters
    ----------
    board_name : str
        A key of :data:`spinemu.boards.BOARDS`.
    bitstream : str or Path
        A bitstream :func:`build` wrote for that board.
    flash : bool
        Write the configuration flash (kept over power cycles) instead of the FPGA's SRAM. The
        iCEBreaker is always programmed through its flash.
    timeout : float
        Seconds before openFPGALoader is given up on.

    Raises
    ------
    ProgramError
        No cable or board found (the message names the board and the cable), a wrong or missing
        bitstream, or any other openFPGALoader failure; one line each.
    """
    board = get_board(board_name)
    path = Path(bitstream)
    if not path.is_file():
        raise ProgramError(f"bitstream {str(path)!r} not found")
    if path.suffix != board.bitstream_suffix:
        raise ProgramError(f"bitstream {str(path)!r} is not a {board.bitstream_suffix} file, "
                           f"which board {board.name!r} needs")
    argv = [find_openfpgaloader(), "-b", board.loader_board, *(["-f"] if flash else []),
            str(path)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:
        raise ProgramError(f"openFPGALoader -b {board.loader_board} did not finish in "
                           f"{timeout:g} s for board {board.name!r}") from None
    if result.returncode != 0:
        raise ProgramError(program_error_message(board, result.returncode,
                                                 result.stdout + result.stderr))


def program_error_message(board: Board, returncode: int, output: str) -> str:
    """The one-line message of a failed ``openFPGALoader`` run on ``board``."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    detail = lines[-1] if lines else f"exit {returncode}"
    if returncode == 127 or "error while loading shared libraries" in output:
        return (f"openFPGALoader cannot start ({detail}); it needs libusb-1.0 and libftdi1 "
                f"(apt-get install libusb-1.0-0 libftdi1-2)")
    if any(marker in output.lower() for marker in _NO_CABLE):
        return (f"no {board.cable} cable or board found for board {board.name!r} "
                f"(openFPGALoader -b {board.loader_board}): {detail}")
    return f"openFPGALoader -b {board.loader_board} failed for board {board.name!r}: {detail}"
