"""The bundled digits RBM sampled on p-bits against scikit-learn's own Gibbs sampler.

Run as ``python -m bench.rbm [--quick] [--repeats R] [--steps K ...] [-o bench/results/rbm.json]``.
For every number of steps K (default 100 and 1,000) and every repeat r (default 5), it draws
1,000 samples of the visible units of ``digits_rbm`` in two ways, each from 1,000 independent
chains that start from all-zero units and take K block Gibbs steps:

- p-bits: :func:`spinemu.ising.sample_rbm` (the golden p-bit core, 8-bit couplings, the RBM's
  own temperature; seeds ``r``);
- scikit-learn: ``BernoulliRBM.gibbs`` on the float RBM (:func:`spinemu.ising.sklearn_gibbs`,
  random state ``1000 + r``);

and compares their mean pseudo-likelihood (scikit-learn's ``score_samples``, averaged over 32
scorers per sample: :func:`spinemu.ising.pseudo_likelihood`). The target is a relative
difference of at most 5 %; one standard error of the difference of two such means is printed
beside it (about 3 % here: 1,000 samples are few for this figure), and every K's repeats are
pooled (a standard error sqrt(R) times smaller) to tell a bias from that noise. It also writes
``rbm.png``, a grid of the first repeat's p-bit samples at the largest K, beside the JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from bench.machine import machine_info
from spinemu.ising import Comparison, sample_rbm, sklearn_gibbs, write_grid
from spinemu.models import bundled_rbm

REPO = Path(__file__).resolve().parent.parent
SAMPLES = 1000
TARGET = 0.05


def case(rbm, steps: int, repeat: int) -> dict:
    """One repeat at ``steps``: both samplers, their pseudo-likelihoods and the difference."""
    started = time.perf_counter()
    result = sample_rbm(rbm, samples=SAMPLES, steps=steps, seed=repeat)
    ours_seconds = time.perf_counter() - started
    v, _ = rbm.split(result.states)
    started = time.perf_counter()
    reference = sklearn_gibbs(rbm, SAMPLES, steps, seed=1000 + repeat)
    theirs_seconds = time.perf_counter() - started
    both = Comparison.of(rbm, v, reference)
    return {"steps": steps, "repeat": repeat, "pbit": both.ours, "pbit_error": both.ours_error,
            "sklearn": both.theirs, "sklearn_error": both.theirs_error,
            "relative_difference": both.relative_difference,
            "standard_error": both.standard_error,
            "met": bool(both.relative_difference <= TARGET), "pbit_seconds": ours_seconds,
            "sklearn_seconds": theirs_seconds, "beta_code": result.code,
            "scale": result.quantized.scale, "zeroed": result.quantized.zeroed,
            "samples": v if repeat == 0 else None}


def pooled(cases: list[dict], steps: int) -> dict:
    """Every repeat at ``steps`` together (``repeats * SAMPLES`` samples a side): the same
    comparison with a standard error ``sqrt(repeats)`` times smaller, which tells a bias of the
    p-bits from the noise of one repeat."""
    mine = [c for c in cases if c["steps"] == steps]
    mean, error = ({k: float(np.mean([c[k] for c in mine])) for k in ("pbit", "sklearn")},
                   {k: float(np.sqrt(sum(c[f"{k}_error"] ** 2 for c in mine)) / len(mine))
                    for k in ("pbit", "sklearn")})
    both = Comparison(mean["pbit"], error["pbit"], mean["sklearn"], error["sklearn"])
    return {"steps": steps, "repeats": len(mine), "pbit": both.ours, "sklearn": both.theirs,
            "relative_difference": both.relative_difference,
            "standard_error": both.standard_error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats of 20 steps (smoke)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results/rbm.json")
    args = parser.parse_args()
    steps, repeats = ([20], 2) if args.quick else (args.steps, args.repeats)
    console = Console()
    rbm = bundled_rbm()
    started = time.perf_counter()
    jobs = [(k, r) for k in steps for r in range(repeats)]
    cases = [case(rbm, k, r) for k, r in track(jobs, description="sampling", console=console)]
    grid = next(c["samples"] for c in cases if c["steps"] == max(steps) and c["repeat"] == 0)
    png = args.output.with_name("rbm.png")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_grid(grid[:100], png, side=8,
               title=f"digits_rbm on p-bits: {max(steps)} block Gibbs steps from all zeros")
    table = Table(title=f"digits_rbm: mean pseudo-likelihood of {SAMPLES} samples")
    for name in ("steps", "repeat", "p-bits", "scikit-learn", "difference", "1 s.e.",
                 f"<= {TARGET:.0%}"):
        table.add_column(name, justify="right")
    for c in cases:
        table.add_row(str(c["steps"]), str(c["repeat"]),
                      f"{c['pbit']:.3f} +- {c['pbit_error']:.3f}",
                      f"{c['sklearn']:.3f} +- {c['sklearn_error']:.3f}",
                      f"{c['relative_difference']:.2%}", f"{c['standard_error']:.2%}",
                      "yes" if c["met"] else "NO")
    console.print(table)
    together = [pooled(cases, k) for k in steps]
    for row in together:
        console.print(f"{row['steps']} steps, {row['repeats']} repeats pooled: p-bits "
                      f"{row['pbit']:.3f}, scikit-learn {row['sklearn']:.3f}, difference "
                      f"{row['relative_difference']:.2%} (1 s.e. {row['standard_error']:.2%})")
    for c in cases:
        c.pop("samples")
    document = {"bench": "rbm", "quick": args.quick, "samples": SAMPLES, "target": TARGET,
                "machine": machine_info(), "wall_seconds": time.perf_counter() - started,
                "met": all(c["met"] for c in cases), "cases": cases, "pooled": together,
                "plot": png.name}
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"{sum(c['met'] for c in cases)} of {len(cases)} within {TARGET:.0%}; "
                  f"wrote {args.output} and {png}")


if __name__ == "__main__":
    main()
