"""Ising problems and Max-Cut on the p-bit core: files, scaling, colouring, schedules and runs.

The p-bit core (DESIGN.md 3.4) minimises, or samples ``exp(-beta E)`` of,

    E(m) = - sum_{i<j} J[i, j] m[i] m[j] - sum_i h[i] m[i],       m in {-1, +1}^n.

A Max-Cut graph with edge weights ``w`` is the Ising problem ``J = -w``, ``h = 0``: with
``W = sum_e w_e``, the cut of a partition is ``sum_e w_e [m_i != m_j] = sum_e w_e (1 - m_i m_j)
/ 2 = (W - E) / 2``, so a largest cut is a lowest energy. An Ising problem with biases becomes a
Max-Cut graph on one more node (the ancilla ``n``, coupled to ``i`` by ``h[i]``) with
``E = W - 2 cut`` for the state read relative to the ancilla (:func:`ising_to_maxcut`).

This module reads problems (G-set/rudy files, Ising JSON), scales real couplings to the core's
integers (:func:`quantize`), colours the graph (:func:`colour`), builds beta schedules and runs
them on a backend (:func:`anneal`, :func:`sample`). Betas are in the units of the problem as
given; the integer problem the hardware holds is ``scale`` times it, so its beta is ``beta /
scale``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from spinemu.config import ConfigError, PBitConfig, Topology
from spinemu.numeric import round_half_away, signed_range, unsigned_range
from spinemu.sim.golden.pbit import (
    PBitModel,
    PBitRun,
    replica_seeds,
)

__all__ = [
    "DEFAULT_CONFIG", "STRATEGIES", "SCHEDULES", "BACKENDS", "MaxCut", "IsingProblem",
    "read_gset", "read_ising_json", "load_problem", "ising_to_maxcut", "Quantized", "quantize",
    "colour", "beta_code", "linear_schedule", "geometric_schedule", "make_schedule",
    "default_beta_range", "AnnealResult", "anneal", "SampleResult", "sample", "all_states",
    "state_index", "exact_distribution", "kl_divergence", "check_backend", "run_backend",
]

#: Number formats for annealing and sampling: beta = B / 2**13 up to 8 in steps of 1/8192;
#: 8-bit couplings hold the +-1 weights of G-set graphs exactly.
DEFAULT_CONFIG = PBitConfig(coupling_bits=8, bias_bits=12, beta_bits=16, beta_frac=7,
                            lut_bits=10, lut_frac=6, rng_bits=14)
#: networkx greedy colouring strategies (deterministic ones); DSATUR gives the fewest colours
#: here (G1: 15, G22: 8), hence the fewest phases per sweep.
STRATEGIES = ("DSATUR", "largest_first", "smallest_last", "independent_set",
              "connected_sequential_bfs", "connected_sequential_dfs")
SCHEDULES = ("geometric", "linear")
BACKENDS = ("golden", "rtl", "board")
#: Largest n whose 2**n states are enumerated for exact Boltzmann distributions.
EXACT_MAX_N = 20


# --- Problems ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class IsingProblem:
    """``E(m) = -sum_e J_e m_i m_j - sum_i h_i m_i`` over edges ``(i, j)``, ``i < j``.

    Attributes
    ----------
    n : int
    edges : int64 [E, 2]
        Pairs ``i < j``, each once.
    J : float64 [E]
    h : float64 [n]
    name : str
    """

    n: int
    edges: np.ndarray
    J: np.ndarray
    h: np.ndarray
    name: str = ""

    def energy(self, states) -> np.ndarray:
        """Energies (float64) of states ``[..., n]`` of 0/1 values."""
        m = 2 * np.asarray(states, dtype=np.float64) - 1
        i, j = self.edges.T
        return -(m[..., i] * m[..., j]) @ self.J - m @ self.h

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(J[n, n], h[n])`` as float64, ``J`` symmetric with a zero diagonal."""
        J = np.zeros((self.n, self.n))
        i, j = self.edges.T
        J[i, j] = J[j, i] = self.J
        return J, self.h


