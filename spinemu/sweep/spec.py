"""Sweep specs: a TOML file naming a task, its axes and values, seeds and the figures to keep.

A spec is checked whole when it is read, before anything runs: every table and key, the task,
each axis and each value against the task's parameters, every point's combination, the seeds and
the figures. An error is a :class:`~spinemu.config.ConfigError` of one line that names the field
(``axes.weight_bits``, ``grid[1].sigma``, ``sweep.keep``), the value and what is allowed.

Layout (docs/sweeps.md)::

    [sweep]
    name = "accuracy"           # default: the file's stem
    task = "map"                # map | anneal | sample | rtl
    seeds = 5                   # 0..4; or a list [0, 3, 7]
    keep = ["accuracy"]         # figures of the task to keep; default: all
    data_dir = "/work/shared/data/gset"   # where graph and problem names resolve

    [fixed]                     # parameters every point shares
    stuck = 0.001

    [axes]                      # swept in every grid: the product of their values
    model = ["digits", "digits32"]

    [[grid]]                    # optional; each grid is the product of [axes] and its own
    name = "weight_bits"        # axes; a grid may set its own seeds
    weight_bits = [2, 3, 4]

A point's parameters are the task's defaults, then ``[fixed]``, then its axis values; a grid
may sweep a parameter ``[fixed]`` sets (an "ideal device" grid at ``stuck = 0``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from spinemu.config import ConfigError

from .tasks import TASKS, Task

__all__ = ["Point", "Grid", "SweepSpec", "load_spec", "parse_spec", "DEFAULT_DATA_DIR",
           "point_key"]

#: Where graph and problem names resolve when a spec gives no ``data_dir``
#: (``$SPINEMU_DATA`` overrides it).
DEFAULT_DATA_DIR = "/work/shared/data/gset"
MAX_SEED = 2**32 - 1
SWEEP_KEYS = ("name", "task", "seeds", "keep", "data_dir")
TABLES = ("sweep", "fixed", "axes", "grid")


def point_key(task: str, params: dict, seed: int) -> str:
    """The name of a point's result: a hash of everything its figures depend on."""
    text = json.dumps({"task": task, "params": params, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Point:
    """One run of a task: every parameter, the seed, and the axis values that placed it."""

    grid: str
    axes: dict
    params: dict
    seed: int
    key: str


@dataclass(frozen=True)
class Grid:
    name: str
    axes: dict                    # name -> list of values (shared [axes] first)
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A checked spec. :meth:`points` lists every run, grid by grid, seed-major."""

    name: str
    task: Task
    seeds: tuple[int, ...]
    keep: tuple[str, ...]
    data_dir: str
    fixed: dict
    grids: tuple[Grid, ...]
    text: str = field(default="", repr=False)

    @property
    def axis_names(self) -> list[str]:
        """Every parameter some grid sweeps, in the order they first appear."""
        return list(dict.fromkeys(name for grid in self.grids for name in grid.axes))

    def points(self) -> list[Point]:
        found = []
        for grid in self.grids:
            names = list(grid.axes)
            for seed in grid.seeds:
                for values in itertools.product(*(grid.axes[n] for n in names)):
                    axes = dict(zip(names, values, strict=True))
                    params = {**self.task.defaults(), **self.fixed, **axes}
                    found.append(Point(grid.name, axes, params, seed,
                                       point_key(self.task.name, params, seed)))
        return found

    def unique_points(self) -> list[Point]:
        """:meth:`points` without repeats (a point two grids share runs once)."""
        unique = {}
        for point in self.points():
            unique.setdefault(point.key, point)
        return list(unique.values())


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a spec file; ``data_dir`` relative to the file's folder."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"sweep spec {path} cannot be read: {error.strerror or error}") from None
    return parse_spec(text, name=path.stem, base=path.parent)


def _seeds(where: str, value) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 100_000:
            raise ConfigError(f"{where} = {value} is out of range; allowed 1..100000 (a count) "
                              "or a list of seeds")
        return tuple(range(value))
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in value)):
        raise ConfigError(f"{where} must be a count or a non-empty list of integer seeds, "
                          f"not {value!r}")
    bad = [s for s in value if not 0 <= s <= MAX_SEED]
    if bad:
        raise ConfigError(f"{where} holds {bad[0]}; allowed 0..{MAX_SEED}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where} repeats a seed: {value}")
    return tuple(value)


def _table(document: dict, name: str) -> dict:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table, not {type(value).__name__}")
    return value


def _axes(task: Task, where: str, table: dict) -> dict:
    """``{name: values}`` of an axes table, each value checked as the parameter's."""
    axes = {}
    for name, values in table.items():
        task.check_name(f"{where}.{name}", name)
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}.{name} must be a non-empty list of values, "
                              f"not {values!r}")
        if len({json.dumps(v) for v in values}) != len(values):
            raise ConfigError(f"{where}.{name} repeats a value: {values}")
        axes[name] = [task.check_value(f"{where}.{name}", name, value) for value in values]
    return axes


