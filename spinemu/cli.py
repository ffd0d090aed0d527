"""The ``spinemu`` command line: generate, simulate and synthesise tiles, and the demo.

Every error a user can cause (a config out of range, a malformed file, a missing simulator)
prints as one line, ``error: ...``, and exits with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import click
from rich.table import Table

from spinemu.checks import TILE_DUMP_KEYS as DUMP_KEYS
from spinemu.checks import check_tile, stream_tile, write_tile, write_tile_dump
from spinemu.cli_common import (
    backend_options,
    check_stream_options,
    console,
    emulator_args,
    out,
    print_mismatches,
    rows_table,
)
from spinemu.config import SpinemuError, TileConfig

__all__ = ["main", "DUMP_KEYS", "write_tile"]


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.message}", err=True)


class _Group(click.Group):
    """Turns the project's own errors into one-line messages unless ``--debug`` is given."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (SpinemuError, OSError) as error:
            if ctx.find_root().params.get("debug"):
                raise
            message = str(error).strip().splitlines()
            raise UserError(message[0] if message else type(error).__name__) from None


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="spinemu")
def main(debug):
    """spinemu: FPGA/RTL emulators of spintronic compute fabrics."""


# --- Tile options, generated from TileConfig's fields ---------------------------------------

def tile_options(function):
    """Add ``--config FILE`` and one option per :class:`TileConfig` field to a command."""
    for field in reversed(dataclasses.fields(TileConfig)):
        flag = field.name.replace("_", "-")
        if field.type in (bool, "bool"):
            option = click.option(f"--{flag}/--no-{flag}", field.name, default=None,
                                  help=f"Default: {field.default}.")
        else:
            option = click.option(f"--{flag}", field.name, type=int, default=None,
                                  help=f"Default: {field.default}.")
        function = option(function)
    return click.option("--config", "config_file", type=click.Path(dir_okay=False),
                        help="Tile config file (.toml with a [tile] table, or .json); options "
                             "given on the command line override it.")(function)


def tile_config(config_file, fields) -> TileConfig:
    base = TileConfig.load(config_file).to_dict() if config_file else {}
    given = {name: value for name, value in fields.items() if value is not None}
    return TileConfig.from_dict({**base, **given})


def _pop_tile_fields(kwargs) -> TileConfig:
    fields = {f.name: kwargs.pop(f.name) for f in dataclasses.fields(TileConfig)}
    return tile_config(kwargs.pop("config_file"), fields)


# --- generate -------------------------------------------------------------------------------

@main.group()
def generate():
    """Write HDL for a fabric part."""


@generate.command("tile")
@tile_options
@click.option("-o", "--output", type=click.Path(file_okay=False), required=True,
              help="Folder to write crossbar_tile.v, crossbar_tile.il and tile.toml into.")
def generate_tile(output, **kwargs):
    """Verilog and RTLIL of one crossbar tile, and its config."""
    config = _pop_tile_fields(kwargs)
    with console.status("elaborating and converting"):
        paths = write_tile(config, Path(output))
    for path in paths:
        out.print(f"wrote {path} ({path.stat().st_size} bytes)")
    out.print(f"{config.rows}x{config.cols} tile, {config.lanes} lanes: "
              f"acc {config.acc_bits} bits, {config.groups} column groups")


# --- sim ------------------------------------------------------------------------------------

@main.group()
def sim():
    """Run a fabric on a backend (RTL under cocotb by default) against the golden model."""


def stream_options(function):
    """``--streams`` and the options of the stream testbench it selects."""
    for option in reversed([
        click.option("--streams", is_flag=True,
                     help="rtl only: the fabric's own stream testbench instead of the host "
                          "link (clock cycles per vector; --load, --stall, --waves)."),
        click.option("--load", type=click.Choice(["runtime", "init"]), default=None,
                     show_default="runtime",
                     help="With --streams: load weights through the write port or as memory "
                          "init."),
        click.option("--stall", type=float, default=None, show_default="0.0",
                     help="With --streams: probability of a random idle cycle on every stream "
                          "(back-pressure test)."),
        click.option("--waves", type=click.Path(dir_okay=False),
                     help="With --streams: write a trace, .vcd or .fst on Verilator, .fst on "
                          "Icarus."),
    ]):
        function = option(function)
    return function


