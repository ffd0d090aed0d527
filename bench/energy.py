"""Energy estimates (docs/energy.md): the two validation macros' reported against estimated
TOPS/W, and ``spinemu estimate``'s figures for the bundled digits plan and a G-set anneal.

Run ``python -m bench.energy [--plan DIR] [--graph FILE] [--rtl] [-o FILE]``. The digits plan
is mapped with ``spinemu map digits`` defaults into a temporary folder unless ``--plan`` names
one; the graph defaults to the bundled G14. Writes ``bench/results/energy.json``.

``--rtl`` (must-show 2) also runs the RTL with its activity counters and compares them with the
golden counts: the digits network (``Network(..., counters=True)``) on :data:`RTL_VECTORS`
held-out inputs in amaranth.sim and on :data:`VERILATOR_VECTORS` as Verilog on Verilator, and
a p-bit core (``PBitCore(..., counters=True)``, 16 update units of 4 lanes: results do not
depend on them) annealing the graph for :data:`RTL_SWEEPS` sweeps from the same couplings,
seeds and schedule as a golden anneal (amaranth.sim).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.machine import machine_info
from spinemu.energy.estimate import estimate_network, estimate_pbit
from spinemu.energy.tech import bundled_tech
from spinemu.energy.validation import (
    CONSTANTS,
    TOLERANCE,
    condition_band,
    constant_status,
    corners,
    end_ratio,
    macro_band,
    macro_energy,
    macro_tops_per_watt,
    validation_points,
    within_tolerance,
)
from spinemu.energy.workloads import network_workload, pbit_workload

REPO = Path(__file__).resolve().parents[1]
MACROS = ("cai_isscc2023", "natelec2025")
RTL_VECTORS, RTL_SWEEPS, VERILATOR_VECTORS = 16, 10, 64


def _conditions(point) -> dict:
    return {"input_density": point.input_density, "toggle_rate": list(point.toggles),
            "weight_sparsity": list(point.sparsity),
            "vdd": list(point.supply) if point.supply else None}


def validation() -> dict:
    """Per macro: each reported figure against the estimate at its published operating
    conditions (over the published range of a condition the paper leaves open for that figure,
    :func:`condition_band`), the whole band with every ranged energy constant at an end too, the
    high/low end ratio, and every constant the model reads with its status (published or
    assumed; nothing is calibrated)."""
    points, macros = [], {}
    for name in MACROS:
        tech = bundled_tech(name)
        source, reported_points = validation_points(tech)
        for point in reported_points:
            low, high = condition_band(tech, point)
            worst, best = macro_band(tech, point)
            points.append({
                "macro": name, "source": source, "point": point.label, "figure": point.figure,
                "end": point.end, "readout": point.readout, "conditions": _conditions(point),
                "conditions_known": point.known, "reported_tops_per_w": point.reported,
                "estimated_tops_per_w": [low, high],
                "ratio": [low / point.reported, high / point.reported],
                "within_tolerance": within_tolerance(point.reported, (low, high)),
                "band_tops_per_w": [worst, best],
                "reported_in_band": worst <= point.reported <= best,
                "corners": [{"toggle_rate": c.toggle_rate, "weight_sparsity": c.weight_sparsity,
                             "vdd": c.vdd, "estimated_tops_per_w": macro_tops_per_watt(tech, c),
                             "components_j": macro_energy(tech, c)} for c in corners(point)]})
        reported, (lowest, highest) = end_ratio(tech, reported_points)
        macros[name] = {
            "source": source, "tolerance": TOLERANCE, "calibrated": [],
            "vdd_nominal": tech.values.get("tech.vdd_nominal"),
            "end_ratio": {"reported": reported, "estimated": [lowest, highest],
                          "error": [lowest / reported - 1, highest / reported - 1]},
            "constants": {key: {"value": tech[key], "range": tech.ranges.get(key),
                                "source": tech.sources.get(key, ""),
                                "status": constant_status(tech, source, key)}
                          for key in CONSTANTS}}
    return {"points": points, "macros": macros}


def rtl_network_counters(plan_dir: str) -> dict:
    """The digits network's RTL counters against the golden counts."""
    from spinemu.energy.activity import network_activity
    from spinemu.hdl.layer import Network
    from spinemu.plan import Plan
    from spinemu.sim.counters import run_counted

    plan = Plan.load(plan_dir)
    x = load_test_codes(plan_dir)[:RTL_VECTORS]
    started = time.perf_counter()
    got, counts = run_counted(Network(plan.config, plan.images, counters=True), x,
                              plan.config.layers[-1].out_features)
    model = plan.model()
    golden = {f"layer{i}": a.as_counters()
              for i, a in enumerate(network_activity(model, x).layers)}
    return {"vectors": RTL_VECTORS, "outputs_equal": bool((got == model(x)).all()),
            "rtl": counts, "golden": golden, "equal": counts == golden,
            "seconds": time.perf_counter() - started}


