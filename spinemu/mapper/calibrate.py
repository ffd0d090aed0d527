"""Column registers of a programmed layer from a calibration batch: ADC shifts and gain/offset.

For one layer the calibration batch (input codes ``x[N, In]``) is pushed through the array the
calibration sees (the programmed one; without compensation the mapper passes the one it asked
for), row-tile by row-tile. With ``acc[p]`` the column sums of row-tile ``p`` (golden
:func:`~spinemu.sim.golden.tile.column_sums`):

1. **Adaptive quantization.** ``adc_shift[p, o]`` is the smallest shift for which the ADC
   (:func:`~spinemu.sim.golden.tile.adc`) does not saturate on the batch's extreme sums of that
   tile column.
2. **Alignment.** The adder tree adds the ``z`` of the row-tiles unshifted, so they must share
   one scale: ``z[p, o] ~ acc_ideal[p, o] / 2**T[o]`` with ``T[o] = max_p adc_shift[p, o]``.
   The nominal gain ``2**(gain_frac - (T[o] - adc_shift[p, o]))`` does it (a tile column more
   than ``gain_frac`` finer than the coarsest is coarsened to that).
3. **Compensation** (optional). ``gain[p, o]`` and ``offset[p, o]`` are fitted by least
   squares so that ``z`` of the programmed array matches ``acc_ideal / 2**T`` on the batch,
   where ``acc_ideal`` are the column sums of the cells as asked for (``w * 2**f``, no device
   error). Without it the gains are nominal and the offsets 0. Registers that would leave their
   range are clamped, and counted.

Padding columns of the grid keep the tile's default calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinemu.config import LayerConfig
from spinemu.numeric import round_half_up, rshift_round, signed_range, unsigned_range
from spinemu.sim.golden.tile import adc, calibrate, column_sums

__all__ = ["ColumnCalibration", "adc_shifts", "calibrate_layer"]


@dataclass(frozen=True)
class ColumnCalibration:
    """The column registers of one layer and what was learnt choosing them.

    Attributes
    ----------
    adc_shift, gain, offset : int64 [row_tiles, col_tiles, tile.cols]
        Registers as :class:`~spinemu.sim.golden.network.LayerImages` holds them.
    scale_shift : int64 [Out]
        ``T[o]``: every row-tile's ``z[o]`` stands for its ideal column sum over ``2**T[o]``.
    clamped : int
        Fitted gains and offsets clamped to their register range.
    """

    adc_shift: np.ndarray
    gain: np.ndarray
    offset: np.ndarray
    scale_shift: np.ndarray
    clamped: int


def adc_shifts(lo: np.ndarray, hi: np.ndarray, adc_bits: int, max_shift: int) -> np.ndarray:
    """Smallest shift ``s`` in ``0..max_shift`` with ``rshift_round(v, s)`` inside the signed
    ``adc_bits`` range for ``v`` in ``lo..hi`` (elementwise over equal-shaped int arrays)."""
    a_lo, a_hi = signed_range(adc_bits)
    shifts = np.arange(max_shift + 1).reshape((-1,) + (1,) * np.ndim(lo))
    fits = ((rshift_round(np.broadcast_to(hi, shifts.shape[:1] + np.shape(hi)), shifts) <= a_hi)
            & (rshift_round(np.broadcast_to(lo, shifts.shape[:1] + np.shape(lo)), shifts)
               >= a_lo))
    # A shift of max_shift always fits: |acc| < 2**(acc_bits-1) and adc_bits >= 1.
    return fits.argmax(axis=0).astype(np.int64)


def _slopes(q: np.ndarray, target: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """Least-squares slopes ``a`` of ``target ~ a * q + b`` over axis 1 of ``[P, N, Out]``;
    ``nominal [P, Out]`` where ``q`` is constant on the batch."""
    dq = q - q.mean(axis=1, keepdims=True)
    variance = (dq * dq).sum(axis=1)
    covariance = (dq * (target - target.mean(axis=1, keepdims=True))).sum(axis=1)
    return np.where(variance > 0, covariance / np.where(variance > 0, variance, 1), nominal)


def calibrate_layer(layer: LayerConfig, g: np.ndarray, g_ideal: np.ndarray, x: np.ndarray,
                    compensation: bool) -> ColumnCalibration:
    """Registers for the cells ``g[In, Out]`` the calibration sees, the cells asked for
    ``g_ideal[In, Out]`` (signed ``tile.cell_bits``) and calibration input codes ``x[N, In]``
    (``tile.input_bits``)."""
    t = layer.tile
    out = layer.out_features
    rows = [slice(p * t.rows, min((p + 1) * t.rows, layer.in_features))
            for p in range(layer.row_tiles)]
    # float64 matmuls of these integers are exact (DESIGN 3.1 widths stay below 2**53).
    acc = np.stack([column_sums(x[:, r], g[r], np.float64) for r in rows])  # [P, N, Out]
    shift = adc_shifts(acc.min(axis=1), acc.max(axis=1), t.adc_bits, t.max_adc_shift)
    scale_shift = shift.max(axis=0)
    shift = np.maximum(shift, scale_shift - t.gain_frac)
    nominal = np.left_shift(1, t.gain_frac - (scale_shift - shift))  # [P, Out]
    q = adc(acc, shift[:, None, :], t.adc_bits)
    gain, offset, clamped = nominal, np.zeros_like(nominal), 0
    if compensation:
        ideal = np.stack([column_sums(x[:, r], g_ideal[r], np.float64) for r in rows])
        target = ideal / np.exp2(scale_shift)
        slope = _slopes(q.astype(np.float64), target, nominal / float(1 << t.gain_frac))
        gain_lo, gain_hi = unsigned_range(t.gain_bits)
        wanted = round_half_up(slope * (1 << t.gain_frac))
        gain = np.clip(wanted, gain_lo, gain_hi).astype(np.int64)
        # The offset absorbs the mean residual of the gain as rounded, and of the rounding in
        # the calibration multiply (golden calibrate with offset 0).
        z0 = calibrate(q, gain[:, None, :], 0, t)
        wanted_offset = round_half_up((target - z0).mean(axis=1))
        offset_lo, offset_hi = signed_range(t.offset_bits)
        offset = np.clip(wanted_offset, offset_lo, offset_hi).astype(np.int64)
        clamped = int((gain != wanted).sum() + (offset != wanted_offset).sum())
    grid = (layer.row_tiles, layer.col_tiles * t.cols)
    defaults = t.default_calibration()
    registers = []
    for value, default in zip((shift, gain, offset), defaults, strict=True):
        full = np.broadcast_to(default[0], grid).copy()
        full[:, :out] = value
        registers.append(full.reshape(layer.row_tiles, layer.col_tiles, t.cols))
    return ColumnCalibration(*registers, scale_shift=scale_shift.astype(np.int64),
                             clamped=clamped)
