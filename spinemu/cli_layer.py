"""``spinemu sim layer PLAN_DIR``: a mapped network's RTL against the golden model.

The inputs are test inputs: when the plan folder's ``mapping.json`` names a bundled model, the
first ``--vectors`` inputs of its data set's held-out split, quantized to codes as the mapping
says; otherwise random codes over the whole input range, drawn from ``--seed``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from spinemu.config import ConfigError

__all__ = ["layer", "DUMP_KEYS"]

DUMP_KEYS = {
    "config": "NetworkConfig as TOML (the plan's network.toml)",
    "x": "int64 [vectors, in_features] input codes of layer 0",
    "a_rtl": "int64 [vectors, out_features] output codes of the last layer, RTL",
    "a_golden": "int64 [vectors, out_features] output codes of the last layer, golden model",
    "inputs": "where x came from: held-out inputs of a data set, or random codes",
    "simulator": "simulator that produced a_rtl",
    "seed": "seed of random inputs and of stream stalls",
    "cycles": "clock cycles from the first input taken to the last output taken",
    "keys": "this table, as JSON",
}

console = Console(stderr=True)
out = Console(highlight=False)


def plan_inputs(plan, directory: Path, vectors: int, seed: int) -> tuple[np.ndarray, str]:
    """``vectors`` input codes for ``plan`` and a note of where they came from."""
    from spinemu.mapper import Mapping
    from spinemu.mapper.mapping import MAPPING_FILE
    from spinemu.models import BUNDLED, load_dataset

    if (directory / MAPPING_FILE).is_file():
        mapping = Mapping.load(directory)
        if mapping.model_name in BUNDLED:
            data = load_dataset(BUNDLED[mapping.model_name])
            if vectors > len(data.test_x):
                raise ConfigError(f"vectors = {vectors} is out of range; allowed "
                                  f"1..{len(data.test_x)} (the held-out inputs of {data.name})")
            return (mapping.input_codes(data.test_x[:vectors]),
                    f"first {vectors} held-out inputs of {data.name}")
    first = plan.config.layers[0]
    x = np.random.default_rng(seed).integers(*first.tile.input_range,
                                             size=(vectors, first.in_features), endpoint=True)
    return x, f"random codes (seed {seed})"


@click.command("layer")
@click.argument("plan_dir", type=click.Path(file_okay=False))
@click.option("--vectors", type=int, default=16, show_default=True, help="Inputs to run.")
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator",
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of random inputs (plans of models that are not bundled).")
@click.option("--dump", type=click.Path(dir_okay=False),
              help="Write inputs and RTL and golden outputs (.npz).")
def layer(plan_dir, vectors, simulator, seed, dump):
    """Test inputs through the whole network's RTL, checked against the golden model.

    The inputs are the held-out split of the data set of a bundled model (named in the plan's
    mapping.json), otherwise random codes.
    """
    from spinemu.hdl.layer import Network, TiledLayer
    from spinemu.plan import Plan
    from spinemu.sim.network_runner import run_network

    if vectors < 1:
        raise ConfigError(f"vectors = {vectors} is out of range; allowed >= 1")
    directory = Path(plan_dir)
    plan = Plan.load(directory)
    config = plan.config
    x, source = plan_inputs(plan, directory, vectors, seed)
    with console.status(f"building and simulating on {simulator}"):
        run = run_network(plan, x, simulator=simulator, seed=seed)
    expected = plan.model()(x)
    mismatches = int((run.a != expected).sum())

    shape = "-".join(str(n) for n in [config.layers[0].in_features]
                     + [layer.out_features for layer in config.layers])
    grids = ", ".join(f"{layer.row_tiles}x{layer.col_tiles} of {layer.tile.rows}x"
                      f"{layer.tile.cols}" for layer in config.layers)
    table = Table(title=f"network {shape} on {simulator}", show_header=False)
    for key, value in [
        ("tiles per layer", grids),
        ("inputs", source),
        ("outputs compared", f"{expected.size} ({vectors} vectors x "
                             f"{config.layers[-1].out_features} outputs)"),
        ("mismatches", str(mismatches)),
        ("cycles", f"{run.cycles} ({run.cycles / vectors:.1f} per inference)"),
        ("steady state", f"{Network.cycles_per_vector(config)} cycles per inference (layers: "
                         + ", ".join(str(TiledLayer.cycles_per_vector(layer))
                                     for layer in config.layers) + ")"),
        ("simulated cycles/s", f"{run.cycles_per_second:,.0f}"),
        ("wall time", f"{run.wall_seconds:.2f} s"),
    ]:
        table.add_row(key, value)
    out.print(table)
    if dump:
        np.savez_compressed(dump, config=np.array(config.to_toml()), x=x, a_rtl=run.a,
                            a_golden=expected, inputs=np.array(source),
                            simulator=np.array(simulator), seed=np.array(seed),
                            cycles=np.array(run.cycles), keys=np.array(json.dumps(DUMP_KEYS)))
        out.print(f"wrote {dump}")
    if mismatches:
        for b, o in np.argwhere(run.a != expected)[:10]:
            out.print(f"  vector {b} output {o}: rtl {run.a[b, o]} golden {expected[b, o]}")
        sys.exit(1)
