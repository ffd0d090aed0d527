"""p-bit commands of the ``spinemu`` CLI: ``anneal`` (Max-Cut and Ising) and ``sample``.

``spinemu.cli`` registers them on its group, which prints a :class:`ConfigError` as one line.
Both take the :class:`PBitConfig` fields as options (defaults :data:`spinemu.ising.
DEFAULT_CONFIG`) or a config file (``--config pbit.toml``, a ``[pbit]`` table; options override
the file).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import numpy as np
from rich.progress import Progress
from rich.table import Table

from spinemu.checks import save_npz
from spinemu.cli_common import backend_options, console, emulator_args, out, rows_table
from spinemu.config import PBitConfig
from spinemu.ising import (
    DEFAULT_CONFIG,
    SCHEDULES,
    STRATEGIES,
    AnnealResult,
    MaxCut,
    all_states,
    load_problem,
    state_index,
)
from spinemu.ising import anneal as anneal_problem
from spinemu.ising import sample as sample_problem

__all__ = ["anneal", "sample", "DUMP_KEYS", "write_dump"]

CONFIG_FIELDS = [f.name for f in dataclasses.fields(PBitConfig)]
#: Largest n whose states ``sample`` lists bit by bit (larger problems: energies).
LIST_STATES_MAX_N = 64
DUMP_KEYS = {
    "keys": "this table, as JSON",
    "config": "PBitConfig as JSON; each of its fields is also a key of its own (below)",
    **{name: f"PBitConfig.{name} (int)" for name in CONFIG_FIELDS},
    "n": "number of p-bits",
    "edges": "int64 [E, 2] edges (i, j), i < j, in the order of J",
    "J": "int64 [E] couplings loaded into the core (signed coupling_bits), aligned with edges",
    "h": "int64 [n] biases loaded into the core (signed bias_bits)",
    "colours": "int64 [n] colour of each p-bit; a sweep runs colours 0..K-1 in order",
    "seed": "master seed; seeds[r, k] = splitmix64(seed + r*n + k) & 0xFFFFFFFF, 0 -> 1",
    "seeds": "uint32 [R, n] starting LFSR state of every p-bit of every replica",
    "initial": "uint8 [R, n] starting states (s in {0, 1}, m = 2s - 1)",
    "schedule": "int64 [steps, 2] anneal steps (B, sweeps), B unsigned beta_bits",
    "states": "uint8 [sweeps, R, n] state after every sweep",
    "energies": "int64 [sweeps, R] energy of the integer problem after every sweep",
    "lfsr": "uint32 [R, n] LFSR states after the last sweep",
    "best_energy": "int64 [R] lowest energy at the end of a sweep (or of the initial state)",
    "best_state": "uint8 [R, n] earliest state with best_energy",
    "scale": "integer units per problem unit: J ~ scale * problem_J",
    "problem_J": "float64 [E] couplings of the problem as read (Max-Cut: minus the weights)",
    "problem_h": "float64 [n] biases of the problem as read",
    "maxcut": "1 when the problem is a Max-Cut graph (cut = (sum w - E) / 2 with w = -J)",
    "backend": "backend that ran the anneal",
}


def pbit_options(function):
    """Add ``--config FILE`` and one option per :class:`PBitConfig` field to a command."""
    for name in reversed(CONFIG_FIELDS):
        function = click.option(f"--{name.replace('_', '-')}", name, type=int, default=None,
                                help=f"Default: {getattr(DEFAULT_CONFIG, name)}.")(function)
    return click.option("--config", "config_file", type=click.Path(dir_okay=False),
                        help="p-bit config file (.toml with a [pbit] table, or .json); "
                             "options given on the command line override it.")(function)


def pbit_config(kwargs: dict) -> PBitConfig:
    """The config of a command's options, popping them from ``kwargs``."""
    config_file = kwargs.pop("config_file")
    given = {name: value for name in CONFIG_FIELDS
             if (value := kwargs.pop(name)) is not None}
    base = PBitConfig.load(config_file).to_dict() if config_file else DEFAULT_CONFIG.to_dict()
    return PBitConfig.from_dict({**base, **given})