def parse_spec(text: str, *, name: str = "sweep", base: str | Path = ".") -> SweepSpec:
    """A :class:`SweepSpec` of TOML ``text`` (module docstring), checked whole."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"malformed TOML: {error}") from None
    unknown = sorted(set(document) - set(TABLES))
    if unknown:
        raise ConfigError(f"unknown table(s) {unknown} in the sweep spec; allowed "
                          f"{list(TABLES)}")
    sweep = _table(document, "sweep")
    unknown = sorted(set(sweep) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s) sweep.{unknown[0]}; allowed "
                          f"{['sweep.' + k for k in SWEEP_KEYS]}")
    if "task" not in sweep:
        raise ConfigError(f"sweep.task is missing; allowed {sorted(TASKS)}")
    if sweep["task"] not in TASKS:
        raise ConfigError(f"sweep.task = {sweep['task']!r} is not a task; allowed "
                          f"{sorted(TASKS)}")
    task = TASKS[sweep["task"]]
    spec_name = sweep.get("name", name)
    if not isinstance(spec_name, str) or not spec_name:
        raise ConfigError(f"sweep.name must be a non-empty string, not {spec_name!r}")
    seeds = _seeds("sweep.seeds", sweep.get("seeds", 1))
    keep = sweep.get("keep", list(task.figures))
    if not isinstance(keep, list) or not keep or not all(isinstance(k, str) for k in keep):
        raise ConfigError(f"sweep.keep must be a non-empty list of figure names, not {keep!r}; "
                          f"allowed {list(task.figures)}")
    for figure in keep:
        if figure not in task.figures:
            raise ConfigError(f"sweep.keep names {figure!r}, not a figure of task "
                              f"{task.name!r}; allowed {list(task.figures)}")
    data_dir = sweep.get("data_dir", os.environ.get("SPINEMU_DATA", DEFAULT_DATA_DIR))
    if not isinstance(data_dir, str):
        raise ConfigError(f"sweep.data_dir must be a folder path, not {data_dir!r}")
    data_dir = str((Path(base) / data_dir).resolve())

    fixed = {}
    for key, value in _table(document, "fixed").items():
        task.check_name(f"fixed.{key}", key)
        fixed[key] = task.check_value(f"fixed.{key}", key, value)
    shared = _axes(task, "axes", _table(document, "axes"))
    overlap = sorted(set(shared) & set(fixed))
    if overlap:
        raise ConfigError(f"axes.{overlap[0]} is also in [fixed]; a parameter is fixed or "
                          "swept, not both")
    grid_tables = document.get("grid", [{}])
    if not isinstance(grid_tables, list) or not grid_tables:
        raise ConfigError("grid must be an array of tables ([[grid]]), one per grid")
    grids, names = [], set()
    for index, table in enumerate(grid_tables):
        where = f"grid[{index}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table, not {type(table).__name__}")
        table = dict(table)
        grid_name = table.pop("name", str(index) if len(grid_tables) > 1 else spec_name)
        if not isinstance(grid_name, str) or grid_name in names:
            raise ConfigError(f"{where}.name = {grid_name!r} must be a string no other grid "
                              "has")
        names.add(grid_name)
        grid_seeds = _seeds(f"{where}.seeds", table.pop("seeds")) if "seeds" in table else seeds
        own = _axes(task, where, table)
        overlap = sorted(set(own) & set(shared))
        if overlap:
            raise ConfigError(f"{where}.{overlap[0]} is also in [axes]; sweep it in one place")
        grids.append(Grid(grid_name, {**shared, **own}, grid_seeds))

    spec = SweepSpec(spec_name, task, seeds, tuple(keep), data_dir, dict(fixed), tuple(grids),
                     text)
    for point in spec.unique_points():
        task.check_point(point.params, data_dir, point.grid, point.axes)
    return spec
