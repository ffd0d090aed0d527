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
import numpy as np
from rich.console import Console
from rich.table import Table

from spinemu.config import ConfigError, SpinemuError, TileConfig

console = Console(stderr=True)
out = Console(highlight=False)


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


def write_tile(config: TileConfig, directory: Path) -> list[Path]:
    """Write ``crossbar_tile.v``, ``crossbar_tile.il`` and ``tile.toml`` into ``directory``."""
    from spinemu.gateware.convert import to_rtlil, to_verilog
    from spinemu.hdl.tile import CrossbarTile

    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "crossbar_tile.v": to_verilog(CrossbarTile(config), "crossbar_tile"),
        "crossbar_tile.il": to_rtlil(CrossbarTile(config), "crossbar_tile"),
        "tile.toml": config.to_toml(),
    }
    for name, text in files.items():
        (directory / name).write_text(text)
    return [directory / name for name in files]


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
    """Simulate RTL under cocotb against the golden model."""


def simulate_tile(config: TileConfig, *, vectors: int, seed: int, simulator: str,
                  load: str = "runtime", stall: float = 0.0, waves=None):
    """Random stimulus from ``seed``, one RTL run; returns (images, run, golden outputs)."""
    from spinemu.sim.golden import tile_forward
    from spinemu.sim.runner import run_tile
    from spinemu.sim.stimulus import random_images

    if vectors < 1:
        raise ConfigError(f"vectors = {vectors} is out of range; allowed >= 1")
    g, x, adc_shift, gain, offset = random_images(np.random.default_rng(seed), config, vectors)
    with console.status(f"building and simulating on {simulator}"):
        run = run_tile(config, g, x, adc_shift, gain, offset, simulator=simulator, load=load,
                       seed=seed, stall=stall, waves=waves)
    expected = tile_forward(config, g, x, adc_shift, gain, offset)
    return (g, x, adc_shift, gain, offset), run, expected


DUMP_KEYS = {
    "config": "TileConfig as JSON (every width named as in TileConfig)",
    "g": "int64 [rows, cols] stored cell codes",
    "x": "int64 [vectors, rows] input codes",
    "adc_shift": "int64 [cols] ADC right shift per column",
    "gain": "int64 [cols] unsigned calibration gain, gain_frac fraction bits",
    "offset": "int64 [cols] signed calibration offset",
    "z_rtl": "int64 [vectors, cols] outputs of the RTL simulation",
    "simulator": "simulator that produced z_rtl",
    "seed": "seed of the random stimulus",
    "keys": "this table, as JSON",
}


def write_dump(path: Path, config: TileConfig, images, z_rtl, simulator: str, seed: int):
    g, x, adc_shift, gain, offset = images
    np.savez_compressed(path, config=np.array(config.to_json()), g=g, x=x, adc_shift=adc_shift,
                        gain=gain, offset=offset, z_rtl=z_rtl, simulator=np.array(simulator),
                        seed=np.array(seed), keys=np.array(json.dumps(DUMP_KEYS)))


@sim.command("tile")
@tile_options
@click.option("--vectors", type=int, default=16, show_default=True, help="Input vectors.")
@click.option("--seed", type=int, default=0, show_default=True, help="Stimulus seed.")
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator",
              show_default=True)
@click.option("--load", type=click.Choice(["runtime", "init"]), default="runtime",
              show_default=True, help="Load weights through the write port or as memory init.")
@click.option("--stall", type=float, default=0.0, show_default=True,
              help="Probability of a random idle cycle on every stream (back-pressure test).")
@click.option("--dump", type=click.Path(dir_okay=False), help="Write stimuli and outputs (.npz).")
@click.option("--waves", type=click.Path(dir_okay=False),
              help="Write a trace: .vcd or .fst on Verilator, .fst on Icarus.")
