"""Golden model of the p-bit core (DESIGN.md 3.3 and 3.4): chromatic Gibbs over replicas.

This module is the specification the RTL is checked against, sweep by sweep. It imports no
Amaranth; the integer helpers come from :mod:`spinemu.numeric`.

The definition
--------------
N p-bits with states ``s[i]`` in {0, 1} (``m = 2 s - 1``), couplings ``J`` stored per edge of a
:class:`~spinemu.config.Topology` (signed ``coupling_bits``), biases ``h[i]`` (signed
``bias_bits``). One update of p-bit ``i`` at inverse-temperature code ``B``:

    I = sum_j J[i, j] m[j] + h[i]                          exact, m from the start of the phase
    a = sat(rshift_round(I * B, beta_frac), lut_bits)
    LFSR of i advances rng_bits steps; r = its low rng_bits bits, signed (numeric.lfsr_sample)
    s[i] = 1  iff  T[a mod 2**lut_bits] > r                T = numeric.tanh_table(...)

A p-bit's LFSR advances only when it updates. A sweep runs colours ``0..K-1`` in order; in a
colour's phase every p-bit of that colour updates at once from the states at the start of the
phase. An anneal is a list of ``(B, sweeps)`` steps. The energy

    E(m) = - sum_{i<j} J[i, j] m[i] m[j] - sum_i h[i] m[i]

changes by ``dE = -(m_new - m_old) * I`` at each flip. The best energy and state of each replica
are compared at the end of every sweep (the initial state is the first best; a tie keeps the
earlier state). Replica ``r`` (of ``R`` independent chains) seeds p-bit ``k``'s LFSR with
``derive_seeds(master + r * N, N)[k]`` (:func:`replica_seeds`).

How the model is fast and still exact
-------------------------------------
- Thresholds instead of activations. ``T`` is non-decreasing in the signed argument ``a``
  (checked when a model is built) and ``a`` is non-decreasing in ``I`` (``B >= 0``), so for a
  drawn ``r`` the rule ``T[a(I)] > r`` is ``I >= theta(r, B)`` for one integer threshold. A
  table of ``theta`` over every raw ``r`` is built once per anneal step (up to ``rng_bits =
  16``; wider samples find their threshold by binary search in ``T``); a p-bit update is one
  comparison of its field with the threshold looked up from its LFSR.
- Leaps by table: ``rng_bits <= 16`` steps of the right-shifting register are
  ``(s >> k) ^ G[s & (2**k - 1)]`` for one table ``G`` (the register is linear over GF(2)).
- Fields are kept for every p-bit and changed only where a p-bit flips, through neighbour lists
  (CSR); p-bits are stored colour by colour, so one pass in storage order is a sweep. There is
  no edge inside a colour: the p-bits of a phase updating one after the other equals all at
  once. The energy moves by the exact flip delta ``-(m_new - m_old) * I``.
- The loop over replicas, sweeps and p-bits is compiled (numba,
  :func:`spinemu.sim.golden.kernels.pbit_sweeps`): a replica's fields, states and LFSRs stay in
  cache while it runs one anneal step.

Everything is integer arithmetic; ``tests/test_pbit_golden.py`` compares trajectories with the
plain-Python definition above, :func:`spinemu.sim.golden.spec.pbit_run`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinemu.config import ConfigError, PBitConfig, Topology, check_image
from spinemu.numeric import (
    LFSR_BITS,
    derive_seeds,
    lfsr_step,
    rshift_round,
    sat,
    signed_range,
    tanh_table,
    to_signed,
    to_unsigned,
    unsigned_range,
)

from . import kernels

__all__ = [
    "PBitModel", "PBitRun", "replica_seeds", "advance_lfsr", "check_couplings", "check_biases",
    "check_schedule", "check_states", "dense_couplings", "fields", "activation", "energy",
]

#: Largest ``rng_bits`` whose thresholds are tabulated over every ``r`` (2**16 entries per
#: anneal step); wider samples look the threshold up by binary search, update by update.
TABLE_RNG_BITS = 16


# --- Images ----------------------------------------------------------------------------------

def _check_codes(name: str, values, shape: tuple[int, ...], bits: int, field: str) -> np.ndarray:
    """``values`` as int64 of ``shape`` with every element a signed ``bits``-bit integer (not a
    bool: a coupling or bias is a number, not a flag); ``field`` names the width."""
    array = np.asarray(values)
    if array.shape == shape and array.size and array.dtype == bool:
        raise ConfigError(f"{name} must hold integers, got dtype bool")
    return check_image(name, array, shape, *signed_range(bits), note=f"{field} = {bits}")


def check_couplings(config: PBitConfig, topology: Topology, J_edges) -> np.ndarray:
    """Couplings ``J_edges[E]`` aligned with ``topology.edges``, signed ``coupling_bits``, int64."""
    return _check_codes("couplings", J_edges, (len(topology.edges),), config.coupling_bits,
                        "coupling_bits")


def check_biases(config: PBitConfig, n: int, h=None) -> np.ndarray:
    """Biases ``h[n]`` (zeros when None), signed ``bias_bits``, int64."""
    return _check_codes("biases", np.zeros(n, np.int64) if h is None else h, (n,),
                        config.bias_bits, "bias_bits")


def check_states(name: str, states, shape: tuple[int, int]) -> np.ndarray:
    """States ``[replicas, n]`` of 0/1 values, as uint8."""
    array = np.asarray(states)
    if array.shape != shape:
        raise ConfigError(f"{name} has shape {array.shape}; expected {shape} (replicas, n)")
    return check_image(name, array, shape, 0, 1).astype(np.uint8)


def check_schedule(config: PBitConfig, schedule) -> tuple[tuple[int, int], ...]:
    """An anneal: ``(B, sweeps)`` steps, ``B`` unsigned ``beta_bits``, ``sweeps >= 0``."""
    steps = tuple(schedule)
    lo, hi = unsigned_range(config.beta_bits)
    checked = []
    for index, step in enumerate(steps):
        if len(step) != 2:
            raise ConfigError(f"schedule step {index} must be a pair (B, sweeps), not {step!r}")
        code, sweeps = step
        for name, value, top in (("B", code, hi), ("sweeps", sweeps, None)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ConfigError(f"schedule step {index}: {name} must be an integer, "
                                  f"not {value!r}")
            if value < lo or (top is not None and value > top):
                allowed = f"{lo}..{top} (beta_bits = {config.beta_bits})" if top else ">= 0"
                raise ConfigError(f"schedule step {index}: {name} = {value} is out of range; "
                                  f"allowed {allowed}")
        checked.append((int(code), int(sweeps)))
    return tuple(checked)


def replica_seeds(master: int, replicas: int, n: int) -> np.ndarray:
    """LFSR seeds ``[replicas, n]`` (uint32): replica ``r`` gets ``derive_seeds(master + r*n, n)``.

    So p-bit ``k`` of replica ``r`` is seeded with ``splitmix64(master + r*n + k) & 0xFFFFFFFF``
    (0 replaced by 1): one run of R replicas equals R runs of one replica with these seeds.
    """
    if replicas < 1:
        raise ConfigError(f"replicas = {replicas} is out of range; allowed >= 1")
    return np.stack([derive_seeds(master + r * n, n) for r in range(replicas)])


# --- The definition, dense (for tests and small problems) --------------------------------------

def dense_couplings(topology: Topology, J_edges) -> np.ndarray:
    """The symmetric ``J[n, n]`` (int64, zero diagonal) of per-edge couplings."""
    J = np.zeros((topology.n, topology.n), dtype=np.int64)
    if topology.edges:
        i, j = np.array(topology.edges).T
        J[i, j] = J[j, i] = J_edges
    return J


def fields(J: np.ndarray, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``I = J m + h`` for states ``s[..., n]`` (0/1) and a dense ``J[n, n]``; int64."""
    m = 2 * np.asarray(s, dtype=np.int64) - 1
    return m @ J + h


