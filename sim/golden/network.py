"""Golden model of tiled layers and networks (DESIGN.md 3.2).

A layer of ``In x Out`` weights runs on a grid of ``row_tiles x col_tiles`` crossbar tiles (zero
padded). Tile ``(p, q)`` sees inputs ``p*R .. p*R+R-1`` and produces outputs ``q*C .. q*C+C-1``;
the adder tree of output column ``q`` sums the ``z`` of its row-tiles exactly:
``y[o] = sum_p z[p, o]``. The output periphery then requantizes to integer codes for the next
layer::

    v = y[o] + bias[o];  if relu: v = max(v, 0)
    a[o] = usat(rshift_round(v * mult[o], shift[o]), O)    (relu)
           sat (rshift_round(v * mult[o], shift[o]), O)    (no relu)

A convolution layer (``layer.conv``) runs the same grid on every im2col patch of its input
image and pools the output codes a (:mod:`.window`): input and output vectors are flat NHWC
images.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import ConfigError, LayerConfig, NetworkConfig
from spinemu.images import LayerImages
from spinemu.numeric import rshift_round, sat, usat

from .tile import CrossbarTileModel
from .window import im2col, pool

__all__ = ["LayerModel", "NetworkModel", "output_codes", "requantize"]


def requantize(layer: LayerConfig, y: np.ndarray, bias, mult, shift) -> np.ndarray:
    """The output periphery: ``y[batch, Out]`` sums to ``a`` codes of ``act_bits``."""
    v = y + bias
    if layer.relu:
        v = np.maximum(v, 0)
    scaled = rshift_round(v * mult, shift)
    return usat(scaled, layer.act_bits) if layer.relu else sat(scaled, layer.act_bits)


def output_codes(layer: LayerConfig, y: np.ndarray, bias, mult, shift) -> np.ndarray:
    """Codes ``a[batch, outputs]`` of adder-tree outputs ``y[rows, Out]``: the periphery, then
    a convolution's pooling."""
    a = requantize(layer, y, bias, mult, shift)
    return a if layer.conv is None else pool(a, layer.conv)


class LayerModel:
    """A programmed layer: tiles built once, then applied to batches of input codes."""

    def __init__(self, layer: LayerConfig, images: LayerImages, where: str = "layer"):
        self.layer = layer
        self.images = i = images.checked(layer, where)
        self.tiles = [[
            CrossbarTileModel(layer.tile, g, i.adc_shift[p, q], i.gain[p, q], i.offset[p, q])
            for q, g in enumerate(row)] for p, row in enumerate(i.tile_weights(layer))]

    def tile_outputs(self, x) -> np.ndarray:
        """``z[row_tile, batch, col_tiles * C]``: all tile outputs for inputs ``x[batch, In]``."""
        layer, t = self.layer, self.layer.tile
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != layer.in_features:
            raise ConfigError(f"inputs have shape {x.shape}; expected [batch, "
                              f"{layer.in_features}]")
        padded = np.zeros((x.shape[0], layer.row_tiles * t.rows), np.int64)
        padded[:, : layer.in_features] = x
        return np.stack([
            np.concatenate([tile(padded[:, p * t.rows:(p + 1) * t.rows]) for tile in row], axis=1)
            for p, row in enumerate(self.tiles)])

    def sums(self, x) -> np.ndarray:
        """Adder-tree outputs ``y[batch, Out]`` for matrix inputs ``x[batch, In]``."""
        return self.tile_outputs(x).sum(axis=0)[:, : self.layer.out_features]

    def patches(self, x) -> np.ndarray:
        """The matrix inputs ``[rows, In]`` of layer inputs ``x[batch, inputs]``: ``x`` itself,
        or a convolution's im2col patches (``batch * positions`` rows)."""
        conv = self.layer.conv
        if conv is None:
            return x
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != conv.inputs:
            raise ConfigError(f"inputs have shape {x.shape}; expected [batch, {conv.inputs}] "
                              f"(an NHWC image {conv.height}x{conv.width}x{conv.channels})")
        return im2col(x, conv)

    def __call__(self, x) -> np.ndarray:
        """Output codes ``a[batch, outputs]`` of inputs ``x[batch, inputs]``."""
        i = self.images
        return output_codes(self.layer, self.sums(self.patches(x)), i.bias, i.mult, i.shift)


class NetworkModel:
    """Layers applied in sequence; :meth:`activations` keeps every layer's output codes."""

    def __init__(self, config: NetworkConfig, images: list[LayerImages]):
        if len(images) != len(config.layers):
            raise ConfigError(f"{len(images)} layer images for {len(config.layers)} layers")
        self.config = config
        self.layers = [LayerModel(layer, image, where=f"layer {index}")
                       for index, (layer, image) in enumerate(zip(config.layers, images,
                                                                  strict=True))]

    def activations(self, x) -> list[np.ndarray]:
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out

    def __call__(self, x) -> np.ndarray:
        return self.activations(x)[-1]
