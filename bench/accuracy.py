"""Accuracy of the mapped bundled models against weight bits and device variation, as plots.

Run as ``python -m bench.accuracy [--quick] [--seeds N] [-o bench/results]``. It writes, into the
output folder,

- ``accuracy_weight_bits.png``: held-out accuracy against weight bits 2..8;
- ``accuracy_sigma.png``: against the programming error sigma 0..20 % of a level spacing;
- ``accuracy.json``: every point, seed by seed.

Each plot has one column per bundled model (``digits``, ``digits32``, ``digits_cnn``;
``--quick``: ``digits`` only and two seeds): held-out accuracy on top, the relative error of the
network's outputs (a smoother measure: 540 test inputs resolve 0.19 points) below, for the float
model, the ideal device, and the device with and without compensation (mean over device seeds,
band from min to max).

Widths not swept are the mapper's defaults (128x128 tiles, 4-bit weights and inputs, 8-bit
ADC); the device, when not ideal, has ``STUCK`` stuck cells and ``GAIN_SPREAD`` column gain
spread, and sigma ``SIGMA`` in the weight-bits sweep.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress

from spinemu.mapper import DeviceModel, MapSettings, map_model
from spinemu.models import BUNDLED, load_dataset

REPO = Path(__file__).resolve().parent.parent
WEIGHT_BITS = (2, 3, 4, 5, 6, 7, 8)
SIGMAS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2)
SIGMA, STUCK, GAIN_SPREAD = 0.05, 0.001, 0.05
CALIBRATION = 256
CONDITIONS = ("ideal", "compensated", "uncompensated")


def point(name: str, data, settings: dict, device: dict, seeds: int) -> dict:
    """One sweep point: the ideal device once, then the device with and without compensation
    for each of ``seeds`` device seeds; per condition the held-out ``accuracy`` and
    ``output_error`` (relative error of the last layer's dequantized outputs) of every run."""
    calibration = data.calibration(CALIBRATION)

    def runs(compensation: bool, devices) -> dict:
        reports = [map_model(name, calibration, data.test_x, data.test_y,
                             settings=MapSettings(**settings, compensation=compensation),
                             device=device_model).report for device_model in devices]
        return {"accuracy": [r.emulated_metric for r in reports],
                "output_error": [r.layers[-1].rel_error for r in reports]}

    devices = [DeviceModel(**device, seed=seed) for seed in range(seeds)]
    return {"ideal": runs(True, [DeviceModel()]), "compensated": runs(True, devices),
            "uncompensated": runs(False, devices)}


def sweep(models, weight_bits, sigmas, seeds: int, progress: Progress | None = None) -> dict:
    """All points of both sweeps for ``models``, as the JSON's ``models`` entry."""
    results = {}
    total = len(models) * (len(weight_bits) + len(sigmas))
    task = progress.add_task("mapping", total=total) if progress else None
    for name in models:
        data = load_dataset(BUNDLED[name])
        float_accuracy = map_model(name, data.calibration(CALIBRATION), data.test_x,
                                   data.test_y).report.float_metric
        entry = {"float": float_accuracy, "weight_bits": [], "sigma": []}
        for bits in weight_bits:
            entry["weight_bits"].append({"weight_bits": bits, **point(
                name, data, {"weight_bits": bits},
                {"sigma": SIGMA, "stuck": STUCK, "gain_spread": GAIN_SPREAD}, seeds)})
            if progress:
                progress.advance(task)
        for sigma in sigmas:
            entry["sigma"].append({"sigma": sigma, **point(
                name, data, {}, {"sigma": sigma, "stuck": STUCK, "gain_spread": GAIN_SPREAD},
                seeds)})
            if progress:
                progress.advance(task)
        results[name] = entry
    return results


STYLE = {"ideal": ("black", "ideal device"), "compensated": ("tab:blue", "with compensation"),
         "uncompensated": ("tab:red", "without compensation")}


def plot(results: dict, axis: str, path: Path) -> None:
    """Accuracy (top row) and output error (bottom row) against ``axis`` (``weight_bits`` or
    ``sigma``), one column per model."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, panels = pyplot.subplots(2, len(results), figsize=(5.5 * len(results), 7.5),
                                     squeeze=False, sharex="col")
    for column, (name, entry) in enumerate(results.items()):
        points = entry[axis]
        x = np.array([p[axis] for p in points], dtype=float) * (100 if axis == "sigma" else 1)
        top, bottom = panels[0, column], panels[1, column]
        top.axhline(100 * entry["float"], color="gray", linestyle="--", label="float model")
        for condition in CONDITIONS:
            color, label = STYLE[condition]
            for panel, key, factor in ((top, "accuracy", 100), (bottom, "output_error", 1)):
                values = factor * np.array([p[condition][key] for p in points])
                panel.plot(x, values.mean(axis=1), marker="o", color=color, label=label)
                if values.shape[1] > 1:
                    panel.fill_between(x, values.min(axis=1), values.max(axis=1), color=color,
                                       alpha=0.15)
        if axis == "sigma":
            bottom.set_xlabel("programming error sigma (% of a level spacing)")
            device = f"stuck {STUCK:.1%}, gain spread {GAIN_SPREAD:.0%}, 4-bit weights"
        else:
            bottom.set_xlabel("weight bits")
            device = f"sigma {SIGMA:.0%}, stuck {STUCK:.1%}, gain spread {GAIN_SPREAD:.0%}"
        top.set_title(f"{name}\ndevice: {device}", fontsize=9)
        top.set_ylabel("held-out accuracy (%)")
        bottom.set_ylabel("relative error of the outputs")
        bottom.set_ylim(bottom=0)
        for panel in (top, bottom):
            panel.grid(alpha=0.3)
        top.legend(fontsize=8, loc="lower right")
    figure.suptitle("mapped networks: 4-bit inputs, 8-bit ADC, 128x128 tiles\nmean and "
                    "min..max over device seeds", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def run(models, weight_bits, sigmas, seeds: int, output: Path, console: Console) -> dict:
    """Sweep, plot and write everything into ``output``; returns the JSON document."""
    started = time.perf_counter()
    with Progress(console=console) as progress:
        results = sweep(models, weight_bits, sigmas, seeds, progress)
    output.mkdir(parents=True, exist_ok=True)
    document = {
        "bench": "accuracy", "seeds": seeds, "calibration": CALIBRATION,
        "defaults": MapSettings().to_dict(),
        "device": {"weight_bits_sweep": {"sigma": SIGMA, "stuck": STUCK,
                                         "gain_spread": GAIN_SPREAD},
                   "sigma_sweep": {"stuck": STUCK, "gain_spread": GAIN_SPREAD}},
        "models": results, "wall_seconds": time.perf_counter() - started,
        "plots": ["accuracy_weight_bits.png", "accuracy_sigma.png"],
    }
    plot(results, "weight_bits", output / "accuracy_weight_bits.png")
    plot(results, "sigma", output / "accuracy_sigma.png")
    (output / "accuracy.json").write_text(json.dumps(document, indent=2) + "\n")
    return document


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits only, two seeds (smoke)")
    parser.add_argument("--seeds", type=int, default=5, help="device seeds per point")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results",
                        help="folder for the PNGs and accuracy.json (default: %(default)s)")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    models = ["digits"] if args.quick else list(BUNDLED)
    document = run(models, WEIGHT_BITS, SIGMAS, 2 if args.quick else args.seeds, args.output,
                   console)
    for name, entry in document["models"].items():
        at = {p["weight_bits"]: p for p in entry["weight_bits"]}.get(4)
        if at:
            mean = {c: 100 * np.mean(at[c]["accuracy"]) for c in CONDITIONS}
            console.print(
                f"{name}: float {100 * entry['float']:.2f} %; 4-bit weights: ideal device "
                f"{mean['ideal']:.2f} %, device with compensation {mean['compensated']:.2f} %, "
                f"without {mean['uncompensated']:.2f} %")
    console.print(f"{document['wall_seconds']:.0f} s; wrote {', '.join(document['plots'])} and "
                  f"accuracy.json in {args.output}")


if __name__ == "__main__":
    main()
