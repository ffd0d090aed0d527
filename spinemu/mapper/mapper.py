"""The mapper's entry point: a float model and a calibration batch in, a :class:`Plan` out.

Layer by layer (DESIGN.md 3.1, 3.2), for layer ``i`` with input codes of scale ``s_in``:

1. weights to per-output-channel codes ``w`` (``weight_bits``, scale ``s_w[o]``), see
   :mod:`.quantize`;
2. cells programmed through the device model: ``g = w * 2**f + e`` (:mod:`.device`);
3. the calibration batch's codes through the array (the programmed one with compensation, the
   one asked for without): ADC shifts, alignment and compensation of every tile column
   (:mod:`.calibrate`); ``y[o]`` then stands for ``alpha[o] = s_in * s_w[o] * 2**(T[o] - f)``
   per unit;
4. the output periphery: ``bias[o] = round(mean(u[o] / alpha[o] - y[o]))`` over the batch, ``u``
   the float pre-activation (the float bias plus the layer's mean error: bias correction),
   signed ``bias_bits``; ``mult[o] / 2**shift[o] ~ alpha[o] / s_out`` (unsigned
   ``mult_bits``), where ``s_out`` is the scale of the layer's output codes, chosen on the
   float model's activations for the calibration batch (least squared error; the last layer
   keeps its whole range);
5. the layer's golden model runs the calibration codes on to the next layer, so each layer is
   calibrated on the inputs the emulated layers before it give.

A model or setting the fabric cannot hold is refused with a :class:`ConfigError` naming the
layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinemu.config import ConfigError, NetworkConfig, check_image
from spinemu.images import LayerImages
from spinemu.numeric import round_half_up, signed_range
from spinemu.plan import Plan
from spinemu.sim.golden.network import LayerModel, output_codes

from .calibrate import calibrate_layer
from .dense import DenseModel
from .device import DeviceModel
from .importers import load_model
from .mapping import Mapping
from .quantize import (
    CLIP_FRACTIONS,
    activation_scale,
    quantize,
    ratio_to_mult_shift,
    weight_codes,
)
from .report import MapReport, evaluate
from .settings import MapSettings

__all__ = ["MapResult", "map_model", "network_config"]


@dataclass(frozen=True)
class MapResult:
    """What :func:`map_model` returns.

    Attributes
    ----------
    mapping : Mapping
        The plan and its scales (``mapping.plan`` is the :class:`Plan`).
    report : MapReport or None
        Float against emulated on the held-out set, when one was given.
    stats : tuple of dict
        Per layer: ``cell_error_rms`` (stored minus asked-for cells, in level spacings) and
        ``clamped_registers`` (compensation registers clamped to their range).
    """

    mapping: Mapping
    report: MapReport | None
    stats: tuple[dict, ...]

    @property
    def plan(self) -> Plan:
        return self.mapping.plan

    def save(self, directory) -> None:
        self.mapping.save(directory, None if self.report is None else self.report.to_dict())


def _where(index: int, model: DenseModel) -> str:
    return f"layer {index} ({model.layers[index].name!r})"


def _check_bias(bias: np.ndarray, config, where: str) -> np.ndarray:
    return check_image(f"{where}: bias", bias, bias.shape, *signed_range(config.bias_bits),
                       note=f"bias_bits = {config.bias_bits}, in units of the column sum")


def _map_layer(index: int, model: DenseModel, codes: np.ndarray, scale: float, signed: bool,
               x_float: np.ndarray, out_float: np.ndarray, settings: MapSettings,
               device: DeviceModel):
    """Layer ``index`` for calibration input codes ``codes`` (scale ``scale``) and float inputs
    ``x_float`` with float outputs ``out_float``; returns ``(config, images, output scale,
    output codes, stats)``. A convolution is calibrated on the im2col patches of every output
    position of the batch."""
    dense, where = model.layers[index], _where(index, model)
    last = index == len(model.layers) - 1
    codes, x_float = dense.patches(codes), dense.patches(x_float)
    try:
        config = settings.layer(dense.in_features, dense.out_features, dense.relu, signed, last,
                                dense.conv)
        out_scale = activation_scale(out_float, config.act_bits, not dense.relu,
                                     (1.0,) if last else CLIP_FRACTIONS)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
    w, w_scale = weight_codes(dense.weight, settings.weight_bits)
    g_ideal = w << settings.frac_bits
    g = device.program(w, settings.frac_bits, settings.cell_bits, settings.tile_rows, index)
    # Without compensation the mapper never looks at the device: it calibrates the array it
    # asked for, and the plan holds the array it got.
    seen = g if settings.compensation else g_ideal
    calibration = calibrate_layer(config, seen, g_ideal, codes, settings.compensation)
    zeros = np.zeros(dense.out_features, np.int64)
    y = LayerModel(config, LayerImages(seen, calibration.adc_shift, calibration.gain,
                                       calibration.offset, zeros, zeros, zeros), where).sums(codes)
    alpha = scale * w_scale * np.exp2(calibration.scale_shift - settings.frac_bits)
    pre = x_float @ dense.weight + dense.bias
    bias = _check_bias(round_half_up((pre / alpha - y).mean(axis=0)), config, where)
    mult, shift = ratio_to_mult_shift(alpha / out_scale, config.mult_bits, config.max_shift,
                                      where)
    images = LayerImages(g, calibration.adc_shift, calibration.gain, calibration.offset, bias,
                         mult, shift)
    stats = {"cell_error_rms": float(np.sqrt(np.mean(
                 ((g - g_ideal) / float(1 << settings.frac_bits)) ** 2))),
             "clamped_registers": calibration.clamped}
    return config, images, out_scale, output_codes(config, y, bias, mult, shift), stats


def network_config(model, *, settings: MapSettings | None = None,
                   input_signed: bool = False, task: str | None = None) -> NetworkConfig:
    """The :class:`NetworkConfig` that :func:`map_model` gives ``model`` when its calibration
    inputs are ``input_signed`` or not, without mapping anything: what the gateware of a mapped
    network needs (the images are loaded at run time)."""
    settings = MapSettings() if settings is None else settings
    model = load_model(model, task)
    layers, signed = [], input_signed
    for index, dense in enumerate(model.layers):
        layers.append(settings.layer(dense.in_features, dense.out_features, dense.relu, signed,
                                     index == len(model.layers) - 1, dense.conv))
        signed = not dense.relu
    return NetworkConfig(tuple(layers))


def map_model(model, calibration_x, test_x=None, test_y=None, *,
              settings: MapSettings | None = None, device: DeviceModel | None = None,
              task: str | None = None) -> MapResult:
    """Map ``model`` onto tiles.

    Parameters
    ----------
    model
        Anything :func:`~spinemu.mapper.importers.load_model` takes (a bundled name, a
        ``.npz``/``.onnx``/``.pt`` path, an MLP estimator, an ONNX or torch model, a
        :class:`DenseModel`).
    calibration_x : float [N, In]
        Calibration batch: input scale, ADC shifts, compensation and activation scales.
    test_x, test_y : optional
        Held-out set for the :class:`MapReport`.
    settings, device
        Widths and geometry (default :class:`MapSettings`); device non-idealities (default
        an ideal :class:`DeviceModel`).
    task
        What an ONNX or torch model's outputs mean (default classifier).
    """
    settings = MapSettings() if settings is None else settings
    device = DeviceModel() if device is None else device
    model = load_model(model, task)
    x_float = model.check_inputs(calibration_x)
    floats = [x_float, *model.activations(x_float)]
    signed = bool((x_float < 0).any())
    try:
        input_scale = scale = activation_scale(x_float, settings.input_bits, signed)
    except ConfigError as error:
        raise ConfigError(f"{_where(0, model)} inputs: {error}") from None
    codes = quantize(x_float, scale, settings.input_bits, signed)
    layers, images, scales, stats = [], [], [], []
    for index, dense in enumerate(model.layers):
        config, image, scale, codes, layer_stats = _map_layer(
            index, model, codes, scale, signed, floats[index], floats[index + 1], settings,
            device)
        signed = not dense.relu
        layers.append(config)
        images.append(image)
        scales.append(scale)
        stats.append(layer_stats)
    mapping = Mapping(Plan(NetworkConfig(tuple(layers)), tuple(images)), model.name, model.task,
                      model.classes, tuple(layer.name for layer in model.layers), input_scale,
                      tuple(scales), settings, device)
    report = None
    if test_x is not None:
        report = evaluate(mapping, model, test_x, test_y, tuple(stats))
    return MapResult(mapping, report, tuple(stats))