@dataclass(frozen=True, eq=False)
class MaxCut:
    """A weighted graph whose largest cut is wanted; nodes ``0..n-1``, edges ``i < j``."""

    n: int
    edges: np.ndarray
    weights: np.ndarray
    name: str = ""

    @property
    def total_weight(self) -> float:
        return float(self.weights.sum())

    def cut(self, states) -> np.ndarray:
        """``sum_e w_e [s_i != s_j]`` for states ``[..., n]`` of 0/1 values."""
        s = np.asarray(states)
        i, j = self.edges.T
        return (s[..., i] != s[..., j]) @ self.weights

    def to_ising(self) -> IsingProblem:
        """``J = -w``, ``h = 0``: then ``cut = (W - E) / 2``."""
        return IsingProblem(self.n, self.edges, -self.weights, np.zeros(self.n), self.name)


def ising_to_maxcut(problem: IsingProblem) -> MaxCut:
    """The Max-Cut graph of an Ising problem: ``w = -J``, plus node ``n`` coupled by ``h``.

    For a state ``s`` of the ``n + 1`` nodes let ``m_i' = m_i m_n`` (the Ising state read
    relative to the ancilla); then ``E(m') = W - 2 cut(s)``. Without biases there is no
    ancilla and ``E(m) = W - 2 cut(s)`` directly.
    """
    if not problem.h.any():
        return MaxCut(problem.n, problem.edges, -problem.J, problem.name)
    nodes = np.flatnonzero(problem.h)
    ancilla = np.stack([nodes, np.full(len(nodes), problem.n)], axis=1)
    return MaxCut(problem.n + 1, np.concatenate([problem.edges, ancilla]),
                  np.concatenate([-problem.J, -problem.h[nodes]]), problem.name)


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


# --- Integers for the core --------------------------------------------------------------------

@dataclass(frozen=True)
class Quantized:
    """Integer couplings and biases of a problem: ``J ~ scale * problem.J``.

    Attributes
    ----------
    J : int64 [E]
    h : int64 [n]
    scale : float
        Integer units per problem unit (1 when the problem already fits, unchanged).
    max_rel_error : float
        ``max |q / scale - x| / |x|`` over every non-zero coupling and bias ``x``.
    zeroed : int
        Non-zero couplings and biases that became 0.
    """

    J: np.ndarray
    h: np.ndarray
    scale: float
    max_rel_error: float
    zeroed: int


def _round(values: np.ndarray) -> np.ndarray:
    return np.array([round_half_away(v) for v in values.tolist()], dtype=np.int64)


def quantize(problem: IsingProblem, config: PBitConfig) -> Quantized:
    """Scale ``J`` and ``h`` by one factor onto signed ``coupling_bits`` / ``bias_bits``.

    Integer problems that fit are kept as they are (``scale = 1``, no error). Otherwise
    ``scale`` is the largest factor that keeps every coupling and bias inside its range, and
    values are rounded half away from zero (:func:`spinemu.numeric.round_half_away`).
    """
    j_top = signed_range(config.coupling_bits)[1]
    h_top = signed_range(config.bias_bits)[1]
    J, h = problem.J, problem.h
    fits = (np.all(J == np.round(J)) and np.all(h == np.round(h))
            and np.abs(J).max(initial=0) <= j_top and np.abs(h).max(initial=0) <= h_top)
    if fits:
        return Quantized(J.astype(np.int64), h.astype(np.int64), 1.0, 0.0, 0)
    limits = [top / big for top, big in ((j_top, np.abs(J).max(initial=0)),
                                          (h_top, np.abs(h).max(initial=0))) if big > 0]
    scale = min(limits)
    qJ, qh = _round(J * scale), _round(h * scale)
    values = np.concatenate([J, h])
    codes = np.concatenate([qJ, qh])
    nonzero = values != 0
    error = np.abs(codes[nonzero] / scale - values[nonzero]) / np.abs(values[nonzero])
    return Quantized(qJ, qh, float(scale), float(error.max(initial=0.0)),
                     int(np.sum(nonzero & (codes == 0))))


