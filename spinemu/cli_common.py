"""What every ``spinemu`` command module shares: the consoles, the backend options, key/value
tables and mismatch listings (the npz dumps are :func:`spinemu.checks.save_npz`).

``console`` (stderr) carries progress and status spinners, ``out`` (stdout) the results, so a
command's results can be piped while its progress stays on the terminal.
"""

from __future__ import annotations

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from spinemu.config import ConfigError
from spinemu.emulator import BACKENDS

__all__ = ["console", "out", "backend_options", "emulator_args", "check_stream_options",
           "rows_table", "print_mismatches"]

console = Console(stderr=True)
out = Console(highlight=False)

SIMULATORS = ("verilator", "icarus")
DEFAULT_SIMULATOR = "verilator"


def backend_options(default: str = "golden"):
    """``--backend``, ``--port`` (board) and ``--simulator`` (rtl): :class:`spinemu.Emulator`'s.

    The command receives ``backend``, ``port`` and ``simulator`` (None when not given); pass
    them through :func:`emulator_args`, which refuses a wrong combination.
    """
    def decorate(function):
        for option in reversed([
            click.option("--backend", type=click.Choice(BACKENDS), default=default,
                         show_default=True, help="golden model, RTL simulation or a board."),
            click.option("--port", help="Serial port of the board backend (a board, or the pty "
                                        "of spinemu board sim)."),
            click.option("--simulator", type=click.Choice(SIMULATORS), default=None,
                         show_default=DEFAULT_SIMULATOR, help="Of the rtl backend."),
        ]):
            function = option(function)
        return function
    return decorate


def emulator_args(backend: str, port: str | None, simulator: str | None) -> dict:
    """``port`` and ``simulator`` keywords of :class:`spinemu.Emulator` for the options given;
    a :class:`ConfigError` (one line, exit status 2) for an option the backend does not take.
    A board backend without a port is the Emulator's own error (it names the port)."""
    if port is not None and backend != "board":
        raise ConfigError(f"--port goes with --backend board; --backend {backend} takes none")
    if simulator is not None and backend != "rtl":
        raise ConfigError(f"--simulator goes with --backend rtl; --backend {backend} takes none")
    return {"port": port, "simulator": simulator or DEFAULT_SIMULATOR}


def check_stream_options(streams: bool, backend: str, **given) -> None:
    """Refuse stream-testbench options without ``--streams``, and ``--streams`` off rtl."""
    if streams and backend != "rtl":
        raise ConfigError(f"--streams goes with --backend rtl; --backend {backend} has no "
                          "stream testbench")
    for name, value in given.items():
        if value is not None and not streams:
            raise ConfigError(f"--{name} goes with --streams (the stream testbench of "
                              "--backend rtl)")


def rows_table(title: str | None, rows) -> Table:
    """A two-column table without header: one ``(key, value)`` per row."""
    table = Table(title=title, show_header=False)
    for key, value in rows:
        table.add_row(key, value)
    return table


def print_mismatches(got: np.ndarray, expected: np.ndarray, noun: str, label: str,
                     limit: int = 10) -> None:
    """The first ``limit`` differing entries of two ``[vector, index]`` arrays."""
    for b, c in np.argwhere(got != expected)[:limit]:
        out.print(f"  vector {b} {noun} {c}: {label} {got[b, c]} golden {expected[b, c]}")
