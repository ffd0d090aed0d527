"""Energy estimates (docs/energy.md): the two validation macros' reported against estimated
TOPS/W, and ``spinemu estimate``'s figures for the bundled digits plan and a G-set anneal.

Run ``python -m bench.energy [--plan DIR] [--graph FILE] [-o FILE]``. The digits plan is mapped
with ``spinemu map digits`` defaults into a temporary folder unless ``--plan`` names one; the
graph defaults to the bundled G14. Writes ``bench/results/energy.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.machine import machine_info
from spinemu.energy.estimate import estimate_network, estimate_pbit
from spinemu.energy.tech import bundled_tech
from spinemu.energy.validation import macro_tops_per_watt, validation_points
from spinemu.energy.workloads import network_workload, pbit_workload

REPO = Path(__file__).resolve().parents[1]
MACROS = ("cai_isscc2023", "natelec2025")


def validation() -> list[dict]:
    rows = []
    for name in MACROS:
        tech = bundled_tech(name)
        source, fitted, points = validation_points(tech)
        for point in points:
            estimated = macro_tops_per_watt(tech, point)
            rows.append({"macro": name, "source": source, "point": point.label,
                         "role": point.role, "fitted": fitted, "fitted_value": tech[fitted],
                         "reported_tops_per_w": point.reported,
                         "estimated_tops_per_w": estimated,
                         "error": estimated / point.reported - 1})
    return rows


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
    parser.add_argument("-o", "--output", default=str(REPO / "bench" / "results" /
                                                      "energy.json"))
    args = parser.parse_args(argv)
    console = Console()
    rows = validation()
    table = Table(title="validation macros: TOPS/W")
    for column in ("macro", "point", "role", "reported", "estimated", "error"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["macro"], r["point"], r["role"], f"{r['reported_tops_per_w']:.3g}",
                      f"{r['estimated_tops_per_w']:.3g}", f"{100 * r['error']:+.1f} %")
    console.print(table)
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
        work = network_workload(plan, vectors=len(load_test(plan)))
    network = estimate_network(tech, work.activity, "digits")
    anneal = pbit_workload(args.graph, sweeps=100, replicas=4)
    pbits = {kind: estimate_pbit(tech, anneal.activity, kind, anneal.config.beta_bits)
             for kind in ("smtj", "cmos")}
    console.print(f"digits: {network.tops_per_watt:.3g} TOPS/W, {network.energy * 1e12:.4g} pJ "
                  f"per inference ({work.source})")
    for kind, e in pbits.items():
        console.print(f"{Path(args.graph).name} {kind}: {e.ops_per_joule:.3g} flips/J, "
                      f"{e.energy * 1e9:.4g} nJ per sweep")
    record = {"bench": "energy", "machine": machine_info(), "validation": rows,
              "digits": {"source": work.source, **summary(network)},
              "pbit": {"source": anneal.source, **{k: summary(e) for k, e in pbits.items()}}}
    Path(args.output).write_text(json.dumps(record, indent=1))
    console.print(f"wrote {args.output}")


def load_test(plan: str):
    """All held-out inputs of the plan's data set (the digits split has 540)."""
    from spinemu.mapper import Mapping
    from spinemu.models import BUNDLED, load_dataset

    return load_dataset(BUNDLED[Mapping.load(plan).model_name]).test_x


if __name__ == "__main__":
    main()
