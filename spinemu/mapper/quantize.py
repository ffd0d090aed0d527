"""Float to integer codes: weights per output channel, activations per tensor, requantization.

Rounding of float values is half up (:func:`spinemu.numeric.round_half_up`, ``floor(v + 0.5)``),
like the hardware's ``rshift_round``.

- Weights: per output channel ``o``, ``w_code = clip(round(W[:, o] / s_w[o]), -L, L)`` with
  ``L = 2**(weight_bits - 1) - 1`` (symmetric, so ``weight_bits = 2`` is ternary). The scale
  clips at the fraction of ``max|W[:, o]|`` that minimises the channel's squared error.
- Activations (the first layer's float inputs, every layer's outputs): one scale per tensor,
  ``code = clip(round(a / s), lo, hi)`` over the unsigned or signed ``bits``-bit range, the
  clipping level chosen the same way on a calibration batch.
- Requantization: a float ratio ``r`` as ``mult / 2**shift``, ``mult`` unsigned ``mult_bits``.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import ConfigError
from spinemu.numeric import code_range, round_half_up, signed_range, unsigned_range

__all__ = ["weight_codes", "activation_scale", "quantize", "ratio_to_mult_shift",
           "CLIP_FRACTIONS"]

#: Clipping levels tried, as fractions of the largest magnitude.
CLIP_FRACTIONS = np.linspace(0.3, 1.0, 36)
#: Worst relative error of ``mult / 2**shift`` against its ratio that a plan accepts.
MAX_RATIO_ERROR = 1 / 64


def weight_codes(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column codes of ``weight[In, Out]``.

    Returns
    -------
    codes : int64 [In, Out]
        In ``-L..L``, ``L = 2**(bits-1) - 1``.
    scale : float64 [Out]
        ``weight[:, o] ~ codes[:, o] * scale[o]``; 1 for an all-zero column.
    """
    level = signed_range(bits)[1]
    peak = np.abs(weight).max(axis=0)
    peak = np.where(peak > 0, peak, level)
    best_error = np.full(weight.shape[1], np.inf)
    best_scale = peak / level
    for fraction in CLIP_FRACTIONS:
        scale = fraction * peak / level
        codes = np.clip(round_half_up(weight / scale), -level, level)
        error = ((codes * scale - weight) ** 2).sum(axis=0)
        better = error < best_error
        best_error[better], best_scale[better] = error[better], scale[better]
    codes = np.clip(round_half_up(weight / best_scale), -level, level).astype(np.int64)
    return codes, best_scale


def quantize(values, scale: float, bits: int, signed: bool) -> np.ndarray:
    """Codes ``clip(round(values / scale))`` in the ``bits``-bit range, int64."""
    lo, hi = code_range(bits, signed)
    return np.clip(round_half_up(np.asarray(values) / scale), lo, hi).astype(np.int64)


def activation_scale(values: np.ndarray, bits: int, signed: bool,
                     fractions=CLIP_FRACTIONS) -> float:
    """The per-tensor scale of ``bits``-bit codes with the least squared error on ``values``.

    The clipping level is tried at ``fractions`` of ``max|values|``; pass ``(1.0,)`` to keep
    the whole range (no clipping). An all-zero tensor gets scale 1.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    peak = float(np.abs(values).max()) if values.size else 0.0
    if peak == 0.0:
        return 1.0
    top = code_range(bits, signed)[1]
    if top == 0:
        raise ConfigError(f"{bits}-bit signed codes hold no positive value; allowed >= 2 bits "
                          f"for signed codes")
    errors = [float(((quantize(values, f * peak / top, bits, signed) * (f * peak / top)
                      - values) ** 2).sum()) for f in fractions]
    return float(fractions[int(np.argmin(errors))] * peak / top)


def ratio_to_mult_shift(ratio: np.ndarray, mult_bits: int, max_shift: int,
                        where: str) -> tuple[np.ndarray, np.ndarray]:
    """``mult[o] / 2**shift[o] ~ ratio[o]`` with the largest ``shift <= max_shift`` that keeps
    ``mult`` in ``mult_bits`` unsigned bits.

    Raises :class:`ConfigError` (naming ``where`` and the output) when a ratio cannot be held
    within :data:`MAX_RATIO_ERROR`: too large for ``mult_bits`` at shift 0, or too fine for
    ``mult_bits`` and ``max_shift``.
    """
    top = unsigned_range(mult_bits)[1]
    ratio = np.asarray(ratio, dtype=np.float64)
    with np.errstate(divide="ignore"):
        shift = np.floor(np.log2(top / np.maximum(ratio, 1e-300))).astype(np.int64)
    shift = np.clip(shift, 0, max_shift)
    mult = round_half_up(ratio * np.exp2(shift))
    # log2 is inexact at a power of two: step back where rounding pushed mult past the top.
    over = mult > top
    shift = np.where(over & (shift > 0), shift - 1, shift)
    mult = np.minimum(round_half_up(ratio * np.exp2(shift)), top)
    error = np.abs(mult / np.exp2(shift) - ratio) / np.maximum(ratio, 1e-300)
    bad = np.flatnonzero(error > MAX_RATIO_ERROR)
    if bad.size:
        o = int(bad[0])
        if ratio[o] > top:
            reason = f"too large for mult_bits = {mult_bits} (at most {top} at shift 0)"
        else:
            reason = (f"held as {int(mult[o])} / 2**{int(shift[o])} with mult_bits = {mult_bits} "
                      f"and shift 0..{max_shift}")
        raise ConfigError(
            f"{where}: output {o} needs a requantization ratio {ratio[o]:.4g}, {reason}: error "
            f"{error[o]:.1%}, allowed {MAX_RATIO_ERROR:.1%} ({bad.size} output(s) affected)")
    return mult.astype(np.int64), shift
