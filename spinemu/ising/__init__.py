"""Ising problems and Max-Cut on the p-bit core: files, scaling, colouring, schedules and runs.

One module per step, every public name re-exported here (``from spinemu.ising import anneal``):

- :mod:`~spinemu.ising.problem`: :class:`IsingProblem`, :class:`MaxCut` and the one into the
  other (the energy and the cut, DESIGN.md 3.4);
- :mod:`~spinemu.ising.formats`: G-set/rudy files and Ising JSON (:func:`load_problem`);
- :mod:`~spinemu.ising.scaling`: real couplings onto the core's integers (:func:`quantize`);
- :mod:`~spinemu.ising.colouring`: the update phases (:func:`colour`);
- :mod:`~spinemu.ising.schedule`: beta schedules (:func:`make_schedule`);
- :mod:`~spinemu.ising.run`: :func:`anneal` and :func:`sample` on a backend;
- :mod:`~spinemu.ising.exact`: exact Boltzmann distributions of small problems;
- :mod:`~spinemu.ising.rbm`: restricted Boltzmann machines as Ising problems (:class:`RBM`;
  :func:`sample_rbm` runs block Gibbs sampling).

Betas are in the units of the problem as given; the integer problem the hardware holds is
``scale`` times it, so its beta is ``beta / scale``.

:mod:`~spinemu.ising.run` sits on the public API (:mod:`spinemu.emulator`, which builds
gateware), while the rest sits below it (the gateware colours graphs with :func:`colour`); so
the run names load on first use (PEP 562) and ``import spinemu.ising`` stays below the API.
"""

from .colouring import STRATEGIES, colour, tabu_colours
from .exact import EXACT_MAX_N, all_states, exact_distribution, kl_divergence, state_index
from .formats import load_problem, read_gset, read_ising_json, write_gset
from .problem import IsingProblem, MaxCut, ising_to_maxcut, toroidal_spin_glass
from .rbm import (
    PSEUDO_LIKELIHOOD_DRAWS,
    RBM,
    Comparison,
    pseudo_likelihood,
    rbm_from_sklearn,
    sklearn_gibbs,
    write_grid,
)
from .scaling import DEFAULT_CONFIG, Quantized, quantize
from .schedule import (
    SCHEDULES,
    beta_code,
    default_beta_range,
    geometric_schedule,
    linear_schedule,
    make_schedule,
)

__all__ = [
    "DEFAULT_CONFIG", "STRATEGIES", "SCHEDULES", "BACKENDS", "MaxCut", "IsingProblem",
    "read_gset", "write_gset", "toroidal_spin_glass",
    "read_ising_json", "load_problem", "ising_to_maxcut", "Quantized", "quantize",
    "colour", "tabu_colours", "beta_code", "linear_schedule", "geometric_schedule", "make_schedule",
    "default_beta_range", "AnnealResult", "anneal", "SampleResult", "sample", "all_states",
    "state_index", "exact_distribution", "kl_divergence", "build_model", "check_backend",
    "run_backend", "EXACT_MAX_N", "RBM", "rbm_from_sklearn", "RBM_CONFIG", "sample_rbm",
    "PSEUDO_LIKELIHOOD_DRAWS", "Comparison", "pseudo_likelihood", "sklearn_gibbs",
    "write_grid",
]

#: Names of :mod:`~spinemu.ising.run`, loaded on first use.
_RUN_NAMES = ("BACKENDS", "build_model", "check_backend", "run_backend", "AnnealResult", "anneal",
              "SampleResult", "sample", "RBM_CONFIG", "sample_rbm")


def __getattr__(name: str):
    if name in _RUN_NAMES:
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'spinemu.ising' has no attribute {name!r}")
