"""How far a mapped network is from its float model, layer by layer, on a held-out set.

For a classifier the metric is accuracy (fraction correct), for a regressor R^2; ``drop`` is
float minus emulated, so a positive drop is a loss. Per layer ``i``:

- ``rel_error``: ``||a_emulated - a_float|| / ||a_float||`` of the layer's outputs, the emulated
  ones dequantized, both from the same float inputs (errors accumulate from layer 0);
- ``metric``: the metric with layers ``0..i`` emulated and the layers after them in float on the
  dequantized codes, so the step from one row to the next is what layer ``i`` costs.

``input_metric`` is the float model on the quantized inputs (the cost of the input codes alone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from spinemu.config import ConfigError

from .dense import DenseModel, predict_from_outputs
from .mapping import Mapping

__all__ = ["LayerReport", "MapReport", "metric", "evaluate"]


def metric(task: str, predicted: np.ndarray, truth: np.ndarray) -> float:
    """Accuracy (classifier) or R^2 (regressor)."""
    truth = np.asarray(truth)
    if task == "classifier":
        return float(np.mean(predicted == truth))
    residual = ((truth - predicted) ** 2).sum()
    total = ((truth - truth.mean(axis=0)) ** 2).sum()
    return float(1.0 - residual / total) if total > 0 else 0.0


@dataclass(frozen=True)
class LayerReport:
    """One layer of a :class:`MapReport` (fields described in the module doc; ``window`` is a
    convolution's :attr:`~spinemu.config.ConvConfig.label`, empty for a dense layer)."""

    index: int
    name: str
    in_features: int
    out_features: int
    row_tiles: int
    col_tiles: int
    relu: bool
    act_bits: int
    output_scale: float
    rel_error: float
    metric: float
    cell_error_rms: float
    adc_shift_min: int
    adc_shift_max: int
    clamped_registers: int
    window: str = ""


@dataclass(frozen=True)
class MapReport:
    """Float against emulated on a held-out set of ``samples`` inputs."""

    model: str
    metric_name: str
    samples: int
    float_metric: float
    input_metric: float
    emulated_metric: float
    layers: tuple[LayerReport, ...]

    @property
    def drop(self) -> float:
        return self.float_metric - self.emulated_metric

    def to_dict(self) -> dict:
        values = asdict(self)
        values["drop"] = self.drop
        return values


def evaluate(mapping: Mapping, model: DenseModel, x, y, stats: tuple[dict, ...]) -> MapReport:
    """Compare ``mapping`` with the float ``model`` it came from on inputs ``x``, truth ``y``.

    ``stats`` holds, per layer, ``cell_error_rms`` and ``clamped_registers`` from the mapping.
    """
    x = model.check_inputs(x)
    if len(np.asarray(y)) != len(x):
        raise ConfigError(f"test labels have {len(np.asarray(y))} entries for {len(x)} inputs")

    def score(outputs):
        return metric(model.task, predict_from_outputs(model.task, model.classes, outputs), y)

    floats = model.activations(x)
    emulated = mapping.activations(x)
    quantized_inputs = mapping.input_codes(x) * mapping.input_scale
    layers = []
    for i, (config, a_float, a_emulated) in enumerate(zip(mapping.plan.config.layers, floats,
                                                          emulated, strict=True)):
        rest = model.activations(a_emulated, start=i + 1)
        norm = float(np.linalg.norm(a_float))
        error = float(np.linalg.norm(a_emulated - a_float))
        used = mapping.plan.images[i].adc_shift.reshape(config.row_tiles, -1)
        shifts = used[:, : config.out_features]
        layers.append(LayerReport(
            index=i, name=mapping.layer_names[i], in_features=config.in_features,
            out_features=config.out_features, row_tiles=config.row_tiles,
            col_tiles=config.col_tiles, relu=config.relu, act_bits=config.act_bits,
            output_scale=mapping.output_scales[i],
            rel_error=error / norm if norm > 0 else error,
            metric=score(rest[-1] if rest else a_emulated),
            cell_error_rms=stats[i]["cell_error_rms"], adc_shift_min=int(shifts.min()),
            adc_shift_max=int(shifts.max()), clamped_registers=stats[i]["clamped_registers"],
            window="" if config.conv is None else config.conv.label))
    return MapReport(model=mapping.model_name, metric_name=("accuracy" if model.task ==
                                                            "classifier" else "r2"),
                     samples=len(x), float_metric=score(floats[-1]),
                     input_metric=score(model.activations(quantized_inputs)[-1]),
                     emulated_metric=layers[-1].metric, layers=tuple(layers))
