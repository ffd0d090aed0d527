"""Verilator build time of tile designs with the kind's shared precompiled header and without.

Run ``python -m bench.simbuild [--designs N] [--rounds R] [--seed S] [-o FILE]``. ``N`` random
tiles (``spinemu.sim.stimulus.random_tile_config`` up to 256x256, lanes drawn as the suite's tile
cases draw them, every other one with its weights baked in as initial values, as
``run_tile(load="init")`` builds them) are converted to Verilog once. Then, ``R`` times in turn,
every design is built by ``spinemu.sim.runner.build`` (Verilator, the suite's defaults) into a
fresh cache that holds the kind's Verilator runtime objects but no precompiled header, so each
round is a fresh machine's suite after its first build:

``shared``
    As the runner builds: the first design that Verilator splits into several C++ files
    precompiles ``verilated.h`` and ``verilated_dpi.h`` once for the kind, the others read it.
``per_design``
    Each build precompiles its own ``Vtop__pch.h`` twice (OPT_FAST and OPT_SLOW), as before the
    header was shared: the runner's choice of header is replaced by "none" for this side.

Each side's wall seconds and the CPU seconds of its compilers (children's user + system) per
round; the ratio shared / per_design is taken round by round (sides alternate, so a drift of
the machine's speed touches both). Writes ``bench/results/simbuild.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.machine import machine_info, summary

RESULTS = Path(__file__).resolve().parent / "results" / "simbuild.json"
TOPLEVEL = "crossbar_tile"


def designs(count: int, seed: int) -> list[tuple[dict, str]]:
    """``(config and load, Verilog)`` of ``count`` random tiles."""
    from spinemu.config import TileConfig
    from spinemu.gateware.convert import to_verilog
    from spinemu.hdl.tile import CrossbarTile
    from spinemu.sim.golden import CrossbarTileModel
    from spinemu.sim.stimulus import random_images, random_tile_config

    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        base = random_tile_config(rng, 256, 256)
        cols = base.cols
        lanes = (1, cols, int(rng.integers(1, cols + 1)))[index % 3]
        config = TileConfig(**{**base.to_dict(), "lanes": lanes})
        load = ("runtime", "init")[index % 2]
        if load == "init":
            g, _, shift, gain, offset = random_images(rng, config, batch=1)
            model = CrossbarTileModel(config, g, shift, gain, offset)
            tile = CrossbarTile(config, model.g, model.adc_shift, model.gain, model.offset)
        else:
            tile = CrossbarTile(config)
        out.append(({"rows": config.rows, "cols": cols, "lanes": lanes, "load": load},
                    to_verilog(tile, TOPLEVEL)))
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def runtime_seed(verilog: str, folder: Path) -> Path:
    """A cache holding only the kind's runtime objects (one build made them; its precompiled
    headers and the build itself removed)."""
    from spinemu.sim import runner

    runner.build(verilog, TOPLEVEL, "verilator", cache_dir=folder)
    shutil.rmtree(folder / "sim")
    for kind in (folder / "verilator-runtime").iterdir():
        for path in kind.iterdir():
            if path.name.startswith((runner.PCH_HEADER, ".pch")):
                path.unlink()
    return folder


def build_all(verilogs: list[str], seed: Path, shared: bool) -> dict:
    """Build every design into a copy of the ``seed`` cache; wall and compiler CPU seconds."""
    from spinemu.sim import runner

    choose = runner._header_for
    if not shared:  # this side measures the runner as it was: each build its own header
        runner._header_for = lambda folder, build_dir: None
    try:
        with tempfile.TemporaryDirectory(prefix="spinemu-simbuild-") as tmp:
            cache = Path(tmp) / "cache"
            shutil.copytree(seed, cache)
            cpu, started = _children_cpu(), time.perf_counter()
            for verilog in verilogs:
                runner.build(verilog, TOPLEVEL, "verilator", cache_dir=cache)
            wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
            made = sum("c++-header" in log.read_text()
                       for log in (cache / "sim" / "verilator").glob("*/build.log"))
    finally:
        runner._header_for = choose
    return {"wall_seconds": wall, "cpu_seconds": cpu, "headers_precompiled": made}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.designs < 1 or args.rounds < 1:
        parser.error(f"--designs = {args.designs}, --rounds = {args.rounds}; allowed >= 1")
    console = Console()
    with console.status(f"converting {args.designs} tiles to Verilog"):
        made = designs(args.designs, args.seed)
    verilogs = [verilog for _, verilog in made]
    rounds = []
    with tempfile.TemporaryDirectory(prefix="spinemu-simbuild-seed-") as tmp, Progress(
            console=console) as progress:
        seed = runtime_seed(verilogs[0], Path(tmp) / "seed")
        task = progress.add_task("building", total=2 * args.rounds)
        for _ in range(args.rounds):
            one = {}
            for side in ("shared", "per_design"):
                one[side] = build_all(verilogs, seed, side == "shared")
                progress.advance(task)
            rounds.append(one)
    result = {
        "machine": machine_info(),
        "designs": [config for config, _ in made],
        "rounds": rounds,
        **{f"{side}_{what}": summary([r[side][f"{what}_seconds"] for r in rounds])
           for side in ("shared", "per_design") for what in ("wall", "cpu")},
        **{f"ratio_{what}": summary([r["shared"][f"{what}_seconds"]
                                     / r["per_design"][f"{what}_seconds"] for r in rounds])
           for what in ("wall", "cpu")},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title=f"{args.designs} tile builds on Verilator, {args.rounds} rounds")
    for column in ("", "wall s (median)", "compiler CPU s (median)", "headers precompiled"):
        table.add_column(column)
    for side in ("shared", "per_design"):
        table.add_row(side, f"{result[f'{side}_wall']['median']:.1f}",
                      f"{result[f'{side}_cpu']['median']:.1f}",
                      str(rounds[-1][side]["headers_precompiled"]))
    table.add_row("shared / per_design", f"{result['ratio_wall']['median']:.3f}",
                  f"{result['ratio_cpu']['median']:.3f}", "")
    console.print(table)
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
