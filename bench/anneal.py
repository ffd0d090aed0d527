"""Max-Cut benchmark: the golden p-bit core against dwave-samplers simulated annealing.

Run as ``python -m bench.anneal [--quick] [--trials T] [--instances G ...] [--data DIR]
[-o FILE.json]``. For each
G-set instance (G1, G14, G22, G43, G11) and each sweep count (1,000 and 10,000; quick: 100 and
1,000 on G1, G11 and G22) it runs ``T`` independent trials (default 20; quick 3). Trial ``t``
anneals 10 replicas with :func:`spinemu.ising.anneal` (default schedule, DSATUR colouring,
master seed ``t + 1``) and draws 10 reads of dwave-samplers' ``SimulatedAnnealingSampler`` (its
default schedule, seed ``t + 1``) with the same number of sweeps, the two in turns. It reports

1. the best cut of each trial (best of 10), its mean over trials with the standard error, and
   the mean cut per replica, against the best known cut and against SA;
2. spin updates per second of each and their ratio (golden over SA), the median over trials.
   Golden time is its run alone (colouring, scaling and table building are reported apart as
   setup); SA time is its ``sampling_ns`` (the sampler's own timing of the anneal, without
   converting the model).

Why trials: a best of 10 is one draw from a distribution a few cut units wide, and on G11 (cuts
in steps of 2, i.e. 0.35 %) one draw cannot resolve a 0.2 % margin; two identical samplers
would differ by a step in about a third of single draws. The targets are therefore judged on
the mean best of 10 over the trials, whose standard error is reported beside it.

Targets: at 10,000 sweeps within 0.1 % of the best known cut on G1 and G22; never more than
0.2 % below SA at equal sweeps; a speed ratio of at least 3.0 on G1 and G22 (issue 12). It
prints a table, writes JSON (layout in ``docs/pbit.md``) and plots the trials (``anneal.png``
beside the JSON).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.machine import machine_info, package_version, summary
from spinemu.ising import DEFAULT_CONFIG, anneal, colour, read_gset

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "gset"
REPLICAS = 10
SEED = 1
QUALITY_TARGET = 0.001   # of the best known cut, at 10,000 sweeps on SPEED_INSTANCES
SA_MARGIN = 0.002        # of SA's mean best of 10, at equal sweeps, everywhere
SPEED_TARGET = 3.0
SPEED_INSTANCES = ("G1", "G22")


@dataclasses.dataclass(frozen=True)
class Plan:
    """Instances, sweep counts and independent trials of one run."""

    instances: tuple[str, ...]
    sweeps: tuple[int, ...]
    trials: int


FULL = Plan(("G1", "G14", "G22", "G43", "G11"), (1000, 10000), 20)
QUICK = Plan(("G1", "G11", "G22"), (100, 1000), 3)


def best_known(data: Path) -> dict[str, int]:
    with open(data / "best_known.csv", newline="") as handle:
        return {row["instance"]: int(row["best_known_cut"]) for row in csv.DictReader(handle)}


def sa_sample(bqm, graph, sweeps: int, seed: int) -> dict:
    """One call of dwave-samplers SA: 10 reads of ``sweeps`` sweeps, default schedule."""
    from dwave.samplers import SimulatedAnnealingSampler

    started = time.perf_counter()
    result = SimulatedAnnealingSampler().sample(bqm, num_reads=REPLICAS, num_sweeps=sweeps,
                                                seed=seed)
    wall = time.perf_counter() - started
    order = list(result.variables)
    states = (result.record.sample[:, np.argsort(order)] > 0).astype(np.uint8)
    cuts = graph.cut(states)
    sampling = result.info.get("timing", {}).get("sampling_ns")
    seconds = sampling * 1e-9 if sampling else wall
    return {"cuts": cuts, "seconds": seconds, "wall_seconds": wall,
            "beta_range": [float(b) for b in result.info.get("beta_range", [])]}


def golden_sample(graph, topology, sweeps: int, seed: int):
    return anneal(graph, sweeps=sweeps, replicas=REPLICAS, seed=seed, topology=topology,
                  config=DEFAULT_CONFIG)


def trial_statistics(cuts: np.ndarray, known: int) -> dict:
    """Cuts ``[trials >= 2, replicas]`` of one sampler: the best of each trial and their mean,
    standard error (sample standard deviation over sqrt(trials)) and gap to the best known."""
    best = cuts.max(axis=1)
    sem = float(best.std(ddof=1) / np.sqrt(best.size))
    return {"best_cuts": best.tolist(), "best_of_10": float(best.mean()), "best_of_10_sem": sem,
            "best_cut": float(best.max()), "mean_cut": float(cuts.mean()),
            "gap_to_best_known": (known - float(best.mean())) / known,
            "trials_at_best_known": int((best >= known).sum()), "cuts": cuts.tolist()}


def run_case(graph, topology, bqm, sweeps: int, plan: Plan, known: int, advance) -> dict:
    """``plan.trials`` trials of golden and SA in turns, trial ``t`` at seed ``SEED + t``;
    ``advance()`` after each."""
    golden_runs, sa_runs = [], []
    for trial in range(plan.trials):
        golden_runs.append(golden_sample(graph, topology, sweeps, SEED + trial))
        sa_runs.append(sa_sample(bqm, graph, sweeps, SEED + trial))
        advance()
    updates = sweeps * graph.n * REPLICAS
    golden_speed = np.array([run.updates_per_second for run in golden_runs])
    sa_speed = np.array([updates / run["seconds"] for run in sa_runs])
    golden = trial_statistics(np.array([run.cuts for run in golden_runs]), known)
    sa = trial_statistics(np.array([run["cuts"] for run in sa_runs]), known)
    final = np.array([graph.cut(run.run.states) for run in golden_runs])
    below = (sa["best_of_10"] - golden["best_of_10"]) / sa["best_of_10"]
    below_sem = math.hypot(golden["best_of_10_sem"], sa["best_of_10_sem"]) / sa["best_of_10"]
    versus = np.sign(np.array(golden["best_cuts"]) - np.array(sa["best_cuts"]))
    return {
        "sweeps": sweeps, "spin_updates": updates,
        "golden": {
            **golden, "final_mean_cut": float(final.mean()),
            "final_best_of_10": float(final.max(axis=1).mean()),
            "beta_range": list(golden_runs[0].beta_range),
            "schedule_steps": len(golden_runs[0].schedule),
            "seconds": summary([run.wall_seconds for run in golden_runs]),
            "setup_seconds": summary([run.setup_seconds for run in golden_runs]),
            "updates_per_second": summary(golden_speed),
        },
        "sa": {
            **sa, "beta_range": sa_runs[0]["beta_range"],
            "seconds": summary([run["seconds"] for run in sa_runs]),
            "wall_seconds": summary([run["wall_seconds"] for run in sa_runs]),
            "updates_per_second": summary(sa_speed),
        },
        "speed_ratio": summary(golden_speed / sa_speed),
        "below_sa": below, "below_sa_sem": below_sem,
        "within_sa_margin": below <= SA_MARGIN,
        "trials_won_tied_lost": [int((versus > 0).sum()), int((versus == 0).sum()),
                                 int((versus < 0).sum())],
    }


def run_instance(name: str, data: Path, plan: Plan, known: int, progress, task) -> dict:
    import dimod

    graph = read_gset(data / f"{name}.txt")
    started = time.perf_counter()
    topology = colour(graph.n, graph.edges, "DSATUR")
    colouring = time.perf_counter() - started
    # dimod minimises sum J s s: J = w makes its energy W - 2 cut.
    bqm = dimod.BinaryQuadraticModel.from_ising(
        {}, {(int(i), int(j)): float(w) for (i, j), w in zip(graph.edges, graph.weights,
                                                              strict=True)})
    cases = []
    for sweeps in plan.sweeps:
        progress.update(task, description=f"{name}, {sweeps:,} sweeps")
        cases.append(run_case(graph, topology, bqm, sweeps, plan, known,
                              lambda: progress.advance(task)))
    return {"instance": name, "nodes": graph.n, "edges": len(graph.edges), "best_known": known,
            "colours": topology.num_colours, "colouring_seconds": colouring, "cases": cases}


def verdicts(instances: list[dict], plan: Plan) -> dict:
    top = max(plan.sweeps)
    quality = {i["instance"]: i["cases"][-1]["golden"]["gap_to_best_known"] <= QUALITY_TARGET
               for i in instances if i["instance"] in SPEED_INSTANCES}
    speed = {f"{i['instance']}@{c['sweeps']}": c["speed_ratio"]["median"] >= SPEED_TARGET
             for i in instances if i["instance"] in SPEED_INSTANCES for c in i["cases"]}
    return {
        "quality_target": QUALITY_TARGET, "quality_sweeps": top, "quality_met": quality,
        "sa_margin": SA_MARGIN,
        "sa_margin_met": all(c["within_sa_margin"] for i in instances for c in i["cases"]),
        "speed_target": SPEED_TARGET, "speed_met": speed,
    }


def table(instances: list[dict], trials: int) -> Table:
    result = Table(title=f"Max-Cut, {trials} trials of {REPLICAS} replicas / reads: golden p-bit "
                         "core vs dwave-samplers SA (best of 10: mean ± standard error)")
    for name in ("graph", "K", "sweeps", "best known", "golden best of 10", "golden mean",
                 "SA best of 10", "SA mean", "gap golden", "vs SA", "W/T/L",
                 "golden Mupd/s", "SA Mupd/s", "ratio"):
        result.add_column(name, justify="right")
    for instance in instances:
        for case in instance["cases"]:
            golden, sa = case["golden"], case["sa"]
            result.add_row(
                instance["instance"], str(instance["colours"]), f"{case['sweeps']:,}",
                str(instance["best_known"]),
                f"{golden['best_of_10']:.1f} ± {golden['best_of_10_sem']:.1f}",
                f"{golden['mean_cut']:.1f}",
                f"{sa['best_of_10']:.1f} ± {sa['best_of_10_sem']:.1f}", f"{sa['mean_cut']:.1f}",
                f"{golden['gap_to_best_known']:.3%}",
                f"{0.0 - case['below_sa']:+.3%} ± {case['below_sa_sem']:.3%}",
                "/".join(map(str, case["trials_won_tied_lost"])),
                f"{golden['updates_per_second']['median'] / 1e6:.1f}",
                f"{sa['updates_per_second']['median'] / 1e6:.1f}",
                f"{case['speed_ratio']['median']:.2f}")
    return result


def plot(instances: list[dict], sweeps: tuple[int, ...], path: Path) -> None:
    """Gap to the best known cut of every trial's best of 10, golden beside SA, one panel per
    sweep count; bars are mean +- standard error."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, panels = pyplot.subplots(1, len(sweeps), figsize=(5.5 * len(sweeps), 4.2),
                                     squeeze=False, sharey=True)
    jitter = np.random.default_rng(0)
    for panel, count in zip(panels[0], sweeps, strict=True):
        for x, instance in enumerate(instances):
            case = next(c for c in instance["cases"] if c["sweeps"] == count)
            known = instance["best_known"]
            for offset, name, colour_name, label in ((-0.17, "golden", "tab:blue", "golden p-bit"),
                                                     (0.17, "sa", "tab:orange", "SA")):
                entry = case[name]
                gaps = 100 * (known - np.array(entry["best_cuts"])) / known
                panel.scatter(x + offset + jitter.uniform(-0.06, 0.06, gaps.size), gaps, s=9,
                              alpha=0.45, color=colour_name, label=label if x == 0 else None)
                panel.errorbar(x + offset, 100 * entry["gap_to_best_known"],
                               yerr=100 * entry["best_of_10_sem"] / known, fmt="_", ms=14,
                               color="black", capsize=3)
        panel.set_xticks(range(len(instances)), [i["instance"] for i in instances])
        panel.set_title(f"{count:,} sweeps")
        panel.grid(axis="y", alpha=0.3)
    panels[0][0].set_ylabel("best of 10 below best known cut (%)")
    panels[0][0].legend()
    figure.suptitle("Max-Cut: golden p-bit core vs dwave-samplers SA, one dot per trial")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def versions() -> dict:
    return {name: package_version(name)
            for name in ("dwave-samplers", "dimod", "networkx", "scipy", "numpy")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="G1, G11, G22 at 100 and 1,000 sweeps, 3 trials (smoke)")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="G-set folder with best_known.csv (default: %(default)s)")
    parser.add_argument("--trials", type=int,
                        help="independent trials per case (default 20; quick 3)")
    parser.add_argument("--instances", nargs="+", metavar="G",
                        help="G-set instances to run (default: the plan's)")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results/anneal.json",
                        help="JSON file to write (default: %(default)s)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.trials is not None:
        if args.trials < 2:
            parser.error(f"--trials = {args.trials} is out of range; allowed >= 2 (a standard "
                         "error needs two)")
        plan = dataclasses.replace(plan, trials=args.trials)
    if args.instances:
        plan = dataclasses.replace(plan, instances=tuple(args.instances))
    console = Console(width=None if sys.stdout.isatty() else 180)
    known = best_known(args.data)
    started = time.perf_counter()
    result = {"bench": "anneal", "quick": args.quick, "plan": dataclasses.asdict(plan),
              "replicas": REPLICAS, "first_seed": SEED, "config": DEFAULT_CONFIG.to_dict(),
              "machine": {**machine_info(), "packages": versions()}}
    instances = []
    with Progress(console=console) as progress:
        task = progress.add_task("anneal", total=len(plan.instances) * len(plan.sweeps)
                                                  * plan.trials)
        for name in plan.instances:
            instances.append(run_instance(name, args.data, plan, known[name], progress, task))
    result["instances"] = instances
    result["verdicts"] = verdicts(instances, plan)
    result["machine"]["load_average_end"] = os.getloadavg()
    result["wall_seconds"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    plot(instances, plan.sweeps, args.output.with_suffix(".png"))
    console.print(table(instances, plan.trials))
    console.print(json.dumps(result["verdicts"]))
    console.print(f"{result['wall_seconds']:.0f} s; wrote {args.output} and "
                  f"{args.output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