def write_dump(path: Path, result: AnnealResult, seed: int, backend: str) -> None:
    """Everything needed to replay ``result``'s trajectory (keys: :data:`DUMP_KEYS`)."""
    config, run, topology = result.config, result.run, result.topology
    problem = result.problem.to_ising() if isinstance(result.problem, MaxCut) else result.problem
    save_npz(
        path, DUMP_KEYS, config=config.to_json(),
        **{name: getattr(config, name) for name in CONFIG_FIELDS},
        n=topology.n, edges=np.array(topology.edges, dtype=np.int64).reshape(-1, 2),
        J=result.quantized.J, h=result.quantized.h,
        colours=np.array(topology.colours, dtype=np.int64), seed=seed,
        seeds=result.seeds, initial=result.initial,
        schedule=np.array(result.schedule, dtype=np.int64).reshape(-1, 2),
        states=run.trajectory, energies=run.energies, lfsr=run.lfsr,
        best_energy=run.best_energy, best_state=run.best_state,
        scale=result.quantized.scale, problem_J=problem.J, problem_h=problem.h,
        maxcut=int(isinstance(result.problem, MaxCut)), backend=backend)


@click.command()
@click.argument("graph", type=click.Path(exists=True, dir_okay=False))
@click.option("--sweeps", type=int, default=1000, show_default=True)
@click.option("--beta-start", type=float,
              help="Hot end, problem units. Default: 1 / rms field spread of the problem.")
@click.option("--beta-end", type=float,
              help="Cold end, problem units. Default: 3 / smallest non-zero coupling or bias.")
@click.option("--schedule", type=click.Choice(SCHEDULES), default="geometric",
              show_default=True)
@click.option("--steps", type=int, help="Distinct betas. Default: min(sweeps, 100).")
@click.option("--replicas", type=int, default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Master seed of the LFSRs.")
@backend_options()
@click.option("--colouring", type=click.Choice(STRATEGIES), default="DSATUR",
              show_default=True, help="networkx greedy colouring strategy.")
@click.option("--dump", type=click.Path(dir_okay=False),
              help="Write the problem, seeds, schedule and the state after every sweep (.npz).")
@click.option("--hybrid", is_flag=True,
              help="Run on a hybrid fabric: a crossbar tile computes the fields (exact ADC).")
@pbit_options
def anneal(graph, sweeps, beta_start, beta_end, schedule, steps, replicas, seed, backend, port,
           simulator, colouring, dump, hybrid, **kwargs):
    """Anneal GRAPH: a G-set/rudy Max-Cut file, or an Ising problem as .json."""
    config = pbit_config(kwargs)
    emulator = emulator_args(backend, port, simulator)
    problem = load_problem(graph)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"annealing {Path(graph).name}", total=None)
        result = anneal_problem(
            problem, sweeps=sweeps, beta_start=beta_start, beta_end=beta_end,
            schedule=schedule, steps=steps, replicas=replicas, seed=seed, config=config,
            strategy=colouring, backend=backend, record=1 if dump else 0, **emulator,
            hybrid=hybrid,
            progress=lambda done, total: progress.update(task, completed=done, total=total))
    q = result.quantized
    rows = [
        ("p-bits, couplings", f"{result.topology.n}, {len(result.topology.edges)}"),
        ("colours", f"{result.topology.num_colours} ({colouring})"),
        ("scale", f"{q.scale:g} (max relative error {q.max_rel_error:.2%}, {q.zeroed} zeroed)"),
        ("schedule", f"{schedule}, beta {result.beta_range[0]:.4g} -> {result.beta_range[1]:.4g}"
                     f", {len(result.schedule)} steps, {sweeps} sweeps"),
        ("replicas", str(replicas)),
    ]
    if result.cuts is not None:
        rows += [("best cut", f"{result.best_cut:g}"), ("mean cut", f"{result.mean_cut:.2f}")]
    rows += [
        ("best energy", f"{result.best_energy:g}"),
        ("mean energy", f"{result.energies.mean():.2f}"),
        ("wall time", f"{result.wall_seconds:.3f} s (setup {result.setup_seconds:.3f} s)"),
        ("spin updates", f"{result.spin_updates:,}"),
        ("spin updates/s", f"{result.updates_per_second:,.0f}"),
    ]
    fabric = "hybrid fabric (tile -> p-bits)" if hybrid else "p-bit core"
    out.print(rows_table(f"{problem.name}: {backend} {fabric}", rows))
    if dump:
        write_dump(Path(dump), result, seed, backend)
        out.print(f"wrote {dump}")