def colour(n: int, edges, strategy: str = "DSATUR", colours=None) -> Topology:
    """The :class:`Topology` of a graph with a proper colouring.

    ``colours`` (one per node) is used as given when passed; otherwise networkx's greedy
    colouring with ``strategy`` (one of :data:`STRATEGIES`) makes one. Either way
    :class:`Topology` checks that it is proper (an edge inside a colour is named).
    """
    pairs = tuple((int(i), int(j)) for i, j in np.asarray(edges).reshape(-1, 2))
    if colours is None:
        if strategy not in STRATEGIES:
            raise ConfigError(f"colouring strategy = {strategy!r} is not known; allowed "
                              f"{list(STRATEGIES)}")
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(pairs)
        found = nx.greedy_color(graph, strategy=strategy)
        colours = [found[node] for node in range(n)]
    return Topology(n, pairs, tuple(int(c) for c in colours))


# --- Schedules --------------------------------------------------------------------------------

def beta_code(config: PBitConfig, beta: float, scale: float = 1.0, name: str = "beta") -> int:
    """The code ``B = round(beta / scale * 2**(beta_frac + lut_frac))`` of a problem-unit beta.

    ``scale`` is :attr:`Quantized.scale` (integer units per problem unit); the error names
    ``name`` and gives the range of betas the config can hold, in problem units.
    """
    code = round_half_away(beta / scale * (1 << (config.beta_frac + config.lut_frac)))
    top = unsigned_range(config.beta_bits)[1]
    if not 0 <= code <= top:
        raise ConfigError(f"{name} = {beta:g} needs B = {code}, out of range; allowed B "
                          f"0..{top} ({name} 0..{config.beta(top) * scale:g} with beta_bits = "
                          f"{config.beta_bits}, beta_frac = {config.beta_frac}, lut_frac = "
                          f"{config.lut_frac}, scale = {scale:g})")
    return code