def _tile_rows(check, vectors: int) -> list:
    from spinemu.hdl.tile import CrossbarTile

    config, full_rate = check.config, CrossbarTile.cycles_per_vector(check.config)
    rows = [("outputs compared", f"{check.expected.size} ({vectors} vectors x {config.cols} "
                                 f"columns)"),
            ("mismatches", str(check.mismatches))]
    if check.read_back_equal is not None:
        rows.append(("read-back of weights and calibration",
                     "equal" if check.read_back_equal else "DIFFERS"))
    if check.cycles is not None:
        rows += [("cycles", f"{check.cycles} ({check.cycles / vectors:.1f} per vector; "
                            f"{full_rate} at full rate)"),
                 ("simulated cycles/s", f"{check.cycles_per_second:,.0f}")]
    else:
        rows.append(("full-rate cycles", f"{full_rate} per vector"))
    return rows + [("wall time", f"{check.wall_seconds:.2f} s")]


@sim.command("tile")
@tile_options
@click.option("--vectors", type=int, default=16, show_default=True, help="Input vectors.")
@click.option("--seed", type=int, default=0, show_default=True, help="Stimulus seed.")
@backend_options(default="rtl")
@stream_options
@click.option("--dump", type=click.Path(dir_okay=False), help="Write stimuli and outputs (.npz).")
def sim_tile(vectors, seed, backend, port, simulator, streams, load, stall, waves, dump,
             **kwargs):
    """Random weights, registers and inputs through one tile on a backend, checked against
    golden: programmed, read back and run through spinemu.Emulator (the RTL behind the host
    link by default; --streams: the tile's own stream testbench)."""
    config = _pop_tile_fields(kwargs)
    emulator = emulator_args(backend, port, simulator)
    check_stream_options(streams, backend, load=load, stall=stall, waves=waves)
    with console.status(f"running the tile on {backend}"):
        if streams:
            check = stream_tile(config, vectors=vectors, seed=seed,
                                simulator=emulator["simulator"], load=load or "runtime",
                                stall=stall or 0.0, waves=waves)
        else:
            check = check_tile(config, vectors=vectors, seed=seed, backend=backend, **emulator)
    out.print(rows_table(f"{config.rows}x{config.cols} tile on {check.where}",
                         _tile_rows(check, vectors)))
    if dump:
        write_tile_dump(dump, check)
        out.print(f"wrote {dump}")
    if waves:
        out.print(f"wrote {waves}")
    print_mismatches(check.z, check.expected, "column", backend)
    if not check.ok:
        sys.exit(1)


# --- synth ----------------------------------------------------------------------------------

@main.group()
def synth():
    """Synthesise for an FPGA with yosys (yowasp) and report resources."""


