"""Boltzmann sampling accuracy of the golden p-bit core against rng_bits and lut_bits.

Run as ``python -m bench.boltzmann [--quick] [-o bench/results/boltzmann.json]``. For random
problems of 10 p-bits (couplings and biases in -7..7, edge density 0.6) it samples exp(-beta E)
at beta = 0.15 with 2,000 replicas (50 sweeps of burn-in, then 500 sweeps, one sample per sweep
per replica: 10**6 samples) and reports ``KL(sampled || exact)`` against the distribution
enumerated over all 2**10 states (at the coded beta), for every pair of ``rng_bits`` and
``lut_bits``, as a table and a plot (``boltzmann.png`` beside the JSON). The LUT keeps
``lut_frac = lut_bits - 4`` (arguments up to |beta I| = 8) and ``beta_frac = 8``; beta I falls
between LUT entries, so ``a`` rounds it to ``2**-lut_frac``.

It runs on the public API: :class:`spinemu.Emulator` on the ``"golden"`` backend, with
``Emulator.program`` and ``Emulator.sample``. A p-bit core holds one chain, so the replicas are
disjoint copies of the problem on one core: 125 copies (1,250 p-bits, each copy coloured as
the problem, so each copy is updated exactly as one replica would be) per ``program``, 16
programs per problem and format (a size chosen when the state word of a core had to fit one
link frame; the results in docs/pbit.md were taken with it). Every p-bit's LFSR seed is drawn
uniformly from 1..2**32-1 by ``numpy.random.default_rng([problem, 1])``; every format samples
with the same seeds, and every chain starts from the all-zero state.

A perfect sampler's KL has the bias ``(2**10 - 1) / (2 * 10**6) = 0.0005`` nats; the table
prints the mean over the problems and the JSON every value. Used for the table in
``docs/pbit.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from spinemu import Emulator, PBitConfig, Topology
from spinemu.ising import (
    IsingProblem,
    beta_code,
    colour,
    exact_distribution,
    kl_divergence,
    state_index,
)

REPO = Path(__file__).resolve().parent.parent
N = 10
BETA = 0.15
BURN_IN = 50
RNG_BITS = (6, 8, 10, 12, 14, 16)
LUT_BITS = (6, 8, 10, 12)
#: Most copies of the problem on one core (replicas per ``program``), as the results in
#: docs/pbit.md were taken.
MAX_COPIES = 125


def problem(seed: int) -> tuple[IsingProblem, Topology]:
    """Couplings and biases in -7..7 on a G(10, 0.6) graph, DSATUR-coloured."""
    rng = np.random.default_rng(seed)
    edges = [(i, j) for i in range(N) for j in range(i + 1, N) if rng.random() < 0.6]
    edges = np.array(edges, dtype=np.int64).reshape(-1, 2)
    topology = colour(N, edges)
    J, h = rng.integers(-7, 8, len(edges)), rng.integers(-7, 8, N)
    return IsingProblem(N, edges, J.astype(np.float64), h.astype(np.float64),
                        f"G({N}, 0.6) seed {seed}"), topology


def copies_of(topology: Topology, copies: int) -> Topology:
    """``copies`` disjoint copies of ``topology``: copy ``k`` on p-bits ``k n .. k n + n - 1``,
    coloured as the original."""
    n, edges = topology.n, np.array(topology.edges, dtype=np.int64).reshape(-1, 2)
    every = np.concatenate([edges + k * n for k in range(copies)])
    return Topology(n * copies, tuple(map(tuple, every.tolist())), topology.colours * copies)


def lfsr_seeds(seed: int, replicas: int) -> np.ndarray:
    """LFSR seeds ``[replicas, N]`` (uint32, never 0) of problem ``seed``."""
    return np.random.default_rng([seed, 1]).integers(1, 1 << 32, (replicas, N), dtype=np.uint32)


def measure(ising: IsingProblem, topology: Topology, seeds: np.ndarray, rng_bits: int,
            lut_bits: int, sweeps: int, copies: int) -> float:
    """KL(sampled || exact) of ``len(seeds)`` replicas, ``copies`` at a time on one Emulator."""
    config = PBitConfig(coupling_bits=4, bias_bits=4, beta_bits=16, beta_frac=8,
                        lut_bits=lut_bits, lut_frac=lut_bits - 4, rng_bits=rng_bits)
    code = beta_code(config, BETA)
    J = np.tile(ising.J.astype(np.int64), copies)
    h = np.tile(ising.h.astype(np.int64), copies)
    counts = np.zeros(1 << N, np.int64)
    with Emulator((config, copies_of(topology, copies)), backend="golden") as emulator:
        for first in range(0, len(seeds), copies):
            emulator.program(J, h, seeds[first:first + copies].reshape(-1))
            states = emulator.sample(code, sweeps, burn_in=BURN_IN)    # [sweeps, copies * N]
            counts += np.bincount(state_index(states.reshape(-1, N)), minlength=1 << N)
    exact = exact_distribution(*ising.dense(), config.beta(code))
    return kl_divergence(counts / counts.sum(), exact)


def plot(result: dict, path: Path) -> None:
    """KL against rng_bits, one line per lut_bits, log scale, with the perfect sampler's bias
    and the 0.01-nat target."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6.5, 4.2))
    for lut_bits in LUT_BITS:
        axes.plot(RNG_BITS, [np.mean(result["kl"][f"{r},{lut_bits}"]) for r in RNG_BITS],
                  marker="o", label=f"lut_bits {lut_bits}")
    axes.axhline(result["perfect_sampler_bias"], color="grey", linestyle=":",
                 label="perfect sampler")
    axes.axhline(0.01, color="black", linestyle="--", linewidth=0.8, label="0.01 nats")
    axes.set_yscale("log")
    axes.set_xlabel("rng_bits")
    axes.set_ylabel("KL(sampled || exact), nats")
    axes.set_title(f"p-bit Boltzmann sampling, n = {N}, beta = {BETA}, "
                   f"{result['samples']:,} samples")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one problem, 10x fewer samples")
    parser.add_argument("-o", "--output", type=Path,
                        default=REPO / "bench/results/boltzmann.json")
    args = parser.parse_args(argv)
    seeds = (0,) if args.quick else (0, 1, 2)
    replicas, sweeps = (200, 500) if args.quick else (2000, 500)
    copies = max(c for c in range(1, MAX_COPIES + 1) if replicas % c == 0)
    console = Console(width=None if sys.stdout.isatty() else 120)
    started = time.perf_counter()
    problems = [problem(seed) for seed in seeds]
    lfsr = [lfsr_seeds(seed, replicas) for seed in seeds]
    kl = {}
    with console.status("sampling") as status:
        for rng_bits in RNG_BITS:
            for lut_bits in LUT_BITS:
                status.update(f"rng_bits {rng_bits}, lut_bits {lut_bits}")
                kl[f"{rng_bits},{lut_bits}"] = [
                    measure(*p, s, rng_bits, lut_bits, sweeps, copies)
                    for p, s in zip(problems, lfsr, strict=True)]
    samples = replicas * sweeps
    result = {"bench": "boltzmann", "n": N, "beta": BETA, "problems": seeds,
              "replicas": replicas, "sweeps": sweeps, "samples": samples,
              "perfect_sampler_bias": ((1 << N) - 1) / (2 * samples),
              "kl": kl, "wall_seconds": time.perf_counter() - started,
              "burn_in": BURN_IN, "backend": "golden",
              "replicas_per_program": copies,
              "lfsr_seeds": "numpy.random.default_rng([problem, 1]), uniform 1..2**32-1"}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.output.with_suffix(".png"))
    table = Table(title=f"KL(sampled || exact), 10^-3 nats, mean of {len(seeds)} problems "
                        f"(n = {N}, beta = {BETA}, {samples:,} samples; perfect sampler "
                        f"{result['perfect_sampler_bias'] * 1e3:.2f})")
    table.add_column("rng_bits", justify="right")
    for lut_bits in LUT_BITS:
        table.add_column(f"lut_bits {lut_bits}", justify="right")
    for rng_bits in RNG_BITS:
        table.add_row(str(rng_bits), *(f"{np.mean(kl[f'{rng_bits},{lut_bits}']) * 1e3:.2f}"
                                       for lut_bits in LUT_BITS))
    console.print(table)
    console.print(f"{result['wall_seconds']:.0f} s; wrote {args.output} and "
                  f"{args.output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
