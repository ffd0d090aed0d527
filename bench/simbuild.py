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

``--levels A B`` compares C++ optimisation levels instead (``$SPINEMU_VERILATOR_OPT``, both
sides with the kind's shared header, their seed cache holding both kinds' runtime objects and
headers): ``-OA`` and ``-OB`` each build every design, then run ``--vectors`` random vectors
through each (``run_tile``, its images as written, 0 stalls): besides the build seconds, the
clocks per second of the runs (all designs' clocks over their simulated seconds). Writes
``bench/results/simbuild_levels.json`` unless ``-o`` names another file.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.machine import machine_info, summary

RESULTS = Path(__file__).resolve().parent / "results" / "simbuild.json"
LEVEL_RESULTS = RESULTS.with_name("simbuild_levels.json")
TOPLEVEL = "crossbar_tile"
#: What each side's round records, by the name its summaries and ratios carry.
MEASURES = {"wall": "wall_seconds", "cpu": "cpu_seconds", "clocks_per": "clocks_per_second"}


def designs(count: int, seed: int) -> list[tuple[dict, str, tuple]]:
    """``(config and load, Verilog, (config, images or None))`` of ``count`` random tiles."""
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
        images = None
        if load == "init":
            g, _, shift, gain, offset = random_images(rng, config, batch=1)
            model = CrossbarTileModel(config, g, shift, gain, offset)
            images = (model.g, model.adc_shift, model.gain, model.offset)
            tile = CrossbarTile(config, *images)
        else:
            tile = CrossbarTile(config)
        out.append(({"rows": config.rows, "cols": cols, "lanes": lanes, "load": load},
                    to_verilog(tile, TOPLEVEL), (config, images)))
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def suite_designs(cache: Path, count: int) -> list[tuple[tuple[str, str], str, None]]:
    """``((file, toplevel), Verilog, None)`` of the ``count`` largest Verilator designs (by
    characters of logic) built in ``cache`` to run fast (not at -O0: those a caller asked to
    build fast, which the level does not touch); each folder's Verilog file names its
    toplevel."""
    from spinemu.sim.runner import logic_size

    found = {}
    for path in sorted((cache / "sim" / "verilator").glob("*/*.v")):
        log = path.with_name("build.log")
        if log.exists() and " -O0 " in log.read_text():
            continue   # built with optimise=False: everything at -O0
        found.setdefault(path.read_text(), path)   # one of each design (levels share Verilog)
    if not found:
        raise SystemExit(f"--verilog-from {cache}: no Verilator builds under sim/verilator/")
    largest = sorted(found, key=logic_size, reverse=True)[:count]
    return [((found[v].parent.name, found[v].stem), v, None) for v in largest]


def level(value: str | None):
    """``$SPINEMU_VERILATOR_OPT`` set to ``value`` (None: as it was) inside the ``with``."""
    from spinemu.sim.cocotb_env import runner_environment
    from spinemu.sim.runner import OPT_VARIABLE

    return nullcontext() if value is None else runner_environment({OPT_VARIABLE: value})


def runtime_seed(verilogs: list[tuple[str, str, bool]], folder: Path, levels=(None,),
                 headers: bool = False) -> Path:
    """A cache holding only the runtime objects of each level's kinds (one build of each kind
    of ``verilogs``, with and without ``--timing``, made them; the builds removed, and unless
    ``headers`` the precompiled headers too)."""
    from spinemu.sim import runner

    kinds = {timing: (verilog, toplevel) for verilog, toplevel, timing in reversed(verilogs)}
    for value in levels:
        with level(value):
            for timing, (verilog, toplevel) in kinds.items():
                runner.build(verilog, toplevel, "verilator", cache_dir=folder, timing=timing)
    shutil.rmtree(folder / "sim")
    for kind in (folder / "verilator-runtime").iterdir():
        for path in kind.iterdir():
            if not headers and path.name.startswith((runner.PCH_HEADER, ".pch")):
                path.unlink()
    return folder


def build_all(verilogs: list[tuple[str, str, bool]], seed: Path, shared: bool = True,
              opt: str | None = None, runs: list | None = None, vectors: int = 0) -> dict:
    """Build every design into a copy of the ``seed`` cache at level ``opt``; wall and compiler
    CPU seconds. With ``runs`` (each design's config and images), then run ``vectors`` random
    vectors through each build: its clocks and simulated seconds."""
    from spinemu.sim import runner

    choose = runner._header_for
    if not shared:  # this side measures the runner as it was: each build its own header
        runner._header_for = lambda folder, build_dir: None
    try:
        with tempfile.TemporaryDirectory(prefix="spinemu-simbuild-") as tmp, level(opt):
            cache = Path(tmp) / "cache"
            shutil.copytree(seed, cache)
            cpu, started = _children_cpu(), time.perf_counter()
            for verilog, toplevel, timing in verilogs:
                runner.build(verilog, toplevel, "verilator", cache_dir=cache, timing=timing)
            wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
            made = sum("c++-header" in log.read_text()
                       for log in (cache / "sim" / "verilator").glob("*/build.log"))
            ran = run_all(runs, vectors, cache) if runs else {}
    finally:
        runner._header_for = choose
    return {"wall_seconds": wall, "cpu_seconds": cpu, "headers_precompiled": made, **ran}


def run_all(runs: list, vectors: int, cache: Path) -> dict:
    """``vectors`` random vectors (seed 0) through each built tile, checked against golden."""
    from spinemu.sim.golden import tile_forward
    from spinemu.sim.runner import run_tile
    from spinemu.sim.stimulus import random_images

    clocks = seconds = 0.0
    for config, images in runs:
        g, x, shift, gain, offset = random_images(np.random.default_rng(0), config, vectors)
        g, shift, gain, offset = images or (g, shift, gain, offset)
        run = run_tile(config, g, x, shift, gain, offset, load="init" if images else "runtime",
                       cache_dir=cache)
        if not (run.z == tile_forward(config, g, x, shift, gain, offset)).all():
            raise AssertionError(f"tile {config} differs from golden:\n{run.log}")
        clocks, seconds = clocks + run.cycles, seconds + run.sim_seconds
    return {"clocks": clocks, "sim_seconds": seconds, "clocks_per_second": clocks / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--levels", nargs=2, metavar=("A", "B"),
                        help="compare -OA against -OB ($SPINEMU_VERILATOR_OPT), builds and runs")
    parser.add_argument("--vectors", type=int, default=64, help="vectors a run (--levels)")
    parser.add_argument("--verilog-from", type=Path, metavar="CACHE",
                        help="build the --designs largest Verilator designs of a build cache "
                             "(a suite run's $SPINEMU_CACHE) instead of random tiles; no runs")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    if args.designs < 1 or args.rounds < 1 or args.vectors < 1:
        parser.error(f"--designs = {args.designs}, --rounds = {args.rounds}, --vectors = "
                     f"{args.vectors}; allowed >= 1")
    from spinemu.sim.runner import OPT_LEVELS

    if args.levels and not set(args.levels) <= set(OPT_LEVELS):
        parser.error(f"--levels = {' '.join(args.levels)}; allowed two of {', '.join(OPT_LEVELS)}")
    output = args.output or (LEVEL_RESULTS if args.levels else RESULTS)
    console = Console()
    if args.verilog_from:
        made = suite_designs(args.verilog_from, args.designs)
        verilogs = [(verilog, toplevel, "always #" in verilog)
                    for (_, toplevel), verilog, _ in made]
    else:
        with console.status(f"converting {args.designs} tiles to Verilog"):
            made = designs(args.designs, args.seed)
        verilogs = [(verilog, TOPLEVEL, False) for _, verilog, _ in made]
    if args.levels:
        runs = [] if args.verilog_from else [run for _, _, run in made]
        sides = {f"O{value}": {"opt": value, "runs": runs, "vectors": args.vectors}
                 for value in args.levels}
    else:
        sides = {"shared": {"shared": True}, "per_design": {"shared": False}}
    first, second = sides
    rounds = []
    with tempfile.TemporaryDirectory(prefix="spinemu-simbuild-seed-") as tmp, Progress(
            console=console) as progress:
        seed = runtime_seed(verilogs, Path(tmp) / "seed", args.levels or (None,),
                            headers=bool(args.levels))
        task = progress.add_task("building", total=2 * args.rounds)
        for _ in range(args.rounds):
            one = {}
            for side, options in sides.items():
                one[side] = build_all(verilogs, seed, **options)
                progress.advance(task)
            rounds.append(one)
    ran = args.levels and not args.verilog_from
    measures = {what: key for what, key in MEASURES.items() if ran or what != "clocks_per"}
    result = {
        "machine": machine_info(),
        "designs": [config for config, _, _ in made],
        "verilog_from": str(args.verilog_from) if args.verilog_from else None,
        "sides": list(sides), "vectors": args.vectors if args.levels else None,
        "rounds": rounds,
        **{f"{side}_{what}": summary([r[side][key] for r in rounds])
           for side in sides for what, key in measures.items()},
        **{f"ratio_{what}": summary([r[first][key] / r[second][key] for r in rounds])
           for what, key in measures.items()},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    console.print(table(result, args.designs, args.rounds))
    console.print(f"wrote {output}")


def table(result: dict, designs: int, rounds: int) -> Table:
    """Medians of each side and of the ratio first / second side, round by round."""
    first, second = result["sides"]
    runs = "ratio_clocks_per" in result
    out = Table(title=f"{designs} tile builds on Verilator, {rounds} rounds")
    for column in ("", "wall s (median)", "compiler CPU s (median)",
                   *(["clocks/s of the runs (median)"] if runs else ["headers precompiled"])):
        out.add_column(column)
    for side in (first, second):
        last = (f"{result[f'{side}_clocks_per']['median']:,.0f}" if runs
                else str(result["rounds"][-1][side]["headers_precompiled"]))
        out.add_row(side, f"{result[f'{side}_wall']['median']:.1f}",
                    f"{result[f'{side}_cpu']['median']:.1f}", last)
    out.add_row(f"{first} / {second}", f"{result['ratio_wall']['median']:.3f}",
                f"{result['ratio_cpu']['median']:.3f}",
                f"{result['ratio_clocks_per']['median']:.3f}" if runs else "")
    return out


if __name__ == "__main__":
    main()
