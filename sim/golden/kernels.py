"""Compiled loops (numba) of the golden engines: the p-bit chains and the tile's epilogue.

The readable definitions are :mod:`spinemu.sim.golden.spec` (literal, Python ints); the engines
(:class:`~spinemu.sim.golden.pbit.PBitModel`,
:class:`~spinemu.sim.golden.tile.CrossbarTileModel`) prepare tables with numpy and hand the
loops to these kernels. ``tests/test_pbit_golden.py`` and ``tests/test_golden.py`` compare the
engines with the spec bit for bit on random formats, images and inputs.

Every kernel is integer arithmetic except where a float array is read: the tile's float32 or
float64 column sums hold whole numbers that are exact (see :mod:`spinemu.sim.golden.tile`), so
converting them to int64 loses nothing. Kernels are compiled on first use and cached on disk
(``cache=True``). numba itself is imported at a kernel's first call: importing it and loading a
cached kernel's typing take about 4 s, which a process that runs no kernel (a cocotb testbench,
the command line's help) does not pay.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

__all__ = ["pbit_sweeps", "pbit_fields", "tile_inputs", "tile_epilogue"]

_JIT = {"cache": True, "nogil": True}
_COMPILING = threading.Lock()


def _jit(function):
    """``function`` as a numba ``njit`` kernel (``_JIT``), made on its first call."""
    kernel = None

    @functools.wraps(function)
    def call(*args):
        nonlocal kernel
        if kernel is None:
            with _COMPILING:
                if kernel is None:
                    import numba

                    kernel = numba.njit(**_JIT)(function)
        return kernel(*args)

    return call


# --- p-bit core (DESIGN.md 3.3, 3.4) ---------------------------------------------------------

@_jit
def pbit_fields(s, indptr, neighbours, couplings, h, fields):
    """``fields[r, i] = sum_j J[i, j] m[r, j] + h[i]`` (``m = 2 s - 1``) from a CSR table
    (``indptr``, ``neighbours``, ``couplings``); returns the energies
    ``E[r] = -(1/2) sum_i m[r, i] (I[r, i] + h[i])`` as int64."""
    replicas, n = s.shape
    energy = np.empty(replicas, dtype=np.int64)
    for r in range(replicas):
        twice = 0
        for i in range(n):
            total = np.int64(h[i])
            for q in range(indptr[i], indptr[i + 1]):
                total += np.int64(couplings[q]) * (2 * np.int64(s[r, neighbours[q]]) - 1)
            fields[r, i] = total
            twice += (2 * np.int64(s[r, i]) - 1) * (total + h[i])
        energy[r] = -(twice // 2)
    return energy


@_jit
def pbit_sweeps(sweeps, theta, by_argument, rng_bits, leap_shifts, leap_tables, indptr,
                neighbours, changes, s, fields, lfsr, energy, best_energy, best_state,
                energies, first_sweep, record, trajectory):
    """Run every replica through ``sweeps`` sweeps at one beta code, in place.

    p-bits are in storage order: colour by colour, so that one pass over them is a sweep. There
    is no edge inside a colour, so the fields of a colour's p-bits do not change during its
    phase and updating them one after the other equals updating them at once.

    One update of p-bit ``p``: its LFSR leaps ``rng_bits`` steps (``x = (x >> k) ^ G_k[x & (2**k
    - 1)]`` for each ``(k, G_k)`` of ``leap_shifts``, ``leap_tables``); the raw low bits ``u``
    pick the field threshold, ``theta[u]`` (``by_argument`` empty), or ``theta[c]`` with ``c``
    the number of table entries ``<= r`` (``r`` the signed reading of ``u``, found by binary
    search in ``by_argument``); ``s = 1`` iff ``I >= theta``. A flip moves the energy by
    ``-(m_new - m_old) I`` and every neighbour's field by ``(m_new - m_old) J = +-changes``
    (``changes = 2 J``).

    After each sweep ``t``: ``energies[first_sweep + t, r]``, the best energy and state (a strict
    improvement only: a tie keeps the earlier state) and, every ``record``-th sweep counted from
    the start of the run, ``trajectory[k, r]``.
    """
    replicas, n = s.shape
    rng_mask = (np.int64(1) << rng_bits) - 1
    half = np.int64(1) << (rng_bits - 1)
    counted = by_argument.size > 0
    parts = leap_shifts.size
    for r in range(replicas):
        states, field, registers = s[r], fields[r], lfsr[r]
        e = energy[r]
        best = best_energy[r]
        for t in range(sweeps):
            for p in range(n):
                x = registers[p]
                for k in range(parts):
                    shift = leap_shifts[k]
                    x = (x >> shift) ^ np.int64(leap_tables[k, x & ((np.int64(1) << shift) - 1)])
                registers[p] = x
                u = x & rng_mask
                if counted:
                    v = (u ^ half) - half
                    lo, hi = 0, by_argument.size
                    while lo < hi:
                        mid = (lo + hi) >> 1
                        if by_argument[mid] <= v:
                            lo = mid + 1
                        else:
                            hi = mid
                    threshold = theta[lo]
                else:
                    threshold = theta[u]
                f = field[p]
                new = 1 if f >= threshold else 0
                if new != states[p]:
                    states[p] = new
                    if new:
                        e -= 2 * np.int64(f)
                        for q in range(indptr[p], indptr[p + 1]):
                            field[neighbours[q]] += changes[q]
                    else:
                        e += 2 * np.int64(f)
                        for q in range(indptr[p], indptr[p + 1]):
                            field[neighbours[q]] -= changes[q]
            sweep = first_sweep + t
            energies[sweep, r] = e
            if e < best:
                best = e
                best_state[r, :] = states
            if record and (sweep + 1) % record == 0:
                trajectory[(sweep + 1) // record - 1, r, :] = states
        energy[r] = e
        best_energy[r] = best


# --- Crossbar tile (DESIGN.md 3.1) -----------------------------------------------------------

@_jit
def tile_inputs(x, lo, hi, out):
    """``out = x`` (cast to ``out``'s type); returns whether every ``x`` is in ``lo..hi`` (one
    pass without an early exit, so that the loop vectorises)."""
    flat, target = x.reshape(-1), out.reshape(-1)
    outside = False
    for k in range(flat.size):
        v = flat[k]
        outside |= (v < lo) | (v > hi)
        target[k] = v
    return not outside


@_jit
def tile_epilogue(sums, cols, part_shift, adc_shift, adc_bits, gain, gain_frac, offset,
                  out_bits, out):
    """``out[b, c] = sat(rshift_round(sat(rshift_round(acc, adc_shift[c]), adc_bits) * gain[c],
    gain_frac) + offset[c], out_bits)`` with ``acc = sums[b, c]`` (one weight part) or ``acc =
    sums[b, c] + (sums[b, cols + c] << part_shift)`` (two parts, ``g = g_0 + g_1 2**part_shift``).
    ``sums`` holds whole numbers (float or int)."""
    batch = sums.shape[0]
    two = sums.shape[1] == 2 * cols
    adc_lo, adc_hi = -(np.int64(1) << (adc_bits - 1)), (np.int64(1) << (adc_bits - 1)) - 1
    out_lo, out_hi = -(np.int64(1) << (out_bits - 1)), (np.int64(1) << (out_bits - 1)) - 1
    gain_half = (np.int64(1) << gain_frac) >> 1
    adc_half = np.empty(cols, dtype=np.int64)  # rshift_round's 2**(s-1), 0 for s = 0
    for c in range(cols):
        adc_half[c] = (np.int64(1) << adc_shift[c]) >> 1
    for b in range(batch):
        row, target = sums[b], out[b]
        for c in range(cols):
            acc = np.int64(row[c])
            if two:
                acc += np.int64(row[cols + c]) << part_shift
            acc = (acc + adc_half[c]) >> adc_shift[c]
            q = min(max(acc, adc_lo), adc_hi)
            z = ((q * gain[c] + gain_half) >> gain_frac) + offset[c]
            target[c] = min(max(z, out_lo), out_hi)