@click.command()
@click.argument("problem_file", metavar="PROBLEM",
                type=click.Path(exists=True, dir_okay=False))
@click.option("--beta", type=float, required=True, help="Inverse temperature, problem units.")
@click.option("--samples", type=int, default=100_000, show_default=True)
@click.option("--burn-in", type=int, default=100, show_default=True,
              help="Sweeps of every replica before sampling.")
@click.option("--replicas", type=int, default=100, show_default=True,
              help="Chains; each gives one sample per sweep.")
@click.option("--seed", type=int, default=0, show_default=True)
@backend_options()
@click.option("--colouring", type=click.Choice(STRATEGIES), default="DSATUR",
              show_default=True)
@click.option("--top", type=int, default=10, show_default=True,
              help="Most frequent states to list.")
@click.option("--hybrid", is_flag=True,
              help="Run on a hybrid fabric: a crossbar tile computes the fields (exact ADC).")
@pbit_options
def sample(problem_file, beta, samples, burn_in, replicas, seed, backend, port, simulator,
           colouring, top, hybrid, **kwargs):
    """Sample exp(-beta E) of PROBLEM; for n <= 16 compare with the exact distribution."""
    config = pbit_config(kwargs)
    emulator = emulator_args(backend, port, simulator)
    problem = load_problem(problem_file)
    with console.status("sampling"):
        result = sample_problem(problem, beta=beta, samples=samples, burn_in=burn_in,
                                replicas=replicas, seed=seed, config=config,
                                strategy=colouring, backend=backend, hybrid=hybrid,
                                **emulator)
    n, size = result.problem.n, len(result.states)
    states, counts = np.unique(result.states, axis=0, return_counts=True)
    rows = [
        ("beta", f"{result.beta:.6g} (B = {result.code}; asked {beta:g})"),
        ("scale", f"{result.quantized.scale:g} (max relative error "
                  f"{result.quantized.max_rel_error:.2%})"),
        ("distinct states", f"{len(states):,}"),
        ("mean energy", f"{result.energies.mean():.4f}"),
        ("mean m", f"{(2 * result.states.mean() - 1):.4f}"),
        ("wall time", f"{result.wall_seconds:.2f} s"),
    ]
    if result.exact is not None:
        mean = result.exact @ result.problem.energy(all_states(n))
        bias = ((1 << n) - 1) / (2 * size)
        rows += [("exact mean energy", f"{mean:.4f}"),
                 ("KL(sampled || exact)", f"{result.kl:.5f} nats (a perfect sampler: ~{bias:.5f})")]
    out.print(rows_table(f"{result.problem.name}: {size:,} samples", rows))
    if n > LIST_STATES_MAX_N:
        levels, counts = np.unique(result.energies, return_counts=True)
        listing = Table(title="most frequent energies")
        for name in ("energy", "sampled"):
            listing.add_column(name, justify="right")
        for index in np.argsort(-counts, kind="stable")[:top]:
            listing.add_row(f"{levels[index]:g}", f"{counts[index] / size:.4f}")
        out.print(listing)
        return
    listing = Table(title="most frequent states (p-bit 0 first)")
    for name in ("state", "energy", "sampled", *(("exact",) if result.exact is not None else ())):
        listing.add_column(name, justify="right")
    for index in np.argsort(-counts, kind="stable")[:top]:
        state = states[index]
        row = ["".join(map(str, state)), f"{result.problem.energy(state):g}",
               f"{counts[index] / size:.4f}"]
        if result.exact is not None:
            row.append(f"{result.exact[state_index(state)]:.4f}")
        listing.add_row(*row)
    out.print(listing)