def verilator_network_counters(plan_dir: str) -> dict:
    """The digits network as Verilog on Verilator (cocotb): its counters against golden on
    :data:`VERILATOR_VECTORS` held-out inputs."""
    from spinemu.energy.activity import network_activity
    from spinemu.plan import Plan
    from spinemu.sim.network_runner import run_network

    plan = Plan.load(plan_dir)
    x = load_test_codes(plan_dir)[:VERILATOR_VECTORS]
    run = run_network(plan, x, counters=True)
    model = plan.model()
    golden = {f"layer{i}": a.as_counters()
              for i, a in enumerate(network_activity(model, x).layers)}
    return {"vectors": VERILATOR_VECTORS, "outputs_equal": bool((run.a == model(x)).all()),
            "rtl": run.counts, "golden": golden, "equal": run.counts == golden,
            "seconds": run.wall_seconds}


def rtl_pbit_counters(graph: str) -> dict:
    """A p-bit core's RTL counters against the golden counts of the same anneal."""
    from spinemu.energy.activity import anneal_activity
    from spinemu.hdl.pbit import PBitCore
    from spinemu.ising import DEFAULT_CONFIG, anneal, load_problem
    from spinemu.sim.counters import run_pbit_counted

    config = dataclasses.replace(DEFAULT_CONFIG, update_units=16, update_lanes=4)
    result = anneal(load_problem(graph), sweeps=RTL_SWEEPS, steps=2, replicas=1,
                    config=config, record=1)
    started = time.perf_counter()
    core = PBitCore(config, result.topology, schedule_depth=len(result.schedule),
                    counters=True)
    trajectory, counts = run_pbit_counted(core, result.quantized.J, result.quantized.h,
                                          result.seeds[0], result.initial[0], result.schedule)
    a = anneal_activity(result)
    golden = {"updates": a.updates, "random_bits": a.random_bits,
              "state_changes": a.state_changes}
    return {"graph": Path(graph).name, "sweeps": RTL_SWEEPS, "units": 16, "lanes": 4,
            "trajectory_equal": bool((trajectory == result.run.trajectory[:, 0]).all()),
            "rtl": counts, "golden": golden, "equal": counts == golden,
            "seconds": time.perf_counter() - started}