def activation(config: PBitConfig, field, code: int):
    """``a = sat(rshift_round(I * B, beta_frac), lut_bits)`` of a field ``I`` at code ``B``."""
    return sat(rshift_round(field * code, config.beta_frac), config.lut_bits)


def energy(J: np.ndarray, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``E = -sum_{i<j} J m_i m_j - sum_i h_i m_i`` for states ``s[..., n]``; int64."""
    m = 2 * np.asarray(s, dtype=np.int64) - 1
    return -(((m @ J) * m).sum(-1) // 2) - m @ h


# --- The fast model ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PBitRun:
    """What an anneal leaves: per replica, final and best states, LFSRs and energies.

    Attributes
    ----------
    states : uint8 [replicas, n]
        States after the last sweep.
    lfsr : uint32 [replicas, n]
        LFSR states after the last sweep (a run continued from ``states`` and ``lfsr`` equals
        one longer run).
    energy : int64 [replicas]
        Energy of ``states``.
    best_energy : int64 [replicas]
        Lowest energy at the end of any sweep, or of the initial state.
    best_state : uint8 [replicas, n]
        The earliest state with ``best_energy``.
    energies : int64 [sweeps, replicas]
        Energy after every sweep.
    trajectory : uint8 [sweeps, replicas, n] or None
        State after every sweep, when the run was recorded.
    """

    states: np.ndarray
    lfsr: np.ndarray
    energy: np.ndarray
    best_energy: np.ndarray
    best_state: np.ndarray
    energies: np.ndarray
    trajectory: np.ndarray | None

    @property
    def sweeps(self) -> int:
        return len(self.energies)

    @property
    def spin_updates(self) -> int:
        """p-bit updates done: ``sweeps * replicas * n``."""
        return self.energies.shape[0] * self.states.size


def _leap_parts(steps: int) -> list[tuple[int, np.ndarray]]:
    """``steps`` LFSR steps as leaps of ``k <= 16`` steps: ``[(k, G_k), ...]`` (uint32 tables).

    The register is linear over GF(2) and shifts right, so after ``k`` steps the high bits of a
    state have only moved down: ``step^k(s) = (s >> k) ^ G_k[s & (2**k - 1)]`` with
    ``G_k[u] = step^k(u)`` for the ``2**k`` values of the low bits (built with
    :func:`spinemu.numeric.lfsr_step`).
    """
    parts = []
    while steps:
        k = min(steps, 16)
        table = np.arange(1 << k, dtype=np.uint32)
        for _ in range(k):
            table = lfsr_step(table)
        parts.append((k, table))
        steps -= k
    return parts


def _leap(states: np.ndarray, parts) -> np.ndarray:
    """uint32 ``states`` advanced by the leaps of :func:`_leap_parts`."""
    for shift, table in parts:
        states = (states >> shift) ^ table.take(to_unsigned(states, shift))
    return states


def advance_lfsr(config: PBitConfig, states, sweeps: int) -> np.ndarray:
    """LFSR states (uint32, any shape) after ``sweeps`` sweeps: ``sweeps * rng_bits`` steps."""
    states = np.asarray(states, dtype=np.uint32)
    parts = _leap_parts(config.rng_bits)
    for _ in range(sweeps):
        states = _leap(states, parts)
    return states


class PBitModel:
    """A programmed p-bit core: topology, couplings and biases checked once, then annealed.

    Parameters
    ----------
    config : PBitConfig
        Number formats. ``update_units`` must be at most ``topology.n`` and ``update_lanes`` at
        most the largest degree (as the RTL's); results never depend on them.
    topology : Topology
        Graph and proper colouring.
    J_edges : int array [E]
        Signed ``coupling_bits`` couplings, aligned with ``topology.edges``.
    h : int array [n], optional
        Signed ``bias_bits`` biases; zeros when omitted.
    """

    def __init__(self, config: PBitConfig, topology: Topology, J_edges, h=None):
        if config.update_units > topology.n:
            raise ConfigError(f"update_units = {config.update_units} is out of range; allowed "
                              f"1..{topology.n} (the number of p-bits)")
        config.check_lanes(topology)
        self.config, self.topology = config, topology
        self.J = check_couplings(config, topology, J_edges)
        self.h = check_biases(config, topology.n, h)
        n = topology.n
        lo, hi = signed_range(config.lut_bits)
        # T in the order of the signed argument a = lo..hi.
        self._table = tanh_table(config.lut_bits, config.lut_frac, config.rng_bits)
        self._by_argument = self._table[to_unsigned(np.arange(lo, hi + 1), config.lut_bits)]
        if np.any(np.diff(self._by_argument) < 0):
            raise ConfigError(f"tanh table of lut_bits = {config.lut_bits}, lut_frac = "
                              f"{config.lut_frac}, rng_bits = {config.rng_bits} is not monotone")
        leaps = _leap_parts(config.rng_bits)
        self._leap_shifts = np.array([k for k, _ in leaps], dtype=np.int64)
        self._leap_tables = np.zeros((len(leaps), 1 << leaps[0][0]), dtype=np.uint32)
        for row, (k, table) in enumerate(leaps):
            self._leap_tables[row, :1 << k] = table
        if config.rng_bits <= TABLE_RNG_BITS:
            # below[u]: how many arguments have T[a] <= r, for r the signed reading of u.
            self._below = self._count_below(np.arange(1 << config.rng_bits, dtype=np.int64))
        # Storage order: p-bits colour by colour, so that one pass in this order is a sweep.
        self._order = np.argsort(np.array(topology.colours, dtype=np.int64), kind="stable")
        position = np.empty(n, dtype=np.int64)
        position[self._order] = np.arange(n)
        # Neighbour lists (CSR) in storage order, both ends of every edge.
        edges = np.array(topology.edges, dtype=np.int64).reshape(-1, 2)
        rows = position[np.concatenate([edges[:, 0], edges[:, 1]])]
        cols = position[np.concatenate([edges[:, 1], edges[:, 0]])]
        weights = np.concatenate([self.J, self.J])
        sort = np.lexsort((cols, rows))
        self._indptr = np.searchsorted(rows[sort], np.arange(n + 1)).astype(np.int64)
        self._neighbours = cols[sort].astype(np.int32)
        self._h = self.h[self._order]
        # |I| <= sum_j |J_ij| + |h_i|: fields in 32 bits where they fit.
        bound = np.zeros(n + 1, dtype=np.int64)
        np.add.at(bound, rows, np.abs(weights))
        self._bound = int(bound.max()) + int(np.abs(self.h).max(initial=0))
        self._dtype = np.int32 if 2 * self._bound < np.iinfo(np.int32).max else np.int64
        self._couplings = weights[sort]
        # A flip changes each neighbour's field by (m_new - m_old) J = +-2 J.
        self._changes = (2 * self._couplings).astype(self._dtype)

    # Thresholds -------------------------------------------------------------------------------

    def _count_below(self, u: np.ndarray) -> np.ndarray:
        """For raw low bits ``u`` of an LFSR: the number of arguments ``a`` with ``T[a] <= r``.

        ``r`` is ``u`` read as a signed ``rng_bits`` value. An update sets ``s = 1`` exactly when
        ``a >= lo + count`` (``lo`` the least argument), because ``T`` is non-decreasing.
        """
        return np.searchsorted(self._by_argument, to_signed(u, self.config.rng_bits),
                               side="right")

    def _field_thresholds(self, code: int) -> np.ndarray:
        """``theta[c]`` for ``c = 0..2**lut_bits``: ``s = 1`` iff ``I >= theta[c]`` at count ``c``.

        ``a >= A`` (``lo < A <= hi``) holds iff ``rshift_round(I * B, f) >= A`` (saturation keeps
        the order), iff ``I * B + half >= A * 2**f``, iff ``I >= ceil((A * 2**f - half) / B)``.
        ``c = 0`` is always (``iinfo.min``), ``A > hi`` never (``iinfo.max``, beyond any field);
        ``B = 0`` makes ``a = 0``: always if ``A <= 0``, else never.
        """
        config = self.config
        lo = signed_range(config.lut_bits)[0]
        info = np.iinfo(self._dtype)
        A = lo + np.arange((1 << config.lut_bits) + 1, dtype=np.int64)
        half = (1 << config.beta_frac) >> 1
        if code:
            theta = -((half - A * (1 << config.beta_frac)) // code)
            theta = np.clip(theta, info.min, info.max)
            theta[0] = info.min
        else:
            theta = np.where(A <= 0, info.min, info.max)
        theta[-1] = info.max
        return theta.astype(self._dtype)

    def _step_thresholds(self, code: int) -> np.ndarray:
        """Field thresholds for beta code ``B``: indexed by the raw low LFSR bits ``u`` when
        ``rng_bits <= TABLE_RNG_BITS``, else by the count of :meth:`_count_below`."""
        theta = self._field_thresholds(code)
        return theta[self._below] if self.config.rng_bits <= TABLE_RNG_BITS else theta

    # Running ----------------------------------------------------------------------------------

    def run(self, schedule, seeds, initial=None, *, record: int = 0,
            progress=None) -> PBitRun:
        """Anneal ``R`` independent replicas through ``schedule``.

        Parameters
        ----------
        schedule : iterable of (int, int)
            ``(B, sweeps)`` steps (:func:`check_schedule`).
        seeds : uint32 array [R, n]
            Starting LFSR states, none zero (:func:`replica_seeds`).
        initial : 0/1 array [R, n], optional
            Starting states; all zero when omitted.
        record : int
            Keep the state after every ``record``-th sweep (``True``: every sweep) in
            :attr:`PBitRun.trajectory`; 0 keeps none.
        progress : callable, optional
            Called as ``progress(done, total)`` after every schedule step, in sweeps.

        Returns
        -------
        PBitRun
        """
        steps = check_schedule(self.config, schedule)
        n = self.topology.n
        seeds = np.asarray(seeds)
        if seeds.ndim != 2 or seeds.shape[1] != n or not len(seeds):
            raise ConfigError(f"seeds has shape {seeds.shape}; expected (replicas >= 1, {n})")
        if not np.issubdtype(seeds.dtype, np.integer):
            raise ConfigError(f"seeds must hold integers, got dtype {seeds.dtype}")
        check_image("seeds", seeds, seeds.shape, 1, unsigned_range(LFSR_BITS)[1],
                    note="an LFSR state is never 0")
        replicas = len(seeds)
        initial = np.zeros((replicas, n), np.uint8) if initial is None else initial
        initial = check_states("initial", initial, (replicas, n))
        record = int(record)
        if record < 0:
            raise ConfigError(f"record = {record} is out of range; allowed >= 0")
        # The chains, in storage order with one row per replica.
        order = self._order
        s = np.ascontiguousarray(initial[:, order])
        lfsr = np.ascontiguousarray(seeds[:, order].astype(np.int64))
        field = np.empty((replicas, n), dtype=self._dtype)
        energy = kernels.pbit_fields(s, self._indptr, self._neighbours, self._couplings,
                                     self._h, field)
        best_energy, best_state = energy.copy(), s.copy()
        total = sum(sweeps for _, sweeps in steps)
        energies = np.empty((total, replicas), dtype=np.int64)
        trajectory = np.empty((total // record if record else 0, replicas, n), dtype=np.uint8)
        counted = self.config.rng_bits > TABLE_RNG_BITS
        by_argument = self._by_argument if counted else np.empty(0, dtype=np.int64)
        done = 0
        for code, sweeps in steps:
            kernels.pbit_sweeps(sweeps, self._step_thresholds(code), by_argument,
                                self.config.rng_bits, self._leap_shifts, self._leap_tables,
                                self._indptr, self._neighbours, self._changes, s, field, lfsr,
                                energy, best_energy, best_state, energies, done, record,
                                trajectory)
            done += sweeps
            if progress is not None:
                progress(done, total)
        restore = np.argsort(order)
        return PBitRun(
            states=s[:, restore], lfsr=lfsr[:, restore].astype(np.uint32), energy=energy,
            best_energy=best_energy, best_state=best_state[:, restore], energies=energies,
            trajectory=trajectory[:, :, restore] if record else None)
