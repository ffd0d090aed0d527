"""The hybrid fabric (a crossbar tile computing the fields, p-bits sampling from them): a
Sherrington-Kirkpatrick anneal against dwave-samplers simulated annealing, and a small RBM's
distribution against the exact one.

Run ``python -m bench.hybrid [--quick] [-o FILE]``. Both parts run on the public API
(:func:`spinemu.ising.anneal` and :func:`spinemu.ising.sample` with ``hybrid=True``) on the
golden backend, which the RTL equals after every sweep (``tests/test_hybrid.py``); ``--rtl
SWEEPS`` adds an anneal of an SK instance of :data:`RTL_N` spins on the rtl backend (a
:class:`~spinemu.gateware.hybrid_fabric.HybridFabric` under Verilator: one tile vector per p-bit
per sweep, too slow for N = 256) compared with golden sweep by sweep.

SK
    :data:`SK_INSTANCES` problems of N = 256 spins, every pair coupled with J = +-1 (fair coin,
    ``default_rng(instance)``), no fields. For each sweep count of :data:`SK_SWEEPS` and each of
    :data:`TRIALS` trials, the hybrid anneal (10 replicas, default geometric schedule, master
    seed ``trial + 1``, one p-bit per colour: the complete graph needs N colours) and 10 reads
    of ``SimulatedAnnealingSampler`` (its default schedule, ``num_sweeps`` the same, seed
    ``trial + 1``) give a best energy; a sweep is N spin updates in both. It reports the mean
    best energy per spin ``E / N**1.5`` over the trials with its standard error for each,
    against the ground-state energy per spin of large N, :data:`PARISI` (Parisi's -0.7633),
    and its finite-size estimate ``PARISI + 0.7 * N**(-2/3)`` (Boettcher, Eur. Phys. J. B
    2005: corrections of order N^(-2/3)); the target: hybrid at least as low as SA (within the
    standard error) at every sweep count.
RBM
    A random RBM of :data:`RBM_VISIBLE` visible and :data:`RBM_HIDDEN` hidden units (weights
    N(0, 1), biases N(0, 0.5), ``default_rng(7)``) at its own temperature on
    :data:`~spinemu.ising.run.RBM_CONFIG`: :data:`RBM_SAMPLES` samples (1,000 chains, 100
    sweeps of burn-in, one sample per sweep) over the bipartite phases (hidden, then visible);
    ``KL(sampled || exact)`` against the Boltzmann distribution of the integer problem enumerated
    over all 2**10 states; the target: at most 0.01 nats (a perfect sampler's bias is
    ``(2**10 - 1) / (2 * samples)``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.machine import machine_info
from spinemu.ising import IsingProblem, anneal, sample
from spinemu.ising.rbm import RBM
from spinemu.ising.run import RBM_CONFIG

REPO = Path(__file__).resolve().parents[1]
N = 256
PARISI = -0.7633
SK_INSTANCES = 3
SK_SWEEPS = (100, 1000)
TRIALS = 5
REPLICAS = 10
RTL_N = 32
RBM_VISIBLE, RBM_HIDDEN = 6, 4
RBM_SAMPLES = 1_000_000
TARGET_KL = 0.01


def sk_problem(instance: int, n: int = N) -> IsingProblem:
    """Every pair of ``n`` spins coupled with +-1 (``default_rng(instance)``), no fields."""
    i, j = np.triu_indices(n, 1)
    J = np.random.default_rng(instance).choice([-1.0, 1.0], len(i))
    return IsingProblem(n, np.stack([i, j], axis=1), J, np.zeros(n), name=f"sk{n}-{instance}")


def sa_best(problem: IsingProblem, sweeps: int, seed: int) -> tuple[float, float]:
    """Best energy of 10 reads of dwave-samplers SA, and its sampling seconds."""
    import dimod
    from dwave.samplers import SimulatedAnnealingSampler

    J, h = problem.dense()
    bqm = dimod.BinaryQuadraticModel.from_ising(
        {k: -h[k] for k in range(problem.n)},
        {(int(a), int(b)): -float(J[a, b]) for a, b in problem.edges}, 0.0)
    started = time.perf_counter()
    result = SimulatedAnnealingSampler().sample(bqm, num_reads=REPLICAS, num_sweeps=sweeps,
                                                seed=seed)
    seconds = time.perf_counter() - started
    return float(result.first.energy), seconds


def mean_error(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def sk_case(problem: IsingProblem, sweeps: int, trials: int) -> dict:
    """Hybrid and SA best energies per spin over ``trials`` trials at ``sweeps`` sweeps."""
    scale = problem.n ** 1.5
    ours, theirs, seconds = [], [], {"hybrid": 0.0, "sa": 0.0}
    for trial in range(trials):
        result = anneal(problem, sweeps=sweeps, replicas=REPLICAS, seed=trial + 1, hybrid=True)
        ours.append(float(result.best_energy) / scale)
        seconds["hybrid"] += result.wall_seconds
        energy, wall = sa_best(problem, sweeps, trial + 1)
        theirs.append(energy / scale)
        seconds["sa"] += wall
    (mine, mine_se), (sa, sa_se) = mean_error(ours), mean_error(theirs)
    return {"instance": problem.name, "sweeps": sweeps, "trials": trials,
            "hybrid": ours, "sa": theirs, "hybrid_mean": mine, "hybrid_se": mine_se,
            "sa_mean": sa, "sa_se": sa_se, "seconds": seconds,
            "met": bool(mine <= sa + np.hypot(mine_se, sa_se))}


def rbm_case(samples: int) -> dict:
    rng = np.random.default_rng(7)
    rbm = RBM(rng.normal(0, 1, (RBM_VISIBLE, RBM_HIDDEN)), rng.normal(0, 0.5, RBM_VISIBLE),
              rng.normal(0, 0.5, RBM_HIDDEN))
    result = sample(rbm.to_ising(), beta=1.0, samples=samples, burn_in=100, replicas=1000,
                    config=RBM_CONFIG, colours=rbm.colours, hybrid=True)
    bias = ((1 << rbm.n) - 1) / (2 * samples)
    return {"visible": rbm.visible, "hidden": rbm.hidden, "samples": samples,
            "kl": result.kl, "perfect_sampler_kl": bias, "beta_code": result.code,
            "scale": result.quantized.scale, "seconds": result.wall_seconds,
            "met": bool(result.kl <= TARGET_KL)}


def rtl_check(sweeps: int) -> dict:
    """A hybrid anneal of an SK instance of :data:`RTL_N` spins on the rtl backend against
    golden, every sweep recorded."""
    problem = sk_problem(0, RTL_N)
    runs = {backend: anneal(problem, sweeps=sweeps, replicas=1, seed=1, hybrid=True,
                            backend=backend, record=1) for backend in ("golden", "rtl")}
    golden, rtl = runs["golden"].run, runs["rtl"].run
    return {"n": RTL_N, "sweeps": sweeps, "rtl_seconds": runs["rtl"].wall_seconds,
            "match": bool(np.array_equal(golden.trajectory, rtl.trajectory)
                          and np.array_equal(golden.energies, rtl.energies))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one instance, 2 trials of 100 sweeps, 100,000 RBM samples")
    parser.add_argument("--rtl", type=int, default=0, metavar="SWEEPS",
                        help=f"also anneal an SK instance of {RTL_N} spins for SWEEPS sweeps on "
                             "the rtl backend")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results/hybrid.json")
    args = parser.parse_args()
    console = Console()
    instances, sweeps, trials = ((1, SK_SWEEPS[:1], 2) if args.quick
                                 else (SK_INSTANCES, SK_SWEEPS, TRIALS))
    results = {"bench": "hybrid", "machine": machine_info(), "n": N, "parisi": PARISI,
               "finite_size_estimate": PARISI + 0.7 * N ** (-2 / 3), "sk": []}
    table = Table(title=f"SK N = {N}: best energy per spin E / N^1.5 (mean +- s.e. over trials)")
    for column in ("instance", "sweeps", "hybrid", "SA", "hybrid <= SA", "hybrid s", "SA s"):
        table.add_column(column, justify="right")
    for instance in range(instances):
        problem = sk_problem(instance)
        for count in sweeps:
            with console.status(f"{problem.name}: {count} sweeps"):
                case = sk_case(problem, count, trials)
            results["sk"].append(case)
            table.add_row(problem.name, str(count),
                          f"{case['hybrid_mean']:.4f} +- {case['hybrid_se']:.4f}",
                          f"{case['sa_mean']:.4f} +- {case['sa_se']:.4f}",
                          "yes" if case["met"] else "NO", f"{case['seconds']['hybrid']:.1f}",
                          f"{case['seconds']['sa']:.1f}")
    console.print(table)
    console.print(f"ground state per spin: {PARISI} (N -> infinity), about "
                  f"{results['finite_size_estimate']:.4f} at N = {N} (finite-size estimate)")
    with console.status("RBM: sampling"):
        results["rbm"] = rbm_case(RBM_SAMPLES // 10 if args.quick else RBM_SAMPLES)
    rbm = results["rbm"]
    console.print(f"RBM {rbm['visible']}x{rbm['hidden']}: KL(sampled || exact) = "
                  f"{rbm['kl']:.5f} nats over {rbm['samples']:,} samples (a perfect sampler: "
                  f"{rbm['perfect_sampler_kl']:.5f}; target <= {TARGET_KL})")
    if args.rtl:
        with console.status(f"SK {RTL_N} on the rtl backend: {args.rtl} sweeps"):
            results["rtl"] = rtl_check(args.rtl)
        console.print(f"SK {RTL_N} on the rtl backend, {args.rtl} sweeps recorded: RTL == "
                      f"golden: {results['rtl']['match']} ({results['rtl']['rtl_seconds']:.1f} s)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
