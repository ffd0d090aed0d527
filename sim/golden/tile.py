"""Golden model of the crossbar MAC tile (DESIGN.md 3.1).

This module is the specification. The RTL, the mapper and the benchmarks import it; none of them
re-derive the arithmetic. It imports no Amaranth.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import TileConfig
from spinemu.numeric import rshift_round, sat, signed_range

__all__ = ["column_sums", "adc", "calibrate", "tile_forward", "CrossbarTileModel"]

# A float matmul of integers is exact while every partial sum stays below the mantissa's reach:
# |partial sum| <= rows * max|x| * max|g|, whatever order BLAS adds in.
_EXACT_FLOAT = ((np.float32, 1 << 24), (np.float64, 1 << 53))


def _sum_bound(config: TileConfig) -> int:
    x_lo, x_hi = config.input_range
    return config.rows * max(-x_lo, x_hi) * -signed_range(config.cell_bits)[0]


def _matmul_dtype(config: TileConfig):
    bound = _sum_bound(config)
    for dtype, limit in _EXACT_FLOAT:
        if bound <= limit:
            return dtype
    return np.int64


def column_sums(x: np.ndarray, g: np.ndarray, dtype=np.int64) -> np.ndarray:
    """``acc[b, c] = sum_r x[b, r] * g[r, c]``, exact, as int64.

    ``dtype`` is the arithmetic type of the product; a float type is used only where
    :func:`_matmul_dtype` says it is exact (the products of integers are then whole numbers).
    """
    acc = x.astype(dtype, copy=False) @ g.astype(dtype, copy=False)
    return acc.astype(np.int64) if acc.dtype != np.int64 else acc


def adc(acc: np.ndarray, adc_shift: np.ndarray, adc_bits: int, out=None) -> np.ndarray:
    """``q = sat(rshift_round(acc, adc_shift), adc_bits)``, ``adc_shift`` per column.

    ``out`` (int64, may be ``acc``) receives the result instead of a new array.
    """
    return sat(rshift_round(acc, adc_shift, out=out), adc_bits, out=out)


def calibrate(q: np.ndarray, gain, offset, config: TileConfig, out=None) -> np.ndarray:
    """``z = sat(rshift_round(q * gain, gain_frac) + offset, out_bits)``, per column.

    ``out`` (int64, may be ``q``) receives the result instead of a new array.
    """
    out = np.multiply(q, gain, out=out)
    out = np.add(rshift_round(out, config.gain_frac, out=out), offset, out=out)
    return sat(out, config.out_bits, out=out)


def tile_forward(config: TileConfig, g, x, adc_shift=None, gain=None, offset=None) -> np.ndarray:
    """Outputs ``z[batch, cols]`` of one crossbar tile for input codes ``x[batch, rows]``.

    Calibration registers default to :meth:`TileConfig.default_calibration`. Every image is
    checked against ``config`` first (:class:`spinemu.config.ConfigError` when it does not fit).
    """
    return CrossbarTileModel(config, g, adc_shift, gain, offset)(x)


class CrossbarTileModel:
    """A programmed tile: weights and calibration checked once, then applied to many batches.

    The weights are kept in the narrowest arithmetic type that is exact for this config
    (float32, float64 or int64), so repeated calls run at BLAS speed.
    """

    def __init__(self, config: TileConfig, g, adc_shift=None, gain=None, offset=None):
        self.config = config
        self.adc_shift, self.gain, self.offset = config.calibration(adc_shift, gain, offset)
        self.g = config.check_weights(g)
        self._dtype = _matmul_dtype(config)
        self._g = self.g.astype(self._dtype)

    def __call__(self, x) -> np.ndarray:
        x = self.config.check_inputs(x)
        # The post-processing works in place on the fresh sums: a chain of int64 temporaries
        # costs more than the matmul on small tiles.
        acc = column_sums(x, self._g, self._dtype)
        adc(acc, self.adc_shift, self.config.adc_bits, out=acc)
        return calibrate(acc, self.gain, self.offset, self.config, out=acc)
