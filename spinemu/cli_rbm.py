"""``spinemu rbm sample``: block Gibbs sampling of a restricted Boltzmann machine on p-bits.

``spinemu.cli`` registers the group; a :class:`~spinemu.config.ConfigError` (an RBM file that is
not one, a bad count) is printed as one line with exit status 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from spinemu.cli_common import backend_options, console, emulator_args, out, rows_table
from spinemu.ising import RBM, Comparison, sample_rbm, sklearn_gibbs, write_grid
from spinemu.models import RBMS, bundled_rbm

__all__ = ["rbm"]


@click.group()
def rbm():
    """Restricted Boltzmann machines on p-bits."""


@rbm.command("sample")
@click.argument("rbm_file", metavar="[RBM]", required=False,
                type=click.Path(exists=True, dir_okay=False))
@click.option("--samples", type=int, default=1000, show_default=True,
              help="Independent chains; each gives its state after the last step.")
@click.option("--steps", type=int, default=1000, show_default=True,
              help="Block Gibbs steps (p-bit sweeps) of every chain.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--side", type=int, default=8, show_default=True,
              help="Images are SIDE x SIDE visible units.")
@click.option("--grid", type=int, default=100, show_default=True,
              help="Samples drawn in the PNG.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="rbm_samples.png",
              show_default=True, help="PNG grid of sampled visible units.")
@click.option("--hybrid", is_flag=True,
              help="Sample on a hybrid fabric: a crossbar tile computes the fields.")
@backend_options()
def sample(rbm_file, samples, steps, seed, side, grid, output, hybrid, backend, port, simulator):
    """Sample RBM (default: the bundled digits_rbm) on p-bits and compare with scikit-learn.

    Every chain starts from all-zero units; one step updates the hidden units, then the visible
    ones, as BernoulliRBM.gibbs does. The table gives the mean pseudo-likelihood
    (score_samples) of the p-bit samples and of scikit-learn's own sampler after the same steps.
    """
    machine = RBM.load(rbm_file) if rbm_file else bundled_rbm()
    if side * side != machine.visible:
        raise click.UsageError(f"--side {side} gives {side * side} pixels; the RBM has "
                               f"{machine.visible} visible units")
    emulator = emulator_args(backend, port, simulator)
    with console.status(f"sampling {samples} chains x {steps} steps on p-bits ({backend})"):
        result = sample_rbm(machine, samples=samples, steps=steps, seed=seed, backend=backend,
                            hybrid=hybrid, **emulator)
    v, _ = machine.split(result.states)
    with console.status("scikit-learn's Gibbs sampler and the pseudo-likelihoods"):
        both = Comparison.of(machine, v, sklearn_gibbs(machine, samples, steps, seed))
    rows = [
        ("RBM", f"{rbm_file or RBMS[0]}: {machine.visible} visible, {machine.hidden} hidden"),
        ("fabric", "hybrid (crossbar tile -> p-bits)" if hybrid else "p-bit core"),
        ("beta", f"{result.beta:.6g} (B = {result.code})"),
        ("couplings and biases", f"scale {result.quantized.scale:.4g} integer units per unit; "
                                 f"{result.quantized.zeroed} small ones became 0"),
        ("p-bit wall time", f"{result.wall_seconds:.2f} s"),
        ("pseudo-likelihood, p-bits", f"{both.ours:.3f} +- {both.ours_error:.3f}"),
        ("pseudo-likelihood, scikit-learn", f"{both.theirs:.3f} +- {both.theirs_error:.3f}"),
        ("relative difference", f"{both.relative_difference:.2%} (one standard error of the "
                                f"difference: {both.standard_error:.2%})"),
    ]
    out.print(rows_table(f"{samples} samples after {steps} steps", rows))
    write_grid(v[:grid], Path(output), side=side,
               title=f"p-bit samples after {steps} block Gibbs steps")
    out.print(f"wrote {output}")
