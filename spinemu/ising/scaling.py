"""The integers the p-bit core holds: one scale for a problem's couplings and biases.

Betas are in the units of the problem as given; the integer problem the hardware holds is
``scale`` times it, so its beta is ``beta / scale`` (:func:`spinemu.ising.schedule.beta_code`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinemu.config import PBitConfig
from spinemu.numeric import round_half_away, signed_range

from .problem import IsingProblem

__all__ = ["DEFAULT_CONFIG", "Quantized", "quantize"]

#: Number formats for annealing and sampling: beta = B / 2**13 up to 8 in steps of 1/8192;
#: 8-bit couplings hold the +-1 weights of G-set graphs exactly.
DEFAULT_CONFIG = PBitConfig(coupling_bits=8, bias_bits=12, beta_bits=16, beta_frac=7,
                            lut_bits=10, lut_frac=6, rng_bits=14)


@dataclass(frozen=True)
class Quantized:
    """Integer couplings and biases of a problem: ``J ~ scale * problem.J``.

    Attributes
    ----------
    J : int64 [E]
    h : int64 [n]
    scale : float
        Integer units per problem unit (1 when the problem already fits, unchanged).
    max_rel_error : float
        ``max |q / scale - x| / |x|`` over every non-zero coupling and bias ``x``.
    zeroed : int
        Non-zero couplings and biases that became 0.
    """

    J: np.ndarray
    h: np.ndarray
    scale: float
    max_rel_error: float
    zeroed: int


def quantize(problem: IsingProblem, config: PBitConfig) -> Quantized:
    """Scale ``J`` and ``h`` by one factor onto signed ``coupling_bits`` / ``bias_bits``.

    Integer problems that fit are kept as they are (``scale = 1``, no error). Otherwise
    ``scale`` is the largest factor that keeps every coupling and bias inside its range, and
    values are rounded half away from zero (:func:`spinemu.numeric.round_half_away`).
    """
    j_top = signed_range(config.coupling_bits)[1]
    h_top = signed_range(config.bias_bits)[1]
    J, h = problem.J, problem.h
    fits = (np.all(J == np.round(J)) and np.all(h == np.round(h))
            and np.abs(J).max(initial=0) <= j_top and np.abs(h).max(initial=0) <= h_top)
    if fits:
        return Quantized(J.astype(np.int64), h.astype(np.int64), 1.0, 0.0, 0)
    limits = [top / big for top, big in ((j_top, np.abs(J).max(initial=0)),
                                          (h_top, np.abs(h).max(initial=0))) if big > 0]
    scale = min(limits)
    qJ, qh = round_half_away(J * scale), round_half_away(h * scale)
    values = np.concatenate([J, h])
    codes = np.concatenate([qJ, qh])
    nonzero = values != 0
    error = np.abs(codes[nonzero] / scale - values[nonzero]) / np.abs(values[nonzero])
    return Quantized(qJ, qh, float(scale), float(error.max(initial=0.0)),
                     int(np.sum(nonzero & (codes == 0))))
