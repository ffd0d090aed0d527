"""Golden model of the crossbar MAC tile (DESIGN.md 3.1).

This module is the specification. The RTL, the mapper and the benchmarks import it; none of them
re-derive the arithmetic. It imports no Amaranth.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import TileConfig
from spinemu.numeric import rshift_round, sat, signed_range

from . import kernels

__all__ = ["column_sums", "adc", "calibrate", "tile_forward", "CrossbarTileModel", "sum_plan",
           "split_weights"]

# A float matmul of integers is exact while every partial sum stays below the mantissa's reach:
# |partial sum| <= rows * max|x| * max|g|, whatever order BLAS adds in.
FLOAT32_EXACT = 1 << 24
FLOAT64_EXACT = 1 << 53
#: Most weight parts of a float32 split (the epilogue joins one or two): two float32 GEMMs cost
#: about one float64 GEMM.
MAX_PARTS = 2


def _sum_bound(config: TileConfig) -> int:
    x_lo, x_hi = config.input_range
    return config.rows * max(-x_lo, x_hi) * -signed_range(config.cell_bits)[0]


def _matmul_dtype(config: TileConfig):
    bound = _sum_bound(config)
    for dtype, limit in ((np.float32, FLOAT32_EXACT), (np.float64, FLOAT64_EXACT)):
        if bound <= limit:
            return dtype
    return np.int64


def sum_plan(config: TileConfig) -> tuple[type, int, int]:
    """How :class:`CrossbarTileModel` computes the column sums exactly: ``(dtype, parts,
    shift)``.

    The weights are split into ``parts`` codes ``g = sum_k g_k 2**(k shift)``: the low parts
    unsigned ``shift``-bit (``g_k = (g >> k shift) & (2**shift - 1)``), the top part the signed
    rest (``g >> (parts - 1) shift``). One GEMM of ``x`` with ``[g_0 | g_1 | ...]`` in ``dtype``
    gives every part's sums, exact when ``rows * max|x| * max|g_k| <= 2**24`` (float32) for
    every part; ``acc = sum_k acc_k << (k shift)`` is then exact in int64. The fewest float32
    parts up to :data:`MAX_PARTS` are taken (``parts = 1``: no split), else one part in float64
    (exact below ``2**53``: always, within the config's ranges), else int64.
    """
    x_lo, x_hi = config.input_range
    reach = config.rows * max(-x_lo, x_hi)
    cell_bits = config.cell_bits
    if reach << (cell_bits - 1) <= FLOAT32_EXACT:
        return np.float32, 1, 0
    for parts in range(2, MAX_PARTS + 1):
        for shift in range(1, cell_bits):
            top = cell_bits - (parts - 1) * shift  # bits of the signed top part
            if top < 1:
                break
            if (reach * ((1 << shift) - 1) <= FLOAT32_EXACT
                    and reach << (top - 1) <= FLOAT32_EXACT):
                return np.float32, parts, shift
    return _matmul_dtype(config), 1, 0


def split_weights(g: np.ndarray, parts: int, shift: int) -> np.ndarray:
    """The parts of :func:`sum_plan` side by side: ``[g_0 | g_1 | ... ]`` ``[rows, parts *
    cols]`` (int64), with ``g == sum_k g_k << (k shift)``."""
    g = np.asarray(g, dtype=np.int64)
    if parts == 1:
        return g
    mask = (1 << shift) - 1
    low = [(g >> (k * shift)) & mask for k in range(parts - 1)]
    return np.concatenate([*low, g >> ((parts - 1) * shift)], axis=1)


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


#: Input dtypes checked and converted by the compiled kernel; others go through
#: :meth:`TileConfig.check_inputs` first.
_FAST_INPUTS = frozenset(np.dtype(d) for d in (np.int8, np.int16, np.int32, np.int64, np.uint8,
                                                np.uint16, np.uint32))


class CrossbarTileModel:
    """A programmed tile: weights and calibration checked once, then applied to many batches.

    The weights are kept split and converted as :func:`sum_plan` says (float32 in one or two
    parts, else float64, else int64), so a call is one BLAS GEMM and one compiled pass
    (:func:`spinemu.sim.golden.kernels.tile_epilogue`) that joins the parts in int64 and applies
    the ADC and the calibration; the inputs are range-checked while they are converted
    (:func:`spinemu.sim.golden.kernels.tile_inputs`).
    """

    def __init__(self, config: TileConfig, g, adc_shift=None, gain=None, offset=None):
        self.config = config
        self.adc_shift, self.gain, self.offset = config.calibration(adc_shift, gain, offset)
        self.g = config.check_weights(g)
        self._dtype, self._parts, self._shift = sum_plan(config)
        self._g = split_weights(self.g, self._parts, self._shift).astype(self._dtype)

    def __call__(self, x) -> np.ndarray:
        config = self.config
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != config.rows or x.dtype not in _FAST_INPUTS:
            x = config.check_inputs(x)
        x = np.ascontiguousarray(x)
        if self._dtype is np.int64:
            inputs = config.check_inputs(x)
        else:
            inputs = np.empty(x.shape, dtype=self._dtype)
            if not kernels.tile_inputs(x, *config.input_range, inputs):
                config.check_inputs(x)  # raises, naming the first input outside
        sums = inputs @ self._g
        out = np.empty((len(x), config.cols), dtype=np.int64)
        kernels.tile_epilogue(sums, config.cols, self._shift, self.adc_shift, config.adc_bits,
                              self.gain, config.gain_frac, self.offset, config.out_bits, out)
        return out
