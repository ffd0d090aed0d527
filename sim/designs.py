"""Verilog of a simulated design, converted once per configuration.

Amaranth's conversion of a design to Verilog is pure Python and costs seconds: 0.3-3.6 s for a
tile of the test suite, 7-12 s for a p-bit core of 64 units. The same design is converted again
for every simulator and every run, although only the configuration it was made from decides the
Verilog. :func:`design_verilog` keeps the Verilog in the simulator cache
(:func:`~spinemu.sim.runner.cache_root`, ``verilog/KEY/``), KEY hashing:

- the component's class (its module and qualified name) and the arguments it is made from,
  encoded by :func:`canonical` (configurations field by field, arrays by dtype, shape and a hash
  of their bytes);
- the module name the Verilog is written with;
- the source of every spinemu package (:func:`source_digest`: any edit of the HDL, or of what it
  imports, is a new key) and the versions of Amaranth, numpy and Python.

An argument :func:`canonical` cannot encode (a component, a callable) makes the design
unkeyable: it is converted every time, as before. Entries are pruned with the builds, by the
prune of the next build (:func:`~spinemu.sim.runner.prune_cache`, least recently used first):
every caller builds the Verilog it gets, and a prune walks the whole cache (0.14 s for 271
builds), so a converted design is not followed by two.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import sys
from functools import lru_cache
from importlib import import_module, metadata
from pathlib import Path

import numpy as np

from spinemu.sim.runner import cache_root, used_build, write_whole

__all__ = ["PACKAGES", "Unkeyable", "canonical", "design_key", "design_verilog",
           "source_digest"]

#: The packages whose Python source is part of every key (the HDL and everything it imports).
PACKAGES = ("spinemu", "spinemu.hdl", "spinemu.gateware", "spinemu.sim", "spinemu.boards")


class Unkeyable(TypeError):
    """A design argument :func:`canonical` cannot encode."""


def _name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def canonical(value):
    """``value`` as JSON-able data that two values share only if they are equal: None, bools,
    ints and strings as they are, floats exactly (``float.hex``), numpy arrays and scalars as
    dtype, shape and the SHA-256 of their bytes, enums and dataclasses (the configurations,
    :class:`~spinemu.config.Topology`) by class and fields, lists, tuples and dicts item by
    item. Anything else raises :class:`Unkeyable`."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return ["float", value.hex()]
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.ascontiguousarray(value)
        return ["ndarray", array.dtype.str, list(array.shape),
                hashlib.sha256(array.tobytes()).hexdigest()]
    if isinstance(value, enum.Enum):
        return [_name(type(value)), value.name]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [_name(type(value)), {field.name: canonical(getattr(value, field.name))
                                     for field in dataclasses.fields(value)}]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [canonical(item) for item in value]]
    if isinstance(value, dict):
        items = [[canonical(key), canonical(item)] for key, item in value.items()]
        return ["dict", sorted(items, key=json.dumps)]
    raise Unkeyable(f"{_name(type(value))} cannot be part of a design key")


@lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 over the path and bytes of every ``.py`` file of :data:`PACKAGES` (read once
    per process)."""
    digest = hashlib.sha256()
    folders = sorted({Path(folder) for package in PACKAGES
                      for folder in import_module(package).__path__})
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            digest.update(str(path.relative_to(folder.parent)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def design_key(make: type, args: tuple, kwargs: dict, name: str) -> str:
    """The cache key of ``make(*args, **kwargs)`` converted as module ``name`` (see the module's
    docstring); raises :class:`Unkeyable` for an argument :func:`canonical` cannot encode."""
    versions = [metadata.version(package) for package in ("amaranth", "numpy")]
    text = json.dumps([_name(make), canonical(list(args)), canonical(kwargs), name,
                       source_digest(), versions, sys.version_info[:2]])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def design_verilog(make: type, *args, name: str, cache_dir: str | Path | None = None,
                   **kwargs) -> str:
    """Verilog (:func:`~spinemu.gateware.convert.to_verilog`) of the component
    ``make(*args, **kwargs)`` as module ``name``: the kept copy when this configuration was
    converted before, else converted now and kept. ``cache_dir`` is the cache root (default
    :func:`~spinemu.sim.runner.cache_root`)."""
    from spinemu.gateware.convert import to_verilog

    try:
        key = design_key(make, args, kwargs, name)
    except Unkeyable:
        return to_verilog(make(*args, **kwargs), name)
    root = Path(cache_dir or cache_root())
    folder = root / "verilog" / key
    source = folder / f"{name}.v"
    if (folder / ".built").exists():
        try:
            text = source.read_text()
        except FileNotFoundError:   # pruned by another process just now
            pass
        else:
            used_build(folder)
            return text
    text = to_verilog(make(*args, **kwargs), name)
    folder.mkdir(parents=True, exist_ok=True)
    write_whole(source, lambda staging: staging.write_text(text))
    used_build(folder)
    return text
