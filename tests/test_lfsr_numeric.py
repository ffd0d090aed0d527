"""The LFSR of DESIGN 3.3 in spinemu.numeric: step, leap matrices, samples and its period.

A period of 2**32 - 1 cannot be stepped through in a test. It follows from algebra instead: the
register is the linear map ``M`` over GF(2)^32, its period is the multiplicative order of
``M``, and that order is ``2**32 - 1`` exactly when ``M**(2**32 - 1) = 1`` and
``M**((2**32 - 1) / p) != 1`` for every prime ``p`` of ``2**32 - 1 = 3 * 5 * 17 * 257 * 65537``.
Both are checked on ``M`` itself (32x32 matrices, repeated squaring) and, as the design states
it, on the polynomial: ``x`` has that order modulo ``x^32 + x^22 + x^2 + x + 1`` (the
polynomial is primitive). The right-shifting Galois form realises the reciprocal polynomial
``x^32 + x^31 + x^30 + x^10 + 1`` (it annihilates ``M``), which is primitive with it.
"""

from __future__ import annotations

import numpy as np
import pytest

from spinemu.numeric import LFSR_TAPS, derive_seeds, lfsr_leap_matrix, lfsr_sample, lfsr_step

PERIOD = 2**32 - 1
PRIMES = (3, 5, 17, 257, 65537)
POLYNOMIAL = (1 << 32) | (1 << 22) | (1 << 2) | (1 << 1) | 1   # bit i: coefficient of x^i
RECIPROCAL = (1 << 32) | (1 << 31) | (1 << 30) | (1 << 10) | 1


def definition(state: int) -> int:
    return (state >> 1) ^ (0x80200003 if state & 1 else 0)


def random_states(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 2**32, size=count, dtype=np.uint64)


def test_taps_are_the_design_polynomial():
    # Galois taps of a right shift: bit i stands for x^(i+1), the x^0 term is implied.
    assert LFSR_TAPS == 0x80200003
    assert sum(1 << (i + 1) for i in range(32) if LFSR_TAPS >> i & 1) | 1 == POLYNOMIAL


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64, np.int64])
def test_step_follows_the_definition(dtype):
    states = random_states(1000)
    expected = np.array([definition(int(s)) for s in states])
    assert (lfsr_step(states.astype(dtype)) == expected).all()
    assert all(lfsr_step(int(s)) == int(e)
               for s, e in zip(states[:50], expected[:50], strict=True))
    # An odd state shifts and takes the taps: 0x80200003 >> 1 = 0x40100001, ^ taps.
    assert lfsr_step(1) == 0x80200003 and lfsr_step(0x80200003) == 0xC0300002
    assert lfsr_step(2) == 1


def test_step_never_reaches_zero():
    states = random_states(10_000, seed=1)
    for _ in range(64):
        states = lfsr_step(states)
        assert (states != 0).all()


def bits(states: np.ndarray) -> np.ndarray:
    return ((states[:, None] >> np.arange(32, dtype=np.uint64)) & 1).astype(np.int64)


@pytest.mark.parametrize("steps", [1, 2, 7, 14, 31, 32, 33, 100])
def test_leap_matrix_equals_repeated_steps(steps):
    states = random_states(200, seed=steps)
    stepped = states.copy()
    for _ in range(steps):
        stepped = lfsr_step(stepped)
    matrix = lfsr_leap_matrix(steps).astype(np.int64)
    assert matrix.shape == (32, 32)
    assert ((bits(states) @ matrix.T) % 2 == bits(stepped)).all()


@pytest.mark.parametrize("width", [2, 3, 8, 12, 14, 16, 17, 31, 32])
def test_sample_leaps_then_reads_the_low_bits_signed(width):
    states = random_states(300, seed=width)
    new, sample = lfsr_sample(states.copy(), width)
    for state, got_state, got in zip(states.tolist(), new.tolist(), sample.tolist(),
                                     strict=True):
        for _ in range(width):
            state = definition(state)
        low = state & ((1 << width) - 1)
        assert got_state == state
        assert got == (low - (1 << width) if low >> (width - 1) else low)
    assert sample.min() >= -(1 << (width - 1)) and sample.max() < 1 << (width - 1)


def test_seeds_are_splitmix_and_never_zero():
    seeds = derive_seeds(12345, 1000)
    assert seeds.dtype == np.uint32 and (seeds != 0).all() and len(set(seeds.tolist())) == 1000


# --- The period ---------------------------------------------------------------------------------

def test_factors_of_the_period():
    product = 1
    for p in PRIMES:
        assert all(p % d for d in range(2, int(p**0.5) + 1))  # prime
        product *= p
    assert product == PERIOD


def polynomial_mulmod(a: int, b: int, modulus: int) -> int:
    """``a * b mod modulus`` in GF(2)[x], polynomials as ints (bit i: coefficient of x^i)."""
    degree = modulus.bit_length() - 1
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a >> degree & 1:
            a ^= modulus
    return product


def polynomial_powmod(base: int, exponent: int, modulus: int) -> int:
    result = 1
    while exponent:
        if exponent & 1:
            result = polynomial_mulmod(result, base, modulus)
        base = polynomial_mulmod(base, base, modulus)
        exponent >>= 1
    return result


@pytest.mark.parametrize("modulus", [POLYNOMIAL, RECIPROCAL])
def test_polynomial_is_primitive(modulus):
    x = 0b10
    assert polynomial_powmod(x, PERIOD, modulus) == 1
    for p in PRIMES:
        assert polynomial_powmod(x, PERIOD // p, modulus) != 1, p


def test_powmod_on_a_small_known_case():
    # x^4 + x + 1 is primitive (order 15); x^4 + x^3 + x^2 + x + 1 is not (x^5 = 1).
    assert polynomial_powmod(2, 15, 0b10011) == 1 and polynomial_powmod(2, 5, 0b10011) != 1
    assert polynomial_powmod(2, 5, 0b11111) == 1


def matrix_power(matrix: np.ndarray, exponent: int) -> np.ndarray:
    result = np.eye(len(matrix), dtype=np.int64)
    while exponent:
        if exponent & 1:
            result = (result @ matrix) % 2
        matrix = (matrix @ matrix) % 2
        exponent >>= 1
    return result


def test_register_realises_the_reciprocal_polynomial():
    power = [lfsr_leap_matrix(k).astype(np.int64) for k in (32, 31, 30, 10)]
    assert not ((sum(power) + np.eye(32, dtype=np.int64)) % 2).any()


def test_register_period_is_maximal():
    step = lfsr_leap_matrix(1).astype(np.int64)
    identity = np.eye(32, dtype=np.int64)
    assert (matrix_power(step, PERIOD) == identity).all()
    for p in PRIMES:
        assert (matrix_power(step, PERIOD // p) != identity).any(), p
