"""Integer helpers of the numeric contract (DESIGN.md section 3), shared by golden model and HDL.

Everything here works on Python ints and on numpy integer arrays alike, so that the golden model
stays vectorised and the HDL can use the same functions on constants (tables, widths, images).
No Amaranth imports: the golden model depends on this module.
"""

from __future__ import annotations

import numpy as np

__all__ = ["clog2", "signed_range", "unsigned_range", "sat", "usat", "rshift_round"]


def clog2(n: int) -> int:
    """``ceil(log2(n))`` for ``n >= 1`` (0 for ``n == 1``)."""
    if n < 1:
        raise ValueError(f"clog2 needs n >= 1, not {n}")
    return (n - 1).bit_length()


def signed_range(bits: int) -> tuple[int, int]:
    """Inclusive range ``(-2**(bits-1), 2**(bits-1) - 1)`` of a signed ``bits``-bit value."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def unsigned_range(bits: int) -> tuple[int, int]:
    """Inclusive range ``(0, 2**bits - 1)`` of an unsigned ``bits``-bit value."""
    return 0, (1 << bits) - 1


def sat(v, bits: int, out=None):
    """Clamp ``v`` to the signed ``bits``-bit range (into ``out`` for arrays, if given)."""
    lo, hi = signed_range(bits)
    return np.clip(v, lo, hi, out=out) if isinstance(v, np.ndarray) else min(max(v, lo), hi)


def usat(v, bits: int):
    """Clamp ``v`` to the unsigned ``bits``-bit range."""
    lo, hi = unsigned_range(bits)
    return np.clip(v, lo, hi) if isinstance(v, np.ndarray) else min(max(v, lo), hi)


def rshift_round(v, s, out=None):
    """``floor((v + 2**(s-1)) / 2**s)`` for ``s > 0``, ``v`` for ``s == 0`` (round half up).

    ``s`` may be an int or an integer array broadcastable against ``v``. In hardware this is "add
    the half, then shift arithmetically right". For arrays the result goes into ``out`` if given
    (an int64 array of the result's shape; it may be ``v`` itself).
    """
    if isinstance(v, np.ndarray) or isinstance(s, np.ndarray):
        v = np.asarray(v, dtype=np.int64)
        s = np.asarray(s, dtype=np.int64)
        half = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s - 1, 0)), 0)
        out = np.add(v, half, out=out)
        return np.right_shift(out, s, out=out)
    return (v + (1 << (s - 1))) >> s if s > 0 else v