@synth.command("tile")
@tile_options
@click.option("--target", type=click.Choice(["ice40", "ecp5"]), default="ice40",
              show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the report as JSON.")
def synth_tile(target, json_path, **kwargs):
    """LUT/FF/DSP/BRAM use of one tile (synthesis only, no place and route)."""
    from spinemu.gateware.synth import format_reports, synthesize

    config = _pop_tile_fields(kwargs)
    with console.status(f"synthesising for {target} (the first yosys run compiles, ~30 s)"):
        report = synthesize(config, target)
    out.print(format_reports([report]))
    out.print("weight memory in block RAM: "
              + ("yes" if "w_mem" in report.bram_memories else "NO"))
    if json_path:
        Path(json_path).write_text(json.dumps(report.to_dict(), indent=2))
        out.print(f"wrote {json_path}")


# --- demo -----------------------------------------------------------------------------------

@main.command()
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Keep the generated HDL, the dumps and the mapped plan here (default: a "
                   "temporary folder).")
@click.option("--vectors", type=int, default=16, show_default=True,
              help="Inputs through the tile and through the mapped network.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-build", is_flag=True,
              help="Skip the iCEBreaker bitstream (place and route take a few minutes).")
def demo(output, vectors, seed, no_build):
    """The fabric end to end on built-in defaults and bundled data, every run through
    spinemu.Emulator.

    1. The default crossbar tile: random weights, registers and inputs programmed, read back
       and run on the rtl backend on every available simulator, against the golden backend.
    2. The bundled digits MLP mapped onto 128x128 tiles without retraining: float against
       emulated accuracy, then held-out inputs through the whole network on the rtl backend.
    3. p-bits: Boltzmann sampling of a 10-spin problem against its exact distribution, and
       an anneal of a random Max-Cut on the golden and rtl backends.
    4. The host link: the default tile on the virtual board (its board top under Verilator on
       a pseudo-terminal), programmed, read back and run through the board backend, against
       the golden backend.
    5. The default tile's iCEBreaker bitstream and its report (skipped with --no-build).
    """
    from spinemu import demo as steps
    from spinemu.sim.runner import available_simulators

    with tempfile.TemporaryDirectory(prefix="spinemu-demo-") as tmp:
        folder = Path(output or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        tiles = _step(steps.tile_step, folder, available_simulators(), vectors, seed)
        out.print(_tile_table(tiles, vectors))
        network = _step(steps.network_step, folder, vectors)
        out.print(_network_table(network, vectors))
        pbits = _step(steps.pbit_step, seed)
        out.print(_pbit_table(pbits))
        board = _step(steps.virtual_board_step, vectors, seed)
        out.print(rows_table(
            "4. the default tile on the virtual board, through the serial driver",
            [("read-back of weights and calibration",
              "equal" if board.read_back_equal else "DIFFERS"),
             ("outputs", f"{board.expected.size} of {vectors} inputs, {board.mismatches} "
                         f"mismatches")]))
        if not no_build:
            report = _step(steps.build_step, folder)
            out.print("5. the default tile on the iCEBreaker (yosys, nextpnr-ice40, icepack)")
            out.print(report.table())
        out.print(f"HDL, dumps and plan in {folder}" if output
                  else "(-o DIR keeps the HDL, dumps and plan)")
    checks = [("tile", all(check.ok for check in tiles)), ("network", network.check.ok),
              ("p-bits", pbits.same), ("virtual board", board.ok)]
    failed = [name for name, ok in checks if not ok]
    out.print("result: " + (f"MISMATCH in {', '.join(failed)}" if failed
                            else "RTL == golden, bit for bit, everywhere"))
    if failed:
        sys.exit(1)


def _step(step, *args):
    """One demo step under a status line that it updates."""
    with console.status("starting") as status:
        return step(*args, status=status.update)


def _tile_table(checks, vectors: int) -> Table:
    from spinemu.hdl.tile import CrossbarTile

    config = TileConfig()
    table = Table(title=f"1. crossbar tile {config.rows}x{config.cols}, {config.cell_bits}-bit "
                        f"cells, {config.input_bits}-bit inputs, {config.adc_bits}-bit ADC, "
                        f"{config.lanes} lanes: RTL against golden",
                  caption=f"full-rate cycles per vector: {CrossbarTile.cycles_per_vector(config)}")
    for column in ("simulator", "outputs", "mismatches", "read-back", "wall s"):
        table.add_column(column, justify="right")
    for check in checks:
        table.add_row(check.simulator, str(check.expected.size), str(check.mismatches),
                      "equal" if check.read_back_equal else "DIFFERS",
                      f"{check.wall_seconds:.1f}")
    return table


def _network_table(step, vectors: int) -> Table:
    from spinemu.hdl.layer import Network

    report, check = step.report, step.check
    return rows_table(
        "2. digits MLP mapped onto 128x128 tiles (4-bit weights and inputs, 8-bit ADC)",
        [("held-out accuracy", f"float {100 * report.float_metric:.2f} %, emulated "
                               f"{100 * report.emulated_metric:.2f} % ({step.test_inputs} "
                               f"inputs)"),
         ("network RTL (Verilator)", f"{check.expected.size} output codes of {vectors} inputs, "
                                     f"{check.mismatches} mismatches"),
         ("read-back of the images", "equal" if check.read_back_equal else "DIFFERS"),
         ("cycles per inference", f"{Network.cycles_per_vector(check.plan.config)} at full "
                                  f"rate")])


def _pbit_table(step) -> Table:
    sampled = step.sampled
    return rows_table("3. p-bits", [
        ("Boltzmann sampling", f"{step.n} spins, beta {sampled.beta:.3f}, "
                               f"{len(sampled.states):,} samples"),
        ("KL to exact", f"{sampled.kl:.4f} nats"),
        ("Max-Cut anneal", f"{len(step.graph.edges)} edges, {step.sweeps} sweeps, "
                           f"{step.replicas} replicas: best cut {step.best_cut:g}"),
        ("p-bit core RTL", "trajectory equals golden after every sweep" if step.same
         else "trajectory DIFFERS from golden"),
    ])


# --- Commands that live in their own modules ------------------------------------------------

def _register() -> None:
    from spinemu.cli_build import build_command
    from spinemu.cli_energy import estimate_command
    from spinemu.cli_layer import layer
    from spinemu.cli_link import board, regmap_command
    from spinemu.cli_map import map_command
    from spinemu.cli_pbit import anneal, sample
    from spinemu.cli_rbm import rbm
    from spinemu.cli_sweep import sweep_command

    for command in (map_command, anneal, sample, rbm, regmap_command, board, build_command,
                    estimate_command):
        main.add_command(command)
    main.add_command(sweep_command)
    sim.add_command(layer)


_register()
