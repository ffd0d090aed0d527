"""``spinemu sim layer PLAN_DIR``: a mapped network on a backend against the golden model.

The inputs are test inputs: when the plan folder's ``mapping.json`` names a bundled model, the
first ``--vectors`` inputs of its data set's held-out split, quantized to codes as the mapping
says; otherwise random codes over the whole input range, drawn from ``--seed``
(:func:`spinemu.checks.plan_inputs`). The run is :func:`spinemu.checks.check_network` (through
:class:`spinemu.Emulator`) or, with ``--streams``, :func:`spinemu.checks.stream_network`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from spinemu.checks import NETWORK_DUMP_KEYS as DUMP_KEYS
from spinemu.checks import check_network, plan_inputs, stream_network, write_network_dump
from spinemu.cli_common import (
    backend_options,
    check_stream_options,
    console,
    emulator_args,
    out,
    print_mismatches,
    rows_table,
)
from spinemu.config import ConfigError

__all__ = ["layer", "DUMP_KEYS"]


@click.command("layer")
@click.argument("plan_dir", type=click.Path(file_okay=False))
@click.option("--vectors", type=int, default=16, show_default=True, help="Inputs to run.")
@backend_options(default="rtl")
@click.option("--streams", is_flag=True,
              help="rtl only: the network's own stream testbench instead of the host link "
                   "(clock cycles per inference).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of random inputs (plans of models that are not bundled).")
@click.option("--dump", type=click.Path(dir_okay=False),
              help="Write inputs and backend and golden outputs (.npz).")
def layer(plan_dir, vectors, backend, port, simulator, streams, seed, dump):
    """Test inputs through the whole network on a backend, checked against the golden model:
    the plan's images programmed, read back and run through spinemu.Emulator (the RTL behind
    the host link by default; --streams: the network's own stream testbench).

    The inputs are the held-out split of the data set of a bundled model (named in the plan's
    mapping.json), otherwise random codes.
    """
    from spinemu.hdl.layer import Network
    from spinemu.plan import Plan

    emulator = emulator_args(backend, port, simulator)
    check_stream_options(streams, backend)
    if vectors < 1:
        raise ConfigError(f"vectors = {vectors} is out of range; allowed >= 1")
    directory = Path(plan_dir)
    plan = Plan.load(directory)
    config = plan.config
    x, source = plan_inputs(plan, directory, vectors, seed)
    with console.status(f"running the network on {backend}"):
        if streams:
            check = stream_network(plan, x, simulator=emulator["simulator"], seed=seed,
                                   source=source)
        else:
            check = check_network(plan, x, backend=backend, source=source, seed=seed,
                                  **emulator)

    shape = "-".join(str(n) for n in [config.layers[0].inputs]
                     + [layer.outputs for layer in config.layers])
    grids = ", ".join(f"{layer.row_tiles}x{layer.col_tiles} of {layer.tile.rows}x"
                      f"{layer.tile.cols}" for layer in config.layers)
    rows = [("tiles per layer", grids), ("inputs", source),
            ("outputs compared", f"{check.expected.size} ({vectors} vectors x "
                                 f"{config.layers[-1].outputs} outputs)"),
            ("mismatches", str(check.mismatches))]
    if check.read_back_equal is not None:
        rows.append(("read-back of the images", "equal" if check.read_back_equal
                     else "DIFFERS"))
    if check.cycles is not None:
        rows.append(("cycles", f"{check.cycles} ({check.cycles / vectors:.1f} per inference)"))
    rows.append(("steady state", f"{Network.cycles_per_vector(config)} cycles per "
                 "inference (layers: " + ", ".join(str(Network.layer_cycles(layer))
                                                   for layer in config.layers) + ")"))
    if check.cycles is not None:
        rows.append(("simulated cycles/s", f"{check.cycles_per_second:,.0f}"))
    rows.append(("wall time", f"{check.wall_seconds:.2f} s"))
    out.print(rows_table(f"network {shape} on {check.where}", rows))
    if dump:
        write_network_dump(dump, check)
        out.print(f"wrote {dump}")
    print_mismatches(check.a, check.expected, "output", backend)
    if not check.ok:
        sys.exit(1)
