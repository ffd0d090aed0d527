"""Integer helpers of the numeric contract (DESIGN.md 3), shared by golden model and HDL.

Everything here works on Python ints and on numpy integer arrays alike, so that the golden model
stays vectorised and the HDL can use the same functions on constants (tables, widths, images).
No Amaranth imports: the golden model depends on this module.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "tree_adds_per_level",
    "clog2", "signed_range", "unsigned_range", "code_range", "to_signed", "to_unsigned", "sat",
    "usat", "rshift_round", "round_half_up", "round_half_away",
    "LFSR_BITS", "LFSR_TAPS", "lfsr_step", "lfsr_leap_matrix", "lfsr_sample", "splitmix64",
    "derive_seeds", "tanh_table",
]


def clog2(n: int) -> int:
    """``ceil(log2(n))`` for ``n >= 1`` (0 for ``n == 1``)."""
    if n < 1:
        raise ValueError(f"clog2 needs n >= 1, not {n}")
    return (n - 1).bit_length()


def tree_adds_per_level(leaves: int) -> list[int]:
    """Adders at each level of a binary adder tree over ``leaves`` inputs (an odd one passes a
    level unadded): ``leaves - 1`` in all, over ``clog2(leaves)`` levels."""
    adds, width = [], leaves
    while width > 1:
        adds.append(width // 2)
        width = -(-width // 2)
    return adds


def signed_range(bits: int) -> tuple[int, int]:
    """Inclusive range ``(-2**(bits-1), 2**(bits-1) - 1)`` of a signed ``bits``-bit value."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def unsigned_range(bits: int) -> tuple[int, int]:
    """Inclusive range ``(0, 2**bits - 1)`` of an unsigned ``bits``-bit value."""
    return 0, (1 << bits) - 1


def code_range(bits: int, signed: bool) -> tuple[int, int]:
    """Inclusive range of a ``bits``-bit code: :func:`signed_range` or :func:`unsigned_range`."""
    return signed_range(bits) if signed else unsigned_range(bits)


# --- Two's complement ---------------------------------------------------------------------------

def to_unsigned(v, bits: int):
    """The low ``bits`` bits of ``v`` as an unsigned value: a signed code as the two's-complement
    word that holds it (``v mod 2**bits``); higher bits are dropped, not checked.

    An array keeps its dtype, so ``bits`` must leave the mask ``2**bits - 1`` inside it (up to 32
    for uint32, 63 for int64).
    """
    return v & ((1 << bits) - 1)


def to_signed(v, bits: int):
    """The low ``bits`` bits of ``v`` read as a signed two's-complement value (``bits >= 1``):
    the inverse of :func:`to_unsigned` on the signed ``bits``-bit range. An int for an int or a
    numpy integer, int64 for an array (``bits <= 63``)."""
    if isinstance(v, np.ndarray):
        v = v.astype(np.int64)
    elif isinstance(v, np.integer):
        v = int(v)
    half = 1 << (bits - 1)
    return (to_unsigned(v, bits) ^ half) - half


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


def round_half_up(v) -> np.ndarray:
    """``floor(v + 0.5)`` as float64: the nearest integer, halves up (towards +inf), as
    :func:`rshift_round` rounds; the mapper rounds floats to codes with it."""
    return np.floor(np.asarray(v, dtype=np.float64) + 0.5)


def round_half_away(v):
    """The nearest integer, halves away from zero: an int for a number, int64 for an array."""
    if isinstance(v, np.ndarray):
        return np.copysign(np.floor(np.abs(v) + 0.5), v).astype(np.int64)
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


# --- LFSR (DESIGN.md 3.3) --------------------------------------------------------------------

LFSR_BITS = 32
#: Galois taps of x^32 + x^22 + x^2 + x + 1 for a right-shifting register.
LFSR_TAPS = 0x80200003


def lfsr_step(state):
    """One step of the 32-bit Galois LFSR: ``(s >> 1) ^ (TAPS if s & 1 else 0)``.

    Works on a Python int or on a uint32/uint64/int64 numpy array of states.
    """
    if isinstance(state, np.ndarray):
        return (state >> 1) ^ np.where(state & 1, state.dtype.type(LFSR_TAPS), state.dtype.type(0))
    return (state >> 1) ^ (LFSR_TAPS if state & 1 else 0)


def lfsr_leap_matrix(steps: int) -> np.ndarray:
    """The GF(2) matrix ``M`` [32, 32] (uint8) with ``step^steps(s) = M @ s (mod 2)``.

    Row ``i`` lists which bits of the old state XOR into bit ``i`` of the new one: the
    leap-forward the hardware does in one clock.
    """
    columns = []
    for bit in range(LFSR_BITS):
        state = 1 << bit
        for _ in range(steps):
            state = lfsr_step(state)
        columns.append([(state >> i) & 1 for i in range(LFSR_BITS)])
    return np.array(columns, dtype=np.uint8).T


def lfsr_sample(state, bits: int):
    """Advance ``state`` by ``bits`` steps; return ``(new_state, sample)`` where the sample is the
    low ``bits`` bits of the new state read as a signed two's-complement value."""
    for _ in range(bits):
        state = lfsr_step(state)
    return state, to_signed(state, bits)


def splitmix64(value: int) -> int:
    """The splitmix64 output function of ``value`` (mod 2**64)."""
    mask = (1 << 64) - 1
    z = (value + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def derive_seeds(master: int, count: int) -> np.ndarray:
    """LFSR seeds of units ``0..count-1``: ``splitmix64(master + k) & 0xFFFFFFFF``, 0 -> 1."""
    seeds = [splitmix64((master + k) & ((1 << 64) - 1)) & 0xFFFFFFFF for k in range(count)]
    return np.array([s or 1 for s in seeds], dtype=np.uint32)


# --- p-bit activation table (DESIGN.md 3.4) ---------------------------------------------------

def tanh_table(lut_bits: int, lut_frac: int, rng_bits: int) -> np.ndarray:
    """``T[a]`` for the signed ``lut_bits`` argument ``a``, indexed by ``a mod 2**lut_bits``.

    ``T[a] = round_half_away(tanh(a / 2**lut_frac) * (2**(rng_bits-1) - 1))`` with math.tanh:
    the one table both the golden model and the RTL use.
    """
    lo, hi = signed_range(lut_bits)
    scale = signed_range(rng_bits)[1]
    table = np.zeros(1 << lut_bits, dtype=np.int64)
    for a in range(lo, hi + 1):
        table[to_unsigned(a, lut_bits)] = round_half_away(math.tanh(a / (1 << lut_frac)) * scale)
    return table
