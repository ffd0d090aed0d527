"""Anneal and sample a problem with many replicas on a backend: golden, rtl or board.

:func:`anneal` and :func:`sample` scale the problem (:mod:`~spinemu.ising.scaling`), colour it
(:mod:`~spinemu.ising.colouring`), build a beta schedule (:mod:`~spinemu.ising.schedule`) and run
it: every replica at once on the golden model, or one after another on one core through the
public API (:func:`spinemu.emulator.run_replicas`), which this module sits on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from spinemu.config import ConfigError, PBitConfig, Topology
from spinemu.emulator import BACKENDS, run_replicas
from spinemu.sim.golden.hybrid import HybridModel, exact_tile_config
from spinemu.sim.golden.pbit import PBitModel, PBitRun, dense_couplings, replica_seeds

from .colouring import colour
from .exact import exact_distribution, kl_divergence, state_index
from .problem import IsingProblem, MaxCut
from .scaling import DEFAULT_CONFIG, Quantized, quantize
from .schedule import beta_code, default_beta_range, make_schedule

__all__ = ["BACKENDS", "build_model", "check_backend", "run_backend", "AnnealResult", "anneal",
           "SampleResult", "sample", "RBM_CONFIG", "sample_rbm"]


def check_backend(backend: str) -> None:
    """Refuse an unknown backend."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend = {backend!r} is not known; allowed {list(BACKENDS)}")


def build_model(config: PBitConfig, topology: Topology, quantized: Quantized, *,
                hybrid: bool = False) -> PBitModel | HybridModel:
    """The core a problem runs on: a p-bit core of ``topology``, or with ``hybrid`` a
    :class:`~spinemu.sim.golden.hybrid.HybridModel` (a crossbar tile computing the fields of the
    dense couplings, :func:`~spinemu.sim.golden.hybrid.exact_tile_config`, feeding p-bits in the
    phases of ``topology``'s colouring). A problem whose fields overflow the exact ADC path is
    refused (:class:`~spinemu.config.ConfigError`, naming the bound)."""
    if not hybrid:
        return PBitModel(config, topology, quantized.J, quantized.h)
    J = dense_couplings(topology, quantized.J)
    return HybridModel(exact_tile_config(J, config), config, J, quantized.h, topology.colours)


def run_backend(backend: str, model: PBitModel | HybridModel, schedule, seeds, initial,
                record: int = 0, progress=None, *, port: str | None = None,
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
           simulator: str = "verilator", hybrid: bool = False) -> AnnealResult:
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
        Chains, and the master seed of their LFSRs
        (:func:`~spinemu.sim.golden.pbit.replica_seeds`). Every chain starts from the all-zero
        state.
    config : PBitConfig
    strategy : str
        Colouring strategy (:data:`~spinemu.ising.colouring.STRATEGIES`), unless ``topology``
        is given.
    backend : {"golden", "rtl", "board"}
        With ``simulator`` (rtl) or ``port`` (board): :func:`run_backend`.
    record : int
        Keep the state after every ``record``-th sweep (0: none).
    topology : Topology, optional
        Graph and colouring to use; its edges must be the problem's.
    progress : callable, optional
        ``progress(done, total)`` after every schedule step (golden backend).
    hybrid : bool
        Run on a hybrid fabric (:func:`build_model`): a crossbar tile computes the fields.
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
    model = build_model(config, topology, quantized, hybrid=hybrid)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    run = run_backend(backend, model, steps_run, seeds, initial, record, progress, port=port,
                      simulator=simulator)
    wall = time.perf_counter() - started
    cuts = problem.cut(run.best_state) if isinstance(problem, MaxCut) else None
    return AnnealResult(problem, topology, config, quantized, steps_run, beta_range, seeds,
                        initial, run, ising.energy(run.best_state), cuts, wall, setup)


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
           port: str | None = None, simulator: str = "verilator",
           colours=None, hybrid: bool = False) -> SampleResult:
    """Sample ``exp(-beta E)`` with ``replicas`` chains after ``burn_in`` sweeps each.

    Each chain starts from all zeros and gives one sample per sweep; ``ceil(samples /
    replicas)`` sweeps are run and the first ``samples`` states (sweep-major) kept. The update
    phases are ``colours`` (one per node) when given, else a ``strategy`` colouring. For ``n <=
    exact_max_n`` the Boltzmann distribution of the integer problem at the coded beta is
    enumerated and compared. ``hybrid``: on a hybrid fabric (:func:`build_model`).
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
    model = build_model(config, colour(ising.n, ising.edges, strategy, colours), quantized,
                        hybrid=hybrid)
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


#: Number formats for RBMs: ``beta = 1`` of an RBM is ``B = 2**20 / scale``, so a scale of 16 or
#: more (couplings up to 127 / 16 * 4 ~ 32 in weight units) keeps B in 16 bits, and the usual
#: scales of 100 or more give B to better than 0.1 %.
RBM_CONFIG = PBitConfig(coupling_bits=8, bias_bits=12, beta_bits=16, beta_frac=14, lut_bits=10,
                        lut_frac=6, rng_bits=14)


def sample_rbm(rbm, *, samples: int, steps: int, seed: int = 0,
               config: PBitConfig = RBM_CONFIG, backend: str = "golden",
               port: str | None = None, simulator: str = "verilator",
               hybrid: bool = False) -> SampleResult:
    """Block Gibbs sampling of an :class:`~spinemu.ising.rbm.RBM` on p-bits: ``samples``
    independent chains from all-zero units, ``steps`` sweeps each (a sweep is one step of
    scikit-learn's ``BernoulliRBM.gibbs``: hidden units, then visible ones), at the RBM's own
    temperature; ``states`` are the chains' states after the last sweep (``rbm.split`` gives
    ``(v, h)``)."""
    if steps < 1:
        raise ConfigError(f"steps = {steps} is out of range; allowed >= 1")
    return sample(rbm.to_ising(), beta=1.0, samples=samples, burn_in=steps - 1,
                  replicas=samples, seed=seed, config=config, backend=backend, port=port,
                  simulator=simulator, colours=rbm.colours, hybrid=hybrid)
