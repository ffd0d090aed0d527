"""What is programmed into a tiled layer: :class:`LayerImages` (DESIGN.md 3.2).

A leaf module (numpy and :mod:`spinemu.config` only): the golden model, plans, the mapper and
the gateware all import the images from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinemu.config import LayerConfig, check_image
from spinemu.numeric import signed_range, unsigned_range

__all__ = ["LayerImages"]


@dataclass(frozen=True)
class LayerImages:
    """What is programmed into one layer.

    Attributes
    ----------
    g : int [In, Out]
        Stored cell codes (signed ``tile.cell_bits``).
    adc_shift, gain, offset : int [row_tiles, col_tiles, tile.cols]
        Column registers of every tile.
    bias : int [Out] (signed ``bias_bits``), mult : int [Out] (unsigned ``mult_bits``),
    shift : int [Out] (0..``max_shift``)
        Output periphery.
    """

    g: np.ndarray
    adc_shift: np.ndarray
    gain: np.ndarray
    offset: np.ndarray
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray

    NAMES = ("g", "adc_shift", "gain", "offset", "bias", "mult", "shift")

    def checked(self, layer: LayerConfig, where: str = "layer") -> LayerImages:
        """A copy as int64 arrays, each checked against ``layer``; errors name ``where``."""
        t = layer.tile
        grid = (layer.row_tiles, layer.col_tiles, t.cols)
        specs = {
            "g": ((layer.in_features, layer.out_features), *signed_range(t.cell_bits)),
            "adc_shift": (grid, 0, t.max_adc_shift),
            "gain": (grid, *unsigned_range(t.gain_bits)),
            "offset": (grid, *signed_range(t.offset_bits)),
            "bias": ((layer.out_features,), *signed_range(layer.bias_bits)),
            "mult": ((layer.out_features,), *unsigned_range(layer.mult_bits)),
            "shift": ((layer.out_features,), 0, layer.max_shift),
        }
        return LayerImages(**{name: check_image(f"{where} {name}", getattr(self, name), *spec)
                              for name, spec in specs.items()})

    @classmethod
    def identity(cls, layer: LayerConfig, g) -> LayerImages:
        """Weights ``g`` with full-scale ADCs, identity calibration and an identity periphery
        (bias 0, mult 1, shift 0)."""
        t = layer.tile
        grid = (layer.row_tiles, layer.col_tiles, t.cols)
        shift, gain, offset = t.default_calibration()
        out = layer.out_features
        return cls(g=np.asarray(g), adc_shift=np.broadcast_to(shift, grid).copy(),
                   gain=np.broadcast_to(gain, grid).copy(),
                   offset=np.broadcast_to(offset, grid).copy(), bias=np.zeros(out, np.int64),
                   mult=np.ones(out, np.int64), shift=np.zeros(out, np.int64))

    def tile_weights(self, layer: LayerConfig) -> list[list[np.ndarray]]:
        """The weights of tile ``(p, q)`` as ``[p][q]``, each ``[R, C]``: ``g`` zero padded to
        ``row_tiles * R`` by ``col_tiles * C`` and cut into tiles (rows ``p*R ..``, columns
        ``q*C ..``)."""
        t = layer.tile
        padded = np.zeros((layer.row_tiles * t.rows, layer.col_tiles * t.cols), np.int64)
        padded[: layer.in_features, : layer.out_features] = self.g
        return [[padded[p * t.rows:(p + 1) * t.rows, q * t.cols:(q + 1) * t.cols]
                 for q in range(layer.col_tiles)] for p in range(layer.row_tiles)]