def summary(estimate) -> dict:
    return {"unit": estimate.unit, "components_j": estimate.components,
            "energy_j": estimate.energy, "latency_s": estimate.latency,
            "area_m2": estimate.area, "ops_per_unit": estimate.ops,
            "ops_per_joule": estimate.ops_per_joule, "baseline_j": estimate.baseline,
            "baseline_ratio": {k: estimate.baseline_ratio(k) for k in estimate.baseline}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan")
    parser.add_argument("--graph", default=str(REPO / "spinemu" / "models" / "G14.txt"))
    parser.add_argument("--rtl", action="store_true",
                        help="also compare the RTL's activity counters with golden")
    parser.add_argument("-o", "--output", default=str(REPO / "bench" / "results" /
                                                      "energy.json"))
    args = parser.parse_args(argv)
    console = Console()
    checked = validation()
    table = Table(title="validation macros: reported against estimated TOPS/W at the published "
                        "operating conditions (nothing fitted; a span is a condition the paper "
                        "leaves open for that figure)")
    for column in ("macro", "figure", "toggle", "sparsity", "vdd", "reported", "estimated",
                   "est/rep", "band", f"within {TOLERANCE:.0%}"):
        table.add_column(column)

    def shown(span):
        return "nominal" if span is None else "-".join(f"{v:g}" for v in sorted(set(span)))

    for r in checked["points"]:
        worst, best = r["band_tops_per_w"]
        low, high = r["estimated_tops_per_w"]
        c = r["conditions"]
        table.add_row(r["macro"], r["figure"] or r["end"], shown(c["toggle_rate"]),
                      shown(c["weight_sparsity"]), shown(c["vdd"]),
                      f"{r['reported_tops_per_w']:.3g}", shown((float(f"{low:.3g}"),
                                                               float(f"{high:.3g}"))),
                      shown([float(f"{x:.2g}") for x in r["ratio"]]),
                      f"{worst:.3g}-{best:.3g}",
                      ("yes" if r["conditions_known"] else "yes, somewhere in the span")
                      if r["within_tolerance"] else "NO")
    console.print(table)
    for name, macro in checked["macros"].items():
        ratio = macro["end_ratio"]
        low, high = ratio["estimated"]
        console.print(f"{name}: high/low end ratio reported {ratio['reported']:.3g}, estimated "
                      f"{low:.3g}-{high:.3g} ({100 * ratio['error'][0]:+.1f} to "
                      f"{100 * ratio['error'][1]:+.1f} %); calibrated constants: "
                      f"{', '.join(macro['calibrated']) or 'none'}")
        console.print("  " + ", ".join(f"{key} {c['status']} ({c['source']})"
                                       for key, c in macro["constants"].items()))
    tech = bundled_tech()
    with tempfile.TemporaryDirectory() as scratch:
        plan = args.plan
        if plan is None:
            from spinemu.mapper import map_model
            from spinemu.models import load_dataset

            data = load_dataset("digits")
            result = map_model("digits", data.calibration(256), data.test_x, data.test_y)
            plan = str(Path(scratch) / "digits")
            result.save(plan)
        work = network_workload(plan, vectors=len(load_test_codes(plan)))
        rtl = {}
        if args.rtl:
            rtl["network"] = rtl_network_counters(plan)
            rtl["network_verilator"] = verilator_network_counters(plan)
            rtl["pbit"] = rtl_pbit_counters(args.graph)
            for name, check in rtl.items():
                console.print(f"RTL counters, {name}: {'EQUAL' if check['equal'] else 'DIFFER'}"
                              f" to golden: {check['rtl']}")
    network = estimate_network(tech, work.activity, "digits")
    anneal = pbit_workload(args.graph, sweeps=100, replicas=4)
    pbits = {kind: estimate_pbit(tech, anneal.activity, kind, anneal.config.beta_bits)
             for kind in ("smtj", "cmos")}
    console.print(f"digits: {network.tops_per_watt:.3g} TOPS/W, {network.energy * 1e12:.4g} pJ "
                  f"per inference ({work.source})")
    for kind, e in pbits.items():
        console.print(f"{Path(args.graph).name} {kind}: {e.ops_per_joule:.3g} flips/J, "
                      f"{e.energy * 1e9:.4g} nJ per sweep")
    record = {"bench": "energy", "machine": machine_info(), "validation": checked,
              "digits": {"source": work.source, **summary(network)},
              "pbit": {"source": anneal.source, **{k: summary(e) for k, e in pbits.items()}},
              "rtl_counters": rtl}
    Path(args.output).write_text(json.dumps(record, indent=1))
    console.print(f"wrote {args.output}")


def load_test_codes(plan: str):
    """Every held-out input of the plan's data set as the plan's input codes (the digits split
    has 540)."""
    from spinemu.mapper import Mapping
    from spinemu.models import BUNDLED, load_dataset

    mapping = Mapping.load(plan)
    return mapping.input_codes(load_dataset(BUNDLED[mapping.model_name]).test_x)


if __name__ == "__main__":
    main()
