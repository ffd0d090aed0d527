"""A sweep's results: the tidy table assembled from its point files, and its plots.

The table has one row per point of the spec (grid by grid, seed-major, whatever order the points
finished in): ``sweep``, ``task``, ``grid``, every axis, ``seed``, every kept figure, the
versions (``version_*``), then :data:`TIMING_COLUMNS` (``wall_seconds``, ``worker``,
``finished_at``: the only columns that depend on where and when a point ran) and ``key`` (its
file under ``points/``). It is written as ``results.parquet`` (pyarrow) and ``results.csv``,
each whole and then renamed, so an interrupted sweep leaves a valid partial table.

Plots (matplotlib, PNG): for the ``axes`` tasks, each kept figure against every swept axis,
one line per combination of the grid's other axes, mean over seeds with a min..max band
(``plot_AXIS.png``); for ``rtl``, the mismatches of every point, which must be zero
(``mismatches.png``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .spec import SweepSpec

__all__ = ["TIMING_COLUMNS", "load_records", "results_table", "write_table", "write_plots",
           "TABLE_FILES"]

TIMING_COLUMNS = ("wall_seconds", "worker", "finished_at")
TABLE_FILES = ("results.parquet", "results.csv")


def load_records(out_dir: str | Path) -> dict[str, dict]:
    """Every persisted point under ``out_dir``, by key."""
    from .runner import POINTS_DIR

    folder = Path(out_dir) / POINTS_DIR
    records = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        records[path.stem] = json.loads(path.read_text())
    return records


def results_table(spec: SweepSpec, out_dir: str | Path):
    """The table (module docstring) of the points of ``spec`` persisted under ``out_dir``."""
    import pandas

    records = load_records(out_dir)
    axes = spec.axis_names
    rows = []
    for point in spec.points():
        record = records.get(point.key)
        if record is None:
            continue
        row = {"sweep": spec.name, "task": spec.task.name, "grid": point.grid}
        row.update({name: point.params[name] for name in axes})
        row["seed"] = point.seed
        row.update({name: record["figures"][name] for name in spec.keep})
        row.update({f"version_{name}": value for name, value in record["versions"].items()})
        row.update({name: record[name] for name in TIMING_COLUMNS})
        row["key"] = point.key
        rows.append(row)
    columns = (["sweep", "task", "grid", *axes, "seed", *spec.keep]
               + sorted({c for row in rows for c in row if c.startswith("version_")})
               + [*TIMING_COLUMNS, "key"])
    return pandas.DataFrame(rows, columns=columns)


def _replace(path: Path, write) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    os.replace(temporary, path)


def write_table(spec: SweepSpec, out_dir: str | Path) -> tuple[Path, ...]:
    """``results.parquet`` and ``results.csv`` in ``out_dir``."""
    out_dir = Path(out_dir)
    table = results_table(spec, out_dir)
    parquet, csv = (out_dir / name for name in TABLE_FILES)
    _replace(parquet, lambda path: table.to_parquet(path, engine="pyarrow", index=False))
    _replace(csv, lambda path: table.to_csv(path, index=False))
    return parquet, csv


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating))
               and not isinstance(v, (bool, np.bool_)) for v in values)


def _axis_values(spec: SweepSpec, name: str) -> list:
    return list(dict.fromkeys(v for g in spec.grids for v in g.axes.get(name, ())))


def _panel_axis(spec: SweepSpec) -> str | None:
    """The first swept axis of names rather than numbers (a model, a graph): one column of
    panels per value."""
    for name in spec.axis_names:
        values = _axis_values(spec, name)
        if len(values) > 1 and not _numeric(values):
            return name
    return None


def _figure_against(table, spec: SweepSpec, axis: str, figures: list[str], columns: str | None,
                    path: Path) -> bool:
    from matplotlib import pyplot

    grids = [g for g in spec.grids if len(g.axes.get(axis, ())) > 1]
    if not grids:
        return False
    values = _axis_values(spec, axis)
    numeric = _numeric(values)
    position = ({v: float(v) for v in values} if numeric
                else {v: i for i, v in enumerate(values)})
    column_values = _axis_values(spec, columns) if columns else [None]
    figure, panels = pyplot.subplots(len(figures), len(column_values),
                                     figsize=(1 + 5 * len(column_values), 3 * len(figures)),
                                     squeeze=False, sharex=True)
    for c, column in enumerate(column_values):
        part = table if columns is None else table[table[columns] == column]
        for grid in grids:
            rows = part[part["grid"] == grid.name]
            others = [n for n in grid.axes if n not in (axis, columns) and len(grid.axes[n]) > 1]
            groups = rows.groupby(others, sort=False, dropna=False) if others else [((), rows)]
            for labels, group in groups:
                labels = labels if isinstance(labels, tuple) else (labels,)
                label = ", ".join(f"{n} {v}" for n, v in zip(others, labels, strict=True))
                label = f"{grid.name}: {label}" if len(spec.grids) > 1 and label else (
                    label or grid.name)
                seeds = group.groupby(axis)["seed"].nunique()
                for panel, name in zip(panels[:, c], figures, strict=True):
                    stats = group.groupby(axis, sort=False)[name].agg(["mean", "min", "max"])
                    x = np.array([position[v] for v in stats.index])
                    order = np.argsort(x)
                    lines = panel.plot(x[order], stats["mean"].to_numpy()[order], marker="o",
                                       markersize=3, label=label)
                    if len(seeds) and seeds.max() > 1:
                        panel.fill_between(x[order], stats["min"].to_numpy()[order],
                                           stats["max"].to_numpy()[order],
                                           color=lines[0].get_color(), alpha=0.15)
        if columns is not None:
            panels[0, c].set_title(f"{columns} {column}", fontsize=9)
        panels[-1, c].set_xlabel(axis)
        if not numeric:
            panels[-1, c].set_xticks(list(position.values()), [str(v) for v in position])
    for r, name in enumerate(figures):
        panels[r, 0].set_ylabel(name)
        for panel in panels[r]:
            panel.grid(alpha=0.3)
    panels[0, -1].legend(fontsize=7)
    figure.suptitle(f"{spec.name}: {spec.task.name} against {axis}; mean over seeds, band "
                    "min..max", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return True


def _mismatches(table, spec: SweepSpec, path: Path) -> None:
    from matplotlib import pyplot

    figure, panel = pyplot.subplots(figsize=(8, 3.5))
    others = [n for n in spec.axis_names if n in table and table[n].nunique() > 1]
    groups = table.groupby(others, sort=False) if others else [((), table)]
    for labels, group in groups:
        labels = labels if isinstance(labels, tuple) else (labels,)
        panel.plot(group["seed"], group["mismatches"], "o", markersize=3,
                   label=", ".join(f"{n} {v}" for n, v in zip(others, labels, strict=True))
                   or spec.name)
    total = int(table["mismatches"].sum()) if len(table) else 0
    panel.set_title(f"{spec.name}: RTL against golden, {len(table)} points, {total} mismatches "
                    "in all (must be 0)", fontsize=10)
    panel.set_xlabel("seed (random configuration)")
    panel.set_ylabel("mismatches")
    panel.set_ylim(bottom=-0.5, top=max(1, table["mismatches"].max() if len(table) else 1) + 0.5)
    panel.grid(alpha=0.3)
    if len(table):
        panel.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def write_plots(spec: SweepSpec, out_dir: str | Path) -> tuple[Path, ...]:
    """The task's plots (module docstring) of what ``out_dir`` holds; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir = Path(out_dir)
    table = results_table(spec, out_dir)
    if not len(table):
        return ()
    if spec.task.plot == "mismatches":
        path = out_dir / "mismatches.png"
        _mismatches(table, spec, path)
        return (path,)
    figures = [f for f in spec.keep if _numeric(table[f].dropna().tolist())]
    columns = _panel_axis(spec)
    numeric = [a for a in spec.axis_names if _numeric(_axis_values(spec, a))]
    written = []
    for axis in numeric or [a for a in spec.axis_names if a != columns] or [columns]:
        path = out_dir / f"plot_{axis}.png"
        if figures and _figure_against(table, spec, axis, figures,
                                       columns if axis != columns else None, path):
            written.append(path)
    return tuple(written)
