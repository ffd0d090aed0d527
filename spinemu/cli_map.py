"""``spinemu map``: a trained model onto tiled crossbar layers; float against emulated accuracy.

Registered on the main group by :mod:`spinemu.cli`. Errors are :class:`ConfigError`; the group
prints them as one line.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
from rich.table import Table

from spinemu.cli_common import console, out
from spinemu.config import ConfigError
from spinemu.mapper.settings import MapSettings

__all__ = ["map_command", "format_report"]

DEFAULTS = MapSettings()


class FractionOrPercent(click.ParamType):
    """A number ``0.05`` or a percentage ``5%``."""

    name = "fraction"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{value!r} is not a number or a percentage like 5%", param, ctx)


class TileSize(click.ParamType):
    """``RxC``, e.g. ``128x128``."""

    name = "RxC"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(value))
        if not match:
            self.fail(f"{value!r} is not ROWSxCOLS, e.g. 128x128", param, ctx)
        return int(match[1]), int(match[2])


class ImageShape(click.ParamType):
    """``CxHxW``, e.g. ``1x8x8``."""

    name = "CxHxW"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*", str(value))
        if not match:
            self.fail(f"{value!r} is not CHANNELSxHEIGHTxWIDTH, e.g. 1x8x8", param, ctx)
        return tuple(int(group) for group in match.groups())


def _metric(name: str, value: float) -> str:
    return f"{100 * value:.2f} %" if name == "accuracy" else f"{value:.4f}"


def _drop(name: str, value: float) -> str:
    return f"{100 * value:+.2f} pt" if name == "accuracy" else f"{value:+.4f}"


def format_report(report, settings, device) -> Table:
    """The per-layer table of a :class:`~spinemu.mapper.MapReport`."""
    name = report.metric_name
    table = Table(title=f"{report.model}: float vs emulated {name}, {report.samples} held-out "
                        f"inputs")
    for column in ("stage", "in x out", "tiles", "codes", "rel err", name, "vs float"):
        table.add_column(column, justify="left" if column == "stage" else "right", no_wrap=True)
    table.add_row("float model", "", "", "", "", _metric(name, report.float_metric), "")
    table.add_row("inputs", "", "", f"u{settings.input_bits}", "",
                  _metric(name, report.input_metric),
                  _drop(name, report.input_metric - report.float_metric))
    for layer in report.layers:
        kind = "u" if layer.relu else "s"
        table.add_row(f"layer {layer.index} {layer.name}",
                      f"{layer.in_features} x {layer.out_features}",
                      f"{layer.row_tiles} x {layer.col_tiles}", f"{kind}{layer.act_bits}",
                      f"{layer.rel_error:.3f}", _metric(name, layer.metric),
                      _drop(name, layer.metric - report.float_metric))
    table.caption = (
        f"{settings.tile_rows}x{settings.tile_cols} tiles, {settings.weight_bits}-bit weights "
        f"({settings.cell_bits}-bit cells), {settings.adc_bits}-bit ADC; device: sigma "
        f"{device.sigma:.1%} of a level, stuck {device.stuck:.2%}, gain spread "
        f"{device.gain_spread:.1%}, seed {device.seed}; compensation "
        f"{'on' if settings.compensation else 'off'}. {name} with the layers so far emulated, "
        f"the rest in float; rel err of the layer's outputs.")
    return table


@click.command("map")
@click.argument("model")
@click.option("-o", "--output", "plan_dir", type=click.Path(file_okay=False), required=True,
              help="Plan folder to write: network.toml, images.npz, mapping.json.")
@click.option("--data", help="Bundled data set (digits, digits32) or an .npz with train_x, "
                             "train_y, test_x, test_y. Default: a bundled model's own.")
@click.option("--task", type=click.Choice(["classifier", "regressor"]),
              help="What an ONNX or torch model's outputs mean. Default: classifier.")
@click.option("--input-shape", type=ImageShape(),
              help="Input image CxHxW of a torch convolution model (.pt); ONNX graphs carry "
                   "theirs.")
@click.option("--tile", type=TileSize(), default=(DEFAULTS.tile_rows, DEFAULTS.tile_cols),
              show_default=f"{DEFAULTS.tile_rows}x{DEFAULTS.tile_cols}",
              help="Tile size ROWSxCOLS.")
@click.option("--lanes", type=int, default=DEFAULTS.lanes, show_default=True,
              help="RTL lanes per tile.")
@click.option("--weight-bits", type=int, default=DEFAULTS.weight_bits, show_default=True,
              help="Signed multilevel weight code, 2..11.")
@click.option("--frac-bits", type=int, help="Cell fraction bits below a weight level "
                                            "[default: min(4, 12 - weight bits)].")
@click.option("--input-bits", type=int, default=DEFAULTS.input_bits, show_default=True,
              help="Input and hidden activation codes, 1..8.")
@click.option("--adc-bits", type=int, default=DEFAULTS.adc_bits, show_default=True,
              help="ADC width, 1..16.")
@click.option("--output-bits", type=int, default=DEFAULTS.output_bits, show_default=True,
              help="Output codes of the last layer, 1..16.")
@click.option("--mult-bits", type=int, default=DEFAULTS.mult_bits, show_default=True,
              help="Requantization multiplier, 1..24.")
@click.option("--bias-bits", type=int, default=DEFAULTS.bias_bits, show_default=True,
              help="Output bias, 1..32.")
@click.option("--sigma", type=FractionOrPercent(), default="0", show_default=True,
              help="Programming error, in level spacings (0.05 or 5%).")
@click.option("--stuck", type=FractionOrPercent(), default="0", show_default=True,
              help="Fraction of cells stuck at Gmin/Gmax (0.001 or 0.1%).")
@click.option("--gain-spread", type=FractionOrPercent(), default="0", show_default=True,
              help="Relative spread of the conductance gain of each tile column.")
@click.option("--seed", type=int, default=0, show_default=True, help="Device model seed.")
@click.option("--no-compensation", is_flag=True,
              help="Nominal column gains, zero offsets: the mapper does not look at the device.")
@click.option("--calibration", "calibration_size", type=int, default=256, show_default=True,
              help="Calibration inputs, drawn from the training split.")
def map_command(model, plan_dir, data, task, input_shape, tile, lanes, weight_bits, frac_bits,
                input_bits, adc_bits, output_bits, mult_bits, bias_bits, sigma, stuck,
                gain_spread, seed, no_compensation, calibration_size):
    """Map MODEL (digits, digits32, digits_cnn, or a .npz/.onnx/.pt file) onto tiles and write
    a plan.

    Prints, layer by layer, the error of the emulated activations and the accuracy with the
    layers so far emulated, against the float model, on the data set's held-out split.
    """
    from spinemu.mapper import DeviceModel, load_model, map_model
    from spinemu.models import BUNDLED, load_dataset

    if data is None:
        if model not in BUNDLED:
            raise ConfigError(f"model {model!r} is not bundled: give --data (a bundled data set "
                              f"{sorted(set(BUNDLED.values()))} or an .npz file)")
        data = BUNDLED[model]
    settings = MapSettings(
        tile_rows=tile[0], tile_cols=tile[1], lanes=lanes, weight_bits=weight_bits,
        frac_bits=frac_bits, input_bits=input_bits, adc_bits=adc_bits, output_bits=output_bits,
        mult_bits=mult_bits, bias_bits=bias_bits, compensation=not no_compensation)
    device = DeviceModel(sigma=sigma, stuck=stuck, gain_spread=gain_spread, seed=seed)
    with console.status(f"mapping {model}"):
        dense = load_model(model, task, input_shape)
        dataset = load_dataset(data)
        result = map_model(dense, dataset.calibration(calibration_size), dataset.test_x,
                           dataset.test_y, settings=settings, device=device)
        result.save(plan_dir)
    report = result.report
    out.print(format_report(report, settings, device))
    for layer in report.layers:
        if layer.window:
            out.print(f"layer {layer.index} {layer.name}: {layer.window}, im2col "
                      f"{layer.in_features} x {layer.out_features} on every output position")
    clamped = sum(s["clamped_registers"] for s in result.stats)
    if clamped:
        out.print(f"compensation: {clamped} gain/offset register(s) clamped to their range")
    name = report.metric_name
    out.print(f"overall {name}: float {_metric(name, report.float_metric)}, emulated "
              f"{_metric(name, report.emulated_metric)} "
              f"({_drop(name, report.emulated_metric - report.float_metric)})")
    out.print(f"wrote {Path(plan_dir)} (network.toml, images.npz, mapping.json)")
