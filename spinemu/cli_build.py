"""``spinemu build``: a fabric core on a board, through the open flow to a bitstream; programming.

Registered on the main group by :mod:`spinemu.cli`, whose group prints the flow's errors
(:class:`~spinemu.gateware.build.BuildError`, ``FitError``, ``TimingError``, ``ProgramError``,
all :class:`~spinemu.gateware.toolchain.ToolchainError`; an unknown board is a ``ConfigError``)
as one line with exit status 2. The work is :func:`spinemu.gateware.build.build`; the core comes
from :func:`spinemu.gateware.fabrics.resolve_fabric`.
"""

from __future__ import annotations

from pathlib import Path

import click

from spinemu.boards import BOARDS, get_board
from spinemu.cli_common import console, out

__all__ = ["build_command"]


@click.command("build")
@click.argument("fabric", required=False)
@click.option("--board", required=True, help=f"Board to build for: {', '.join(sorted(BOARDS))}.")
@click.option("-o", "--output", type=click.Path(file_okay=False), required=True,
              help="Build folder: plan, tool logs, bitstream and report.json.")
@click.option("--synth-only", is_flag=True,
              help="Stop after synthesis and the fit check (resources only, no bitstream).")
@click.option("--allow-timing-fail", is_flag=True,
              help="Keep going when a clock misses its constraint (the report says by how much).")
@click.option("--program", "program_board", is_flag=True,
              help="Load the bitstream into the board with openFPGALoader.")
@click.option("--flash", is_flag=True,
              help="With --program: write the configuration flash instead of SRAM.")
def build_command(fabric, board, output, synth_only, allow_timing_fail, program_board, flash):
    """Bitstream of FABRIC on a board, with a resource and timing report."""
    from spinemu.gateware.build import build, program
    from spinemu.gateware.fabrics import resolve_fabric

    if program_board and synth_only:
        raise click.UsageError("--program needs a bitstream; drop --synth-only")
    if flash and not program_board:
        raise click.UsageError("--flash goes with --program")
    core_factory = resolve_fabric(fabric, get_board(board))
    with console.status(f"{board}: starting") as status:
        report = build(board, core_factory, output, synth_only=synth_only,
                       allow_timing_fail=allow_timing_fail, progress=status.update)
    out.print(report.table())
    out.print(f"wrote {Path(output) / 'report.json'}"
              + (f" and {report.bitstream}" if report.bitstream else ""))
    if program_board:
        with console.status(f"programming {board} with openFPGALoader"):
            program(board, report.bitstream, flash=flash)
        out.print(f"programmed {board}")
