"""A mapped network: the :class:`~spinemu.plan.Plan` and the float scales of its codes.

The plan alone is integers in, integers out. To run it on float data the first layer's inputs
are quantized with one per-tensor scale (``code = clip(round_half_up(x / input_scale))`` over
the unsigned, or when the calibration inputs had negative values signed, ``input_bits`` range),
and the output codes of layer ``i`` stand for ``code * output_scales[i]``.

On disk the plan folder gets a third file, ``mapping.json``, beside ``network.toml`` and
``images.npz``::

    format          "spinemu-mapping/1"
    model           name of the float model
    task, classes   "classifier" with its labels, or "regressor" with null
    input           {"scale", "bits", "signed"}
    layers[]        {"name", "output_scale"}  one per layer, in order
    settings        MapSettings fields;  device  DeviceModel fields
    report          the MapReport of the mapping, or null
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError
from spinemu.plan import Plan

from .dense import predict_from_outputs
from .device import DeviceModel
from .quantize import quantize
from .settings import MapSettings

__all__ = ["Mapping", "MAPPING_FILE", "FORMAT"]

MAPPING_FILE, FORMAT = "mapping.json", "spinemu-mapping/1"


@dataclass(frozen=True)
class Mapping:
    """A plan with what it takes to feed it floats and read its codes back.

    Attributes
    ----------
    plan : Plan
    model_name : str
    task : str
    classes : array or None
    layer_names : tuple of str
    input_scale : float
        Float value of one input code step of layer 0.
    output_scales : tuple of float
        Float value of one output code step of each layer.
    settings : MapSettings
    device : DeviceModel
    """

    plan: Plan
    model_name: str
    task: str
    classes: np.ndarray | None
    layer_names: tuple[str, ...]
    input_scale: float
    output_scales: tuple[float, ...]
    settings: MapSettings
    device: DeviceModel

    @property
    def input_signed(self) -> bool:
        return self.plan.config.layers[0].tile.input_signed

    def input_codes(self, x) -> np.ndarray:
        """Layer 0 input codes ``[batch, inputs]`` for float inputs ``x``."""
        first = self.plan.config.layers[0]
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != first.inputs:
            raise ConfigError(f"layer 0 ({self.layer_names[0]!r}): inputs have shape {x.shape}; "
                              f"expected [batch, {first.inputs}]")
        return quantize(x, self.input_scale, first.tile.input_bits, first.tile.input_signed)

    def activations(self, x) -> list[np.ndarray]:
        """Every layer's output codes, dequantized to floats, for float inputs ``x``."""
        codes = self.plan.model().activations(self.input_codes(x))
        return [c * scale for c, scale in zip(codes, self.output_scales, strict=True)]

    def predict(self, x) -> np.ndarray:
        """Labels (classifier) or values (regressor) of the emulated network."""
        return predict_from_outputs(self.task, self.classes, self.activations(x)[-1])

    def to_dict(self, report: dict | None = None) -> dict:
        first = self.plan.config.layers[0].tile
        return {
            "format": FORMAT, "model": self.model_name, "task": self.task,
            "classes": None if self.classes is None else self.classes.tolist(),
            "input": {"scale": self.input_scale, "bits": first.input_bits,
                      "signed": first.input_signed},
            "layers": [{"name": name, "output_scale": scale}
                       for name, scale in zip(self.layer_names, self.output_scales, strict=True)],
            "settings": self.settings.to_dict(), "device": self.device.to_dict(),
            "report": report,
        }

    def save(self, directory: str | Path, report: dict | None = None) -> None:
        """Write the plan and ``mapping.json`` (with ``report``, if given) into ``directory``."""
        directory = Path(directory)
        self.plan.save(directory)
        (directory / MAPPING_FILE).write_text(json.dumps(self.to_dict(report), indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> Mapping:
        directory = Path(directory)
        plan = Plan.load(directory)
        path = directory / MAPPING_FILE
        if not path.is_file():
            raise ConfigError(f"{directory} holds a plan but no {MAPPING_FILE}")
        try:
            meta = json.loads(path.read_text())
            if meta.get("format") != FORMAT:
                raise ConfigError(f"{path}: format = {meta.get('format')!r}; expected {FORMAT!r}")
            layers = meta["layers"]
            mapping = cls(
                plan=plan, model_name=meta["model"], task=meta["task"],
                classes=None if meta["classes"] is None else np.asarray(meta["classes"]),
                layer_names=tuple(layer["name"] for layer in layers),
                input_scale=float(meta["input"]["scale"]),
                output_scales=tuple(float(layer["output_scale"]) for layer in layers),
                settings=MapSettings(**meta["settings"]), device=DeviceModel(**meta["device"]))
        except (ValueError, KeyError, TypeError) as error:
            if isinstance(error, ConfigError):
                raise
            raise ConfigError(f"{path} is malformed: {error!r}") from None
        if len(mapping.output_scales) != len(plan.config.layers):
            raise ConfigError(f"{path} lists {len(mapping.output_scales)} layers; the plan has "
                              f"{len(plan.config.layers)}")
        return mapping
