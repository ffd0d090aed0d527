"""CLI commands of the host link: ``spinemu regmap`` and ``spinemu board sim``."""

from __future__ import annotations

import json
import signal
import threading

import click
from rich.markup import escape
from rich.table import Table

from spinemu.cli_common import out


def _regmap_table(regmap) -> Table:
    table = Table(title=f"{regmap.fabric} register map (hash 0x{regmap.hash:08x})")
    for column in ("region", "address", "access", "depth", "bits", "word layout", "holds"):
        table.add_column(column, justify="right" if column in ("depth", "bits") else "left")
    for region in regmap.regions:
        described = region.describe()
        fields = ", ".join(region.fields) if region.fields else described["layout"]
        table.add_row(region.name, described["address"], region.access.value, str(region.depth),
                      f"{region.word_bits}", escape(fields), escape(region.doc))
    return table


@click.command("regmap")
@click.argument("fabric", required=False, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the map as JSON.")
@click.option("--board", "board_name", help="Without FABRIC: this board's default fabric.")
def regmap_command(fabric, as_json, board_name):
    """Print the host-link register map of FABRIC (a tile config, a plan folder, a G-set graph
    or a p-bit fabric .toml; default: the default fabric of --board, else the default tile).

    Addresses are region << 24 | index; words are little-endian, ceil(bits / 8) bytes.
    """
    from spinemu.gateware.core import link_regmap
    from spinemu.gateware.fabrics import load_fabric

    if board_name is not None:
        from spinemu.boards import get_board

        get_board(board_name)
    regmap = link_regmap(load_fabric(fabric, board_name))
    if as_json:
        click.echo(json.dumps(regmap.describe(), indent=2))
    else:
        out.print(_regmap_table(regmap))


@click.group()
def board():
    """Boards: the virtual board."""


@board.command("sim")
@click.argument("name")
@click.argument("fabric", required=False, type=click.Path(exists=True))
@click.option("--clocks-per-bit", type=int, default=8, show_default=True,
              help="UART clocks per bit of the simulated design (the real board's divisor "
                   "comes from its clock; a small one makes the simulation answer faster).")
@click.option("--link", "link_path", type=click.Path(dir_okay=False),
              help="Also make a symbolic link to the pseudo-terminal here.")
def board_sim(name, fabric, clocks_per_bit, link_path):
    """Serve board NAME's top with FABRIC under Verilator on a pseudo-terminal.

    Prints the port path (open it with pyserial or spinemu's Link) and runs until interrupted.
    """
    from spinemu.boards import get_board
    from spinemu.gateware.fabrics import load_fabric
    from spinemu.sim.vboard import fabric_board

    get_board(name)
    core_fabric = load_fabric(fabric, name)
    with fabric_board(core_fabric, clocks_per_bit, link=link_path) as vboard:
        out.print(vboard.port)
        out.print(f"[dim]{name} virtual board: {vboard.regmap.fabric}, map hash "
                  f"0x{vboard.regmap.hash:08x}, {clocks_per_bit} clocks per bit; Ctrl-C stops[/]")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                if vboard.process.poll() is not None:
                    break
        except KeyboardInterrupt:
            pass


@board.command("status")
@click.argument("fabric", required=False, type=click.Path(exists=True))
@click.option("--port", required=True, help="Serial port of the board (or the virtual board).")
@click.option("--timeout", type=float, default=1.0, show_default=True,
              help="Seconds to wait for each reply.")
@click.option("--board", "board_name", help="Without FABRIC: this board's default fabric.")
def board_status(fabric, port, timeout, board_name):
    """Ask the board on PORT which fabric it runs (INFO) and print its status registers.

    FABRIC (default: the default fabric of --board, else the default tile) is the fabric the
    bitstream should carry; a board that answers with another map hash is an error.
    """
    from spinemu.gateware.core import link_regmap
    from spinemu.gateware.fabrics import load_fabric
    from spinemu.link.driver import Link, SerialTransport

    if board_name is not None:
        from spinemu.boards import get_board

        get_board(board_name)
    regmap = link_regmap(load_fabric(fabric, board_name))
    with Link(SerialTransport(port), regmap, timeout=timeout, retries=1) as link:
        info = link.check()
        status = link.status()
    out.print(f"{port}: protocol {info.version}, {regmap.fabric} map 0x{info.map_hash:08x}")
    table = Table(show_header=False)
    for name, value in status.items():
        table.add_row(name, str(value))
    out.print(table)