def _steps(sweeps: int, steps: int | None) -> list[int]:
    """Sweeps per step: ``steps`` near-equal parts of ``sweeps`` (default ``min(sweeps,
    100)``), longer ones first."""
    if sweeps < 1:
        raise ConfigError(f"sweeps = {sweeps} is out of range; allowed >= 1")
    steps = min(sweeps, 100) if steps is None else steps
    if not 1 <= steps <= sweeps:
        raise ConfigError(f"steps = {steps} is out of range; allowed 1..{sweeps} (sweeps)")
    return [sweeps // steps + (k < sweeps % steps) for k in range(steps)]


def _schedule(config, ends, betas, lengths, scale) -> list[tuple[int, int]]:
    """``(B, sweeps)`` pairs with equal neighbouring codes merged (that changes nothing)."""
    for name, value in zip(("beta_start", "beta_end"), ends, strict=True):
        beta_code(config, value, scale, name)
    merged: list[tuple[int, int]] = []
    for beta, length in zip(betas, lengths, strict=True):
        code = beta_code(config, float(beta), scale)
        if merged and merged[-1][0] == code:
            merged[-1] = (code, merged[-1][1] + length)
        else:
            merged.append((code, length))
    return merged


def linear_schedule(config: PBitConfig, beta_start: float, beta_end: float, sweeps: int,
                    steps: int | None = None, scale: float = 1.0) -> list[tuple[int, int]]:
    """``steps`` betas evenly spaced from ``beta_start`` to ``beta_end`` (problem units of a
    problem held ``scale`` times larger by the core)."""
    lengths = _steps(sweeps, steps)
    for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not value >= 0:
            raise ConfigError(f"{name} = {value:g} is out of range; allowed >= 0")
    return _schedule(config, (beta_start, beta_end),
                     np.linspace(beta_start, beta_end, len(lengths)), lengths, scale)


def geometric_schedule(config: PBitConfig, beta_start: float, beta_end: float, sweeps: int,
                       steps: int | None = None, scale: float = 1.0) -> list[tuple[int, int]]:
    """``steps`` betas in geometric progression from ``beta_start`` to ``beta_end``."""
    lengths = _steps(sweeps, steps)
    for name, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not value > 0:
            raise ConfigError(f"{name} = {value:g} is out of range; allowed > 0 for a "
                              f"geometric schedule")
    return _schedule(config, (beta_start, beta_end),
                     np.geomspace(beta_start, beta_end, len(lengths)), lengths, scale)


def make_schedule(kind: str, config: PBitConfig, beta_start: float, beta_end: float,
                  sweeps: int, steps: int | None = None,
                  scale: float = 1.0) -> list[tuple[int, int]]:
    """:func:`geometric_schedule` or :func:`linear_schedule` by name."""
    if kind not in SCHEDULES:
        raise ConfigError(f"schedule = {kind!r} is not known; allowed {list(SCHEDULES)}")
    build = geometric_schedule if kind == "geometric" else linear_schedule
    return build(config, beta_start, beta_end, sweeps, steps, scale)


def default_beta_range(J: np.ndarray, h: np.ndarray, n: int, edges) -> tuple[float, float]:
    """``(beta_start, beta_end)`` in the units of ``J`` and ``h`` for an anneal.

    Hot end ``1 / sigma`` with ``sigma`` the root mean square over p-bits of the field's spread
    ``sqrt(sum_j J_ij**2 + h_i**2)`` (the typical field of a random state): most flips are then
    still taken. Cold end ``3 / |J|_min`` with ``|J|_min`` the smallest non-zero coupling or
    bias: the smallest energy step ``2 |J|_min`` is then climbed with probability
    ``e**-6 / (1 + e**-6) = 0.25 %`` per update. Tuned on G-set (docs/pbit.md).
    """
    squares = np.square(h).astype(np.float64)
    edges = np.asarray(edges).reshape(-1, 2)
    np.add.at(squares, edges[:, 0], np.square(J))
    np.add.at(squares, edges[:, 1], np.square(J))
    values = np.abs(np.concatenate([J, h]))
    values = values[values > 0]
    if not values.size:
        raise ConfigError("the problem has no non-zero coupling or bias; nothing to anneal")
    return 1 / math.sqrt(squares.mean()), 3 / float(values.min())


# --- Running ----------------------------------------------------------------------------------

def check_backend(backend: str) -> None:
    """Refuse an unknown backend."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend = {backend!r} is not known; allowed {list(BACKENDS)}")


def run_backend(backend: str, model: PBitModel, schedule, seeds, initial, record: int = 0,
                progress=None, *, port: str | None = None,
                simulator: str = "verilator") -> PBitRun:
    """Run a programmed core (checked by building ``model``) on a backend.

    ``"golden"`` runs every replica at once on the golden model; ``"rtl"`` (``simulator``) and
    ``"board"`` (``port``) run them one after another on one core through
    :func:`spinemu.emulator.run_replicas`, one simulation or one board for all, and read the
    LFSR states back. ``progress`` is called after every schedule step (golden) or replica.
    """
    check_backend(backend)
    if backend == "golden":
        return model.run(schedule, seeds, initial, record=record, progress=progress)
    from spinemu.emulator import run_replicas  # the API sits above this module

    return run_replicas(model, schedule, seeds, initial, record=record, backend=backend,
                        port=port, simulator=simulator, progress=progress)


@dataclass(frozen=True, eq=False)
class AnnealResult:
    """One anneal of ``replicas`` chains.

    Attributes
    ----------
    problem : MaxCut or IsingProblem
    topology : Topology
    config : PBitConfig
    quantized : Quantized
    schedule : list of (int, int)
        ``(B, sweeps)`` steps run.
    beta_range : (float, float)
        ``beta_start, beta_end`` in problem units.
    seeds, initial : [replicas, n]
        LFSR seeds and starting states.
    run : PBitRun
    energies : float64 [replicas]
        Problem-unit energy of each replica's best state.
    cuts : float64 [replicas] or None
        Cut of each replica's best state (Max-Cut problems).
    wall_seconds : float
        The backend's run alone.
    setup_seconds : float
        Before the run: scaling, colouring, the schedule and building the model.
    """

    problem: MaxCut | IsingProblem
    topology: Topology
    config: PBitConfig
    quantized: Quantized
    schedule: list
    beta_range: tuple[float, float]
    seeds: np.ndarray
    initial: np.ndarray
    run: PBitRun
    energies: np.ndarray
    cuts: np.ndarray | None
    wall_seconds: float
    setup_seconds: float

    @property
    def sweeps(self) -> int:
        return self.run.sweeps

    @property
    def spin_updates(self) -> int:
        return self.run.spin_updates

    @property
    def updates_per_second(self) -> float:
        return self.spin_updates / self.wall_seconds if self.wall_seconds > 0 else math.inf

    @property
    def best_cut(self) -> float | None:
        return None if self.cuts is None else float(self.cuts.max())

    @property
    def mean_cut(self) -> float | None:
        return None if self.cuts is None else float(self.cuts.mean())

    @property
    def best_energy(self) -> float:
        return float(self.energies.min())


def _ising(problem: MaxCut | IsingProblem) -> IsingProblem:
    return problem.to_ising() if isinstance(problem, MaxCut) else problem


def anneal(problem: MaxCut | IsingProblem, *, sweeps: int = 1000, beta_start=None,
           beta_end=None, schedule: str = "geometric", steps: int | None = None,
           replicas: int = 10, seed: int = 0, config: PBitConfig = DEFAULT_CONFIG,
           strategy: str = "DSATUR", backend: str = "golden", record: int = 0,
           topology: Topology | None = None, progress=None, port: str | None = None,
           simulator: str = "verilator") -> AnnealResult:
    """Anneal ``replicas`` chains of a problem and keep each one's best state.

    Parameters
    ----------
    problem : MaxCut or IsingProblem
    sweeps : int
        Sweeps in all, split into ``steps`` steps (default ``min(sweeps, 100)``).
    beta_start, beta_end : float, optional
        Inverse temperatures in problem units; :func:`default_beta_range` when omitted.
    schedule : {"geometric", "linear"}
    replicas, seed : int
        Chains, and the master seed of their LFSRs (:func:`replica_seeds`). Every chain starts
        from the all-zero state.
    config : PBitConfig
    strategy : str
        Colouring strategy (:data:`STRATEGIES`), unless ``topology`` is given.
    backend : {"golden", "rtl", "board"}
        With ``simulator`` (rtl) or ``port`` (board): :func:`run_backend`.
    record : int
        Keep the state after every ``record``-th sweep (0: none).
    topology : Topology, optional
        Graph and colouring to use; its edges must be the problem's.
    progress : callable, optional
        ``progress(done, total)`` after every schedule step (golden backend).
    """
    started = time.perf_counter()
    check_backend(backend)
    ising = _ising(problem)
    quantized = quantize(ising, config)
    if topology is None:
        topology = colour(ising.n, ising.edges, strategy)
    elif topology.edges != tuple(map(tuple, ising.edges.tolist())):
        raise ConfigError("topology edges differ from the problem's edges")
    if beta_start is None or beta_end is None:
        default = default_beta_range(quantized.J, quantized.h, ising.n, ising.edges)
        beta_start = default[0] * quantized.scale if beta_start is None else beta_start
        beta_end = default[1] * quantized.scale if beta_end is None else beta_end
    beta_range = (beta_start, beta_end)
    steps_run = make_schedule(schedule, config, *beta_range, sweeps, steps, quantized.scale)
    seeds = replica_seeds(seed, replicas, ising.n)
    initial = np.zeros((replicas, ising.n), dtype=np.uint8)
    model = PBitModel(config, topology, quantized.J, quantized.h)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    run = run_backend(backend, model, steps_run, seeds, initial, record, progress, port=port,
                      simulator=simulator)
    wall = time.perf_counter() - started
    cuts = problem.cut(run.best_state) if isinstance(problem, MaxCut) else None
    return AnnealResult(problem, topology, config, quantized, steps_run, beta_range, seeds,
                        initial, run, ising.energy(run.best_state), cuts, wall, setup)


# --- Sampling and exact distributions ---------------------------------------------------------

def all_states(n: int) -> np.ndarray:
    """Every state of ``n`` p-bits, ``[2**n, n]`` uint8; row ``k`` holds the bits of ``k``."""
    if not 1 <= n <= EXACT_MAX_N:
        raise ConfigError(f"n = {n} is out of range for enumeration; allowed 1..{EXACT_MAX_N}")
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def state_index(states) -> np.ndarray:
    """``sum_k s_k 2**k`` of states ``[..., n]`` (n <= 62), int64: the row of
    :func:`all_states`."""
    s = np.asarray(states, dtype=np.int64)
    return s @ (np.int64(1) << np.arange(s.shape[-1], dtype=np.int64))


def exact_distribution(J: np.ndarray, h: np.ndarray, beta: float) -> np.ndarray:
    """``p[k] = exp(-beta E(k)) / Z`` over :func:`all_states` for dense ``J[n, n]``, ``h[n]``."""
    m = 2 * all_states(len(h)).astype(np.float64) - 1
    energies = -0.5 * np.einsum("ki,ij,kj->k", m, J, m) - m @ h
    weights = np.exp(-beta * (energies - energies.min()))
    return weights / weights.sum()


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """``KL(p || q) = sum_{p > 0} p log(p / q)`` in nats."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    seen = p > 0
    return float(np.sum(p[seen] * np.log(p[seen] / q[seen])))


@dataclass(frozen=True, eq=False)
class SampleResult:
    """Samples of a problem at a fixed beta.

    Attributes
    ----------
    problem : IsingProblem
    quantized : Quantized
    beta : float
        The beta sampled, in problem units, after rounding to a code (``beta_code``).
    code : int
    states : uint8 [samples, n]
        Every sweep of every replica after the burn-in, sweep-major.
    energies : float64 [samples]
        Problem-unit energies of ``states``.
    exact : float64 [2**n] or None
        Boltzmann distribution of the integer problem at ``code`` (n <= 16).
    empirical : float64 [2**n] or None
        Sampled frequencies over the same states (n <= 16).
    kl : float or None
        ``KL(empirical || exact)`` in nats.
    wall_seconds : float
    """

    problem: IsingProblem
    quantized: Quantized
    beta: float
    code: int
    states: np.ndarray
    energies: np.ndarray
    exact: np.ndarray | None
    empirical: np.ndarray | None
    kl: float | None
    wall_seconds: float


def sample(problem: MaxCut | IsingProblem, *, beta: float, samples: int, burn_in: int = 100,
           replicas: int = 100, seed: int = 0, config: PBitConfig = DEFAULT_CONFIG,
           strategy: str = "DSATUR", backend: str = "golden", exact_max_n: int = 16,
           port: str | None = None, simulator: str = "verilator") -> SampleResult:
    """Sample ``exp(-beta E)`` with ``replicas`` chains after ``burn_in`` sweeps each.

    Each chain gives one sample per sweep; ``ceil(samples / replicas)`` sweeps are run and the
    first ``samples`` states (sweep-major) kept. For ``n <= exact_max_n`` the Boltzmann
    distribution of the integer problem at the coded beta is enumerated and compared.
    """
    check_backend(backend)
    ising = _ising(problem)
    if samples < 1:
        raise ConfigError(f"samples = {samples} is out of range; allowed >= 1")
    if burn_in < 0:
        raise ConfigError(f"burn_in = {burn_in} is out of range; allowed >= 0")
    if not beta >= 0:
        raise ConfigError(f"beta = {beta:g} is out of range; allowed >= 0")
    quantized = quantize(ising, config)
    code = beta_code(config, beta, quantized.scale)
    model = PBitModel(config, colour(ising.n, ising.edges, strategy), quantized.J, quantized.h)
    seeds = replica_seeds(seed, replicas, ising.n)
    initial = np.zeros((replicas, ising.n), dtype=np.uint8)
    sweeps = -(-samples // replicas)
    started = time.perf_counter()
    run = run_backend(backend, model, [(code, burn_in + sweeps)], seeds, initial, record=1,
                      port=port, simulator=simulator)
    wall = time.perf_counter() - started
    states = run.trajectory[burn_in:].reshape(-1, ising.n)[:samples]
    exact = empirical = kl = None
    if ising.n <= exact_max_n:
        integer = IsingProblem(ising.n, ising.edges, quantized.J.astype(np.float64),
                               quantized.h.astype(np.float64))
        exact = exact_distribution(*integer.dense(), config.beta(code))
        empirical = np.bincount(state_index(states), minlength=1 << ising.n) / len(states)
        kl = kl_divergence(empirical, exact)
    return SampleResult(ising, quantized, config.beta(code) * quantized.scale, code, states,
                        ising.energy(states), exact, empirical, kl, wall)
