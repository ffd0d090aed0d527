"""Problem files: G-set/rudy Max-Cut graphs and Ising problems as JSON.

Every error is a :class:`~spinemu.config.ConfigError` naming the file and the line or entry.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError

from .problem import IsingProblem, MaxCut

__all__ = ["read_gset", "write_gset", "read_ising_json", "load_problem"]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _new_edge(where: str, i: int, j: int, seen: dict, noun: str, origin: str) -> tuple[int, int]:
    """The edge ``(min, max)`` of ends ``i, j``; refuses a self loop or an edge already in
    ``seen`` (which maps each edge to where it was first given, e.g. ``"on line 3"``)."""
    if i == j:
        raise ConfigError(f"{where}: self loop on node {i}")
    key = (min(i, j), max(i, j))
    if key in seen:
        raise ConfigError(f"{where}: duplicate {noun} {key[0]}-{key[1]} (first {seen[key]})")
    seen[key] = origin
    return key


def read_gset(path: str | Path) -> MaxCut:
    """A G-set/rudy Max-Cut file: a line ``N E``, then ``E`` lines ``i j w`` (nodes 1..N).

    Blank lines are skipped. Errors name the line: a bad header, a line that is not three
    fields, a node out of range, a self loop, a duplicate edge (either order), a weight that is
    not a finite number, or a number of edges that differs from the header.
    """
    path = Path(path)
    lines = [(number, line.split()) for number, line in
             enumerate(path.read_text().splitlines(), start=1) if line.strip()]
    if not lines:
        raise ConfigError(f"{path.name}: empty file; expected a header line 'N E'")
    number, header = lines[0]
    if len(header) != 2 or not all(f.isdigit() for f in header) or int(header[0]) < 1:
        raise ConfigError(f"{path.name} line {number}: bad header {' '.join(header)!r}; "
                          f"expected 'N E' (nodes >= 1, edges >= 0)")
    n, count = map(int, header)
    edges, weights, seen = [], [], {}
    for number, fields in lines[1:]:
        where = f"{path.name} line {number}"
        if len(fields) != 3:
            raise ConfigError(f"{where}: expected 'i j w', got {' '.join(fields)!r}")
        ends = []
        for field in fields[:2]:
            node = int(field) if field.lstrip("-").isdigit() else None
            if node is None or not 1 <= node <= n:
                raise ConfigError(f"{where}: node {field} is out of range; allowed 1..{n}")
            ends.append(node)
        key = _new_edge(where, *ends, seen, "edge", f"on line {number}")
        weight = _number(fields[2])
        if weight is None:
            raise ConfigError(f"{where}: bad weight {fields[2]!r}; expected a finite number")
        edges.append((key[0] - 1, key[1] - 1))
        weights.append(weight)
    if len(edges) != count:
        raise ConfigError(f"{path.name} line {lines[0][0]}: header says {count} edges but the "
                          f"file has {len(edges)}")
    return MaxCut(n, np.array(edges, dtype=np.int64).reshape(-1, 2),
                  np.array(weights, dtype=np.float64), path.stem)


def write_gset(maxcut: MaxCut, path: str | Path) -> None:
    """Write ``maxcut`` as a G-set/rudy file that :func:`read_gset` reads back equal (nodes
    1-based; integral weights written as integers)."""
    lines = [f"{maxcut.n} {len(maxcut.edges)}"]
    for (i, j), w in zip(maxcut.edges.tolist(), maxcut.weights.tolist(), strict=True):
        lines.append(f"{i + 1} {j + 1} {int(w) if float(w).is_integer() else repr(w)}")
    Path(path).write_text("\n".join(lines) + "\n")


def read_ising_json(path: str | Path) -> IsingProblem:
    """An Ising problem as JSON: ``{"n": N, "J": [[i, j, w], ...], "h": [h_0, ...]}``.

    Nodes are ``0..N-1``; ``h`` may be omitted (zeros); weights and biases are finite numbers.
    Errors name the entry (``J[k]``, ``h[i]``).
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path.name}: malformed JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path.name}: expected an object with keys n, J, h")
    unknown = sorted(set(document) - {"n", "J", "h"})
    if unknown:
        raise ConfigError(f"{path.name}: unknown key(s) {unknown}; allowed ['J', 'h', 'n']")
    n = document.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"{path.name}: n = {n!r} must be an integer >= 1")
    couplings = document.get("J", [])
    if not isinstance(couplings, list):
        raise ConfigError(f"{path.name}: J must be a list of [i, j, w]")
    edges, weights, seen = [], [], {}
    for k, entry in enumerate(couplings):
        where = f"{path.name}: J[{k}]"
        if not isinstance(entry, list) or len(entry) != 3:
            raise ConfigError(f"{where} = {entry!r} must be [i, j, w]")
        i, j, w = entry
        for node in (i, j):
            if isinstance(node, bool) or not isinstance(node, int) or not 0 <= node < n:
                raise ConfigError(f"{where}: node {node!r} is out of range; allowed 0..{n - 1}")
        key = _new_edge(where, i, j, seen, "coupling", f"at J[{k}]")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise ConfigError(f"{where}: weight {w!r} must be a finite number")
        edges.append(key)
        weights.append(float(w))
    h = document.get("h", [0] * n)
    if not isinstance(h, list) or len(h) != n:
        raise ConfigError(f"{path.name}: h must be a list of n = {n} numbers")
    for i, value in enumerate(h):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            raise ConfigError(f"{path.name}: h[{i}] = {value!r} must be a finite number")
    return IsingProblem(n, np.array(edges, dtype=np.int64).reshape(-1, 2),
                        np.array(weights, dtype=np.float64), np.array(h, dtype=np.float64),
                        path.stem)


def load_problem(path: str | Path) -> MaxCut | IsingProblem:
    """A ``.json`` file is an Ising problem; anything else a G-set/rudy Max-Cut graph."""
    path = Path(path)
    return read_ising_json(path) if path.suffix == ".json" else read_gset(path)
