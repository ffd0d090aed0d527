"""Boltzmann sampling accuracy of the golden p-bit core against rng_bits and lut_bits.

Run as ``python -m bench.boltzmann [--quick] [-o bench/results/boltzmann.json]``. For random
problems of 10 p-bits (couplings and biases in -7..7, edge density 0.6) it samples exp(-beta E)
at beta = 0.15 with 2,000 replicas (50 sweeps of burn-in, then 500 sweeps, one sample per sweep
per replica: 10**6 samples) and reports ``KL(sampled || exact)`` against the distribution
enumerated over all 2**10 states (at the coded beta), for every pair of ``rng_bits`` and
``lut_bits``, as a table and a plot (``boltzmann.png`` beside the JSON). The LUT keeps
``lut_frac = lut_bits - 4`` (arguments up to |beta I| = 8) and ``beta_frac = 8``; beta I falls
between LUT entries, so ``a`` rounds it to ``2**-lut_frac``.

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

from spinemu.config import PBitConfig
from spinemu.ising import beta_code, colour, exact_distribution, kl_divergence, state_index
from spinemu.sim.golden.pbit import PBitModel, dense_couplings, replica_seeds

REPO = Path(__file__).resolve().parent.parent
N = 10
BETA = 0.15
RNG_BITS = (6, 8, 10, 12, 14, 16)
LUT_BITS = (6, 8, 10, 12)


def problem(seed: int):
    """Couplings and biases in -7..7 on a G(10, 0.6) graph, DSATUR-coloured."""
    rng = np.random.default_rng(seed)
    edges = [(i, j) for i in range(N) for j in range(i + 1, N) if rng.random() < 0.6]
    topology = colour(N, np.array(edges).reshape(-1, 2))
    return topology, rng.integers(-7, 8, len(edges)), rng.integers(-7, 8, N)


def measure(topology, J, h, rng_bits: int, lut_bits: int, replicas: int, sweeps: int,
            seed: int) -> float:
    config = PBitConfig(coupling_bits=4, bias_bits=4, beta_bits=16, beta_frac=8,
                        lut_bits=lut_bits, lut_frac=lut_bits - 4, rng_bits=rng_bits)
    code = beta_code(config, BETA)
    model = PBitModel(config, topology, J, h)
    burn = model.run([(code, 50)], replica_seeds(seed, replicas, N))
    run = model.run([(code, sweeps)], burn.lfsr, burn.states, record=True)
    counts = np.bincount(state_index(run.trajectory.reshape(-1, N)), minlength=1 << N)
    exact = exact_distribution(dense_couplings(topology, J), h, config.beta(code))
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
    console = Console(width=None if sys.stdout.isatty() else 120)
    started = time.perf_counter()
    problems = [problem(seed) for seed in seeds]
    kl = {}
    with console.status("sampling") as status:
        for rng_bits in RNG_BITS:
            for lut_bits in LUT_BITS:
                status.update(f"rng_bits {rng_bits}, lut_bits {lut_bits}")
                kl[f"{rng_bits},{lut_bits}"] = [
                    measure(*p, rng_bits, lut_bits, replicas, sweeps, seed)
                    for seed, p in zip(seeds, problems, strict=True)]
    samples = replicas * sweeps
    result = {"bench": "boltzmann", "n": N, "beta": BETA, "problems": seeds,
              "replicas": replicas, "sweeps": sweeps, "samples": samples,
              "perfect_sampler_bias": ((1 << N) - 1) / (2 * samples),
              "kl": kl, "wall_seconds": time.perf_counter() - started}
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