def sim_tile(vectors, seed, simulator, load, stall, dump, waves, **kwargs):
    """Random weights, registers and inputs through one tile's RTL, checked against golden."""
    from spinemu.hdl.tile import CrossbarTile

    config = _pop_tile_fields(kwargs)
    images, run, expected = simulate_tile(config, vectors=vectors, seed=seed,
                                          simulator=simulator, load=load, stall=stall,
                                          waves=waves)
    mismatches = int((run.z != expected).sum())
    table = Table(title=f"{config.rows}x{config.cols} tile on {simulator}", show_header=False)
    for key, value in [
        ("outputs compared", f"{expected.size} ({vectors} vectors x {config.cols} columns)"),
        ("mismatches", str(mismatches)),
        ("cycles", f"{run.cycles} ({run.cycles / vectors:.1f} per vector; "
                   f"{CrossbarTile.cycles_per_vector(config)} at full rate)"),
        ("simulated cycles/s", f"{run.cycles_per_second:,.0f}"),
        ("wall time", f"{run.wall_seconds:.2f} s"),
    ]:
        table.add_row(key, value)
    out.print(table)
    if dump:
        write_dump(Path(dump), config, images, run.z, simulator, seed)
        out.print(f"wrote {dump}")
    if waves:
        out.print(f"wrote {waves}")
    if mismatches:
        for b, c in np.argwhere(run.z != expected)[:10]:
            out.print(f"  vector {b} column {c}: rtl {run.z[b, c]} golden {expected[b, c]}")
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
    """The fabric end to end on built-in defaults and bundled data.

    1. The default crossbar tile: random weights, registers and inputs through its RTL on every
       available simulator, checked against the golden model.
    2. The bundled digits MLP mapped onto 128x128 tiles without retraining: float against
       emulated accuracy, then held-out inputs through the whole network's RTL.
    3. p-bits: Boltzmann sampling of a 10-spin problem against its exact distribution, and
       an anneal of a random Max-Cut on the golden model and on the p-bit core's RTL.
    4. The host link: the default tile on the virtual board (its board top under Verilator on
       a pseudo-terminal), programmed, read back and run through spinemu.Emulator's board
       backend, against its golden backend.
    5. The default tile's iCEBreaker bitstream and its report (skipped with --no-build).
    """
    from spinemu.sim.runner import available_simulators

    with tempfile.TemporaryDirectory(prefix="spinemu-demo-") as tmp:
        folder = Path(output or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        simulators = available_simulators()
        checks = [_demo_tile(folder, simulators, vectors, seed),
                  _demo_network(folder, vectors),
                  _demo_pbits(seed),
                  _demo_virtual_board(vectors, seed)]
        if not no_build:
            _demo_build(folder)
        out.print(f"HDL, dumps and plan in {folder}" if output
                  else "(-o DIR keeps the HDL, dumps and plan)")
    failed = [name for name, ok in checks if not ok]
    out.print("result: " + (f"MISMATCH in {', '.join(failed)}" if failed
                            else "RTL == golden, bit for bit, everywhere"))
    if failed:
        sys.exit(1)


def _demo_virtual_board(vectors: int, seed: int) -> tuple[str, bool]:
    from spinemu import Emulator
    from spinemu.gateware.fabrics import default_fabric
    from spinemu.sim.stimulus import random_images
    from spinemu.sim.vboard import fabric_board

    fabric = default_fabric()
    g, x, adc_shift, gain, offset = random_images(np.random.default_rng(seed), fabric.config,
                                                  vectors)
    with console.status("building the virtual board (tile + host link, UART pins, Verilator)"):
        board = fabric_board(fabric)
    results = {}
    with board, console.status(f"driving the virtual board on {board.port}"):
        for backend, port in (("golden", None), ("board", board.port)):
            with Emulator(fabric, backend, port=port) as emulator:
                emulator.program(g, adc_shift, gain, offset)
                results[backend] = emulator.read_back(), emulator.vmm(x)
    (images, expected), (board_images, z) = results["golden"], results["board"]
    same_images = all((a == b).all() for a, b in zip(board_images, images, strict=True))
    mismatches = int((z != expected).sum())
    table = Table(title="4. the default tile on the virtual board, through the serial driver",
                  show_header=False)
    table.add_row("read-back of weights and calibration", "equal" if same_images else "DIFFERS")
    table.add_row("outputs", f"{expected.size} of {vectors} inputs, {mismatches} mismatches")
    out.print(table)
    return "virtual board", same_images and mismatches == 0


def _demo_build(folder: Path) -> None:
    from spinemu.gateware.build import build
    from spinemu.gateware.fabrics import resolve_fabric

    with console.status("iCEBreaker: starting") as status:
        report = build("icebreaker", resolve_fabric(None), folder / "icebreaker",
                       progress=status.update)
    out.print("5. the default tile on the iCEBreaker (yosys, nextpnr-ice40, icepack)")
    out.print(report.table())


def _demo_tile(folder: Path, simulators, vectors: int, seed: int) -> tuple[str, bool]:
    from spinemu.hdl.tile import CrossbarTile

    config = TileConfig()
    with console.status("generating the default tile"):
        write_tile(config, folder)
    table = Table(title=f"1. crossbar tile {config.rows}x{config.cols}, {config.cell_bits}-bit "
                        f"cells, {config.input_bits}-bit inputs, {config.adc_bits}-bit ADC, "
                        f"{config.lanes} lanes: RTL against golden")
    for column in ("simulator", "outputs", "mismatches", "cycles/vector", "sim cycles/s"):
        table.add_column(column, justify="right")
    ok = True
    for simulator in simulators:
        images, run, expected = simulate_tile(config, vectors=vectors, seed=seed,
                                              simulator=simulator)
        mismatches = int((run.z != expected).sum())
        ok &= mismatches == 0
        table.add_row(simulator, str(expected.size), str(mismatches),
                      f"{run.cycles / vectors:.1f}", f"{run.cycles_per_second:,.0f}")
        write_dump(folder / f"demo_{simulator}.npz", config, images, run.z, simulator, seed)
    out.print(table)
    out.print(f"   full-rate cycles per vector: {CrossbarTile.cycles_per_vector(config)}")
    return "tile", ok


def _demo_network(folder: Path, vectors: int) -> tuple[str, bool]:
    from spinemu.mapper import map_model
    from spinemu.models import load_dataset
    from spinemu.sim.network_runner import run_network

    data = load_dataset("digits")
    with console.status("mapping the bundled digits MLP"):
        result = map_model("digits", data.calibration(256), data.test_x, data.test_y)
    result.save(folder / "digits_plan")
    report = result.report
    x = result.mapping.input_codes(data.test_x[:vectors])
    with console.status("the mapped network's RTL on Verilator"):
        run = run_network(result.plan, x, simulator="verilator")
    expected = result.plan.model()(x)
    mismatches = int((run.a != expected).sum())
    table = Table(title="2. digits MLP mapped onto 128x128 tiles (4-bit weights and inputs, "
                        "8-bit ADC)", show_header=False)
    for key, value in [
        ("held-out accuracy", f"float {100 * report.float_metric:.2f} %, emulated "
                              f"{100 * report.emulated_metric:.2f} % ({len(data.test_x)} "
                              f"inputs)"),
        ("network RTL (Verilator)", f"{expected.size} output codes of {vectors} inputs, "
                                    f"{mismatches} mismatches"),
        ("cycles per inference", f"{run.cycles / vectors:.1f}"),
    ]:
        table.add_row(key, value)
    out.print(table)
    return "network", mismatches == 0


def _demo_pbits(seed: int) -> tuple[str, bool]:
    from spinemu import ising

    rng = np.random.default_rng(seed)
    n = 10
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    edges = pairs[rng.random(len(pairs)) < 0.4]
    problem = ising.IsingProblem(n, edges, rng.integers(-7, 8, len(edges)).astype(float),
                                 rng.integers(-3, 4, n).astype(float), "demo")
    with console.status("sampling a 10-spin problem on the golden p-bit model"):
        sampled = ising.sample(problem, beta=0.15, samples=200_000, seed=seed)
    pairs = np.array([(i, j) for i in range(48) for j in range(i + 1, 48)])
    cut_edges = pairs[rng.random(len(pairs)) < 0.15]
    graph = ising.MaxCut(48, cut_edges, np.ones(len(cut_edges)), "random 48-node graph")
    runs = {}
    for backend in ("golden", "rtl"):
        with console.status(f"annealing a 48-node Max-Cut, {backend}"):
            runs[backend] = ising.anneal(graph, sweeps=40, steps=4, replicas=2, seed=seed,
                                         backend=backend, record=1)
    same = all(np.array_equal(getattr(runs["golden"].run, name), getattr(runs["rtl"].run, name))
               for name in ("trajectory", "energies", "best_state", "best_energy"))
    table = Table(title="3. p-bits", show_header=False)
    table.add_row("Boltzmann sampling", f"{n} spins, beta {sampled.beta:.3f}, "
                                        f"{len(sampled.states):,} samples")
    table.add_row("KL to exact", f"{sampled.kl:.4f} nats")
    table.add_row("Max-Cut anneal", f"{len(graph.edges)} edges, 40 sweeps, 2 replicas: best cut "
                                    f"{runs['golden'].best_cut:g}")
    table.add_row("p-bit core RTL", "trajectory equals golden after every sweep" if same
                  else "trajectory DIFFERS from golden")
    out.print(table)
    return "p-bits", same


# --- Commands that live in their own modules ------------------------------------------------

def _register() -> None:
    from spinemu.cli_build import build_command
    from spinemu.cli_layer import layer
    from spinemu.cli_link import board, regmap_command
    from spinemu.cli_map import map_command
    from spinemu.cli_pbit import anneal, sample

    for command in (map_command, anneal, sample, regmap_command, board, build_command):
        main.add_command(command)
    sim.add_command(layer)


_register()
