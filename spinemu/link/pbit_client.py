"""The p-bit core over a :class:`~spinemu.link.driver.Link`: program, read back, anneal.

:class:`PBitClient` speaks the golden model's terms (:mod:`spinemu.sim.golden.pbit`): couplings
per edge, biases, LFSR seeds, states and ``(B, sweeps)`` schedules; the regions are those of
:class:`~spinemu.gateware.pbit_fabric.PBitFabric`. An anneal comes back as a :class:`ChainRun`,
which :meth:`ChainRun.from_golden` builds from a golden :class:`~spinemu.sim.golden.pbit.PBitRun`
for comparison.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np

from spinemu.config import ConfigError, PBitConfig, TileConfig, Topology, check_int
from spinemu.gateware.pbit_fabric import RESULT_FIELDS, PBitFabric, state_slices
from spinemu.hdl.tile import weight_words, weights_from_words
from spinemu.numeric import unsigned_range
from spinemu.sim.golden.hybrid import check_tile
from spinemu.sim.golden.pbit import (
    PBitModel,
    PBitRun,
    check_schedule,
    check_states,
    dense_couplings,
    energy,
)

from .driver import Link
from .protocol import MAX_PAYLOAD, FrameError, LinkError, Status

__all__ = ["ChainRun", "PBitClient", "check_anneal", "check_program"]

#: Largest ``record_every`` (a 16-bit field of the ``run`` word).
MAX_RECORD_EVERY = unsigned_range(16)[1]
#: Largest number of sweeps in one anneal (the 32-bit sweep counter).
MAX_SWEEPS = unsigned_range(32)[1]


def check_anneal(config: PBitConfig, schedule, schedule_depth: int,
                 record_every: int) -> tuple[tuple[int, int], ...]:
    """The ``(B, sweeps)`` steps of an anneal a core of ``schedule_depth`` steps can run,
    else :class:`~spinemu.config.ConfigError` naming the field and what is allowed."""
    steps = check_schedule(config, schedule)
    if len(steps) > schedule_depth:
        raise ConfigError(f"schedule has {len(steps)} steps; allowed at most "
                          f"{schedule_depth} (the fabric's schedule depth)")
    check_int("record_every", record_every, 0, MAX_RECORD_EVERY)
    sweeps = sum(k for _, k in steps)
    if sweeps > MAX_SWEEPS:
        raise ConfigError(f"the schedule has {sweeps} sweeps; allowed at most {MAX_SWEEPS}")
    return steps


def check_program(config: PBitConfig, topology: Topology, J_edges, h, seeds,
                  initial_state=None, tile: TileConfig | None = None,
                  ) -> tuple[PBitModel, np.ndarray, dict[str, list]]:
    """``(model, state, region values)`` of a p-bit core's program, checked as the golden model
    and the fabric check them (:class:`~spinemu.config.ConfigError`): couplings ``J_edges[E]``,
    biases ``h[n]``, LFSR seeds ``seeds[n]`` (1..2**32-1), the initial state (0/1, zeros when
    omitted). With the ``tile`` of a hybrid fabric the couplings go to its ``weights`` (J in the
    top-left corner) instead of ``couplings``, and a tile that cannot compute their fields
    exactly is refused (:func:`~spinemu.sim.golden.hybrid.check_tile`)."""
    n = topology.n
    model = PBitModel(config, topology, J_edges, h)
    state = check_states("initial_state", np.zeros((1, n), np.uint8) if initial_state is None
                         else np.asarray(initial_state).reshape(1, -1), (1, n))[0]
    images = PBitFabric.images(config, topology, model.J, model.h, seeds, state)
    if tile is not None:
        J = dense_couplings(topology, model.J)
        check_tile(tile, J)
        g = np.zeros((tile.rows, tile.cols), np.int64)
        g[:n, :n] = J
        images.pop("couplings", None)
        images = {"weights": weight_words(tile, g).tolist(), **images}
    return model, state, images


@dataclass(frozen=True, eq=False)
class ChainRun:
    """One anneal of one chain, as the device reports it.

    Attributes
    ----------
    state : uint8 [n]
        State after the last sweep.
    energy : int
        Its energy.
    best_state : uint8 [n]
        The earliest state of the lowest energy at the end of a sweep (or the initial state).
    best_energy : int
    best_sweep : int
        The sweep after which ``best_state`` was reached (0: the initial state).
    sweeps : int
        Sweeps run.
    lfsr : uint32 [n] or None
        LFSR states after the last sweep (when read back).
    record_every : int
        Every ``record_every``-th sweep was recorded (0: none).
    energies : int64 [k]
        Energy after sweeps ``record_every, 2 * record_every, ...``.
    trajectory : uint8 [k, n]
        State after those sweeps.
    """

    state: np.ndarray
    energy: int
    best_state: np.ndarray
    best_energy: int
    best_sweep: int
    sweeps: int
    lfsr: np.ndarray | None
    record_every: int
    energies: np.ndarray
    trajectory: np.ndarray

    @classmethod
    def from_golden(cls, run: PBitRun, initial_energy: int, record_every: int = 0,
                    replica: int = 0) -> ChainRun:
        """What the device reports for replica ``replica`` of a golden ``run`` that started
        from energy ``initial_energy``; with ``record_every`` > 0, ``run`` must have been
        recorded with ``record = record_every`` or ``record = 1``."""
        energies = run.energies[:, replica]
        best = int(run.best_energy[replica])
        n = run.states.shape[1]
        kept = np.arange(record_every, len(energies) + 1, record_every) if record_every else \
            np.zeros(0, np.int64)
        trajectory = np.zeros((0, n), np.uint8)
        if record_every:
            if run.trajectory is None:
                raise ConfigError(f"the golden run was not recorded; run it with record = "
                                  f"{record_every}")
            trajectory = run.trajectory[:, replica]
            if len(trajectory) != len(kept):   # recorded every sweep
                trajectory = trajectory[kept - 1]
        # the best is replaced only by a lower energy: it was reached at its first occurrence
        reached = int(np.flatnonzero(energies == best)[0]) + 1 if best < initial_energy else 0
        return cls(state=run.states[replica], energy=int(run.energy[replica]),
                   best_state=run.best_state[replica], best_energy=best, best_sweep=reached,
                   sweeps=len(energies), lfsr=run.lfsr[replica], record_every=record_every,
                   energies=energies[kept - 1], trajectory=trajectory)

    def differences(self, other: ChainRun) -> list[str]:
        """Names of the attributes that differ from ``other`` (``lfsr`` only when both
        have it)."""
        differ = []
        for field in fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if field.name == "lfsr" and (mine is None or theirs is None):
                continue
            if np.shape(mine) != np.shape(theirs) or not np.array_equal(mine, theirs):
                differ.append(field.name)
        return differ


class PBitClient:
    """A :class:`~spinemu.gateware.pbit_fabric.PBitFabric` (or, with ``tile``, a
    :class:`~spinemu.gateware.hybrid_fabric.HybridFabric`) over a link.

    Parameters
    ----------
    link : Link
        Its map must be the fabric's (:meth:`Link.check` compares it with the device's).
    config : PBitConfig
    topology : Topology
        The fabric's graph and colouring (a hybrid fabric's: every pair of p-bits of different
        colours, :func:`~spinemu.hdl.hybrid.hybrid_topology`).
    prefix : str
        Of the fabric's regions inside a :class:`~spinemu.gateware.fabrics.CompositeFabric`
        (``"pbit_"`` on the ULX3S default).
    tile : TileConfig, optional
        A hybrid fabric's tile: the couplings are its ``weights``.
    """

    def __init__(self, link: Link, config: PBitConfig, topology: Topology, prefix: str = "",
                 tile: TileConfig | None = None):
        self._link, self._config, self._topology = link, config, topology
        self._prefix, self._tile = prefix, tile
        self._problem: tuple[np.ndarray, np.ndarray] | None = None   # J, h as written
        self._state: np.ndarray | None = None                        # the device's state

    @property
    def config(self) -> PBitConfig:
        return self._config

    @property
    def topology(self) -> Topology:
        return self._topology

    @property
    def schedule_depth(self) -> int:
        return self._link.regmap[self._prefix + "schedule"].depth

    def program(self, J_edges, h, seeds, initial_state=None) -> None:
        """Write couplings ``J_edges[E]``, biases ``h[n]``, LFSR seeds ``seeds[n]`` (1..2**32-1)
        and the initial state (0/1, zeros when omitted); checked as the golden model checks
        them (:class:`~spinemu.config.ConfigError`)."""
        model, state, images = check_program(self._config, self._topology, J_edges, h, seeds,
                                             initial_state, self._tile)
        for name, values in images.items():
            self._link.write(self._prefix + name, values)
        self._problem, self._state = (model.J, model.h), state

    def read_images(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(J_edges, h, seeds, state)`` as the device holds them; ``seeds`` are the LFSRs'
        current states (the seeds as written until an anneal runs)."""
        edges, tile = self._topology.edges, self._tile
        if tile is not None:
            words = self._link.read(self._prefix + "weights", tile.rows * tile.groups)
            g = weights_from_words(tile, words)
            J = np.array([g[i, j] for i, j in edges], np.int64)
        else:
            J = (np.array(self._link.read(self._prefix + "couplings", len(edges)), np.int64)
                 if edges else np.zeros(0, np.int64))
        return (J, *self._read_nodes())

    def _read_nodes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(h, seeds, state)`` from the ``nodes`` region."""
        nodes = self._link.read(self._prefix + "nodes", self._topology.n)
        return (np.array([v["bias"] for v in nodes], np.int64),
                np.array([v["seed"] for v in nodes], np.uint32),
                np.array([v["state"] for v in nodes], np.uint8))

    def anneal(self, schedule, record_every: int = 0, *, read_lfsr: bool = True,
               timeout: float | None = None) -> ChainRun:
        """Anneal from the device's state through ``schedule`` (``(B, sweeps)`` steps, at most
        :attr:`schedule_depth`), recording the state after every ``record_every``-th sweep.

        The initial energy is computed from the images this client programmed, or read back
        when it programmed none. ``read_lfsr`` reads the LFSR states afterwards (N words).
        ``timeout`` bounds the wait in seconds (None: no bound) and raises
        :class:`~spinemu.link.protocol.LinkError` when it passes.
        """
        steps = check_anneal(self._config, schedule, self.schedule_depth, record_every)
        sweeps = sum(k for _, k in steps)
        deadline = None if timeout is None else time.monotonic() + timeout
        images = PBitFabric.images(self._config, self._topology, schedule=steps)
        self._link.write(self._prefix + "schedule", images["schedule"])
        self._link.write(self._prefix + "run", [{"steps": len(steps),
                                                 "record_every": record_every,
                                                 "energy": self._energy()}])
        records, trajectory = self._records(sweeps // record_every if record_every else 0,
                                            deadline)
        self._wait_idle(deadline)
        (current, best), (state, best_state) = self._result()
        lfsr = self._read_nodes()[1] if read_lfsr else None
        self._state = state
        return ChainRun(
            state=state, energy=current["energy"], best_state=best_state,
            best_energy=best["energy"], best_sweep=best["sweep"], sweeps=current["sweep"],
            lfsr=lfsr, record_every=record_every,
            energies=np.array([r["energy"] for r in records], np.int64), trajectory=trajectory)

    def _slices(self) -> tuple[int, int]:
        """``(W, k)``: bits per slice and slices per state (:func:`state_slices`)."""
        return state_slices(self._topology.n, self._link.regmap[self._prefix + "states_slices"]
                            .word_bits)

    def _result(self) -> tuple[list[dict], np.ndarray]:
        """The ``result`` headers (current, best) and their states ``[2, n]``: each header read
        takes the snapshot that ``result_slices`` then gives."""
        headers = self._link.read(self._prefix + "result", len(RESULT_FIELDS))
        width, count = self._slices()
        slices = self._link.read(self._prefix + "result_slices", len(RESULT_FIELDS) * count)
        return headers, _join(slices, width, count, self._topology.n)

    def _energy(self) -> int:
        """Energy of the device's state, from the images written (or read back)."""
        if self._problem is None or self._state is None:
            J, h, _, state = self.read_images()
            self._problem, self._state = (J, h), state
        J, h = self._problem
        return int(energy(dense_couplings(self._topology, J), h, self._state))

    def _records(self, count: int, deadline: float | None) -> tuple[list[dict], np.ndarray]:
        """``count`` records: their headers and states ``[count, n]``, popped as they come.

        A header is in ``states`` only once its slices are in ``states_slices``: headers are
        popped first (a read of more than wait is BUSY), then exactly their slices."""
        region = self._link.regmap[self._prefix + "states"]
        chunk = max(1, min(region.depth, MAX_PAYLOAD // region.word_bytes))
        width, slices = self._slices()
        records: list[dict] = []
        states = []
        while len(records) < count:
            try:
                headers = self._link.read(self._prefix + "states",
                                          min(chunk, count - len(records)))
            except FrameError as error:
                if error.status != Status.BUSY:
                    raise
                _check_deadline(deadline, f"{len(records)} of {count} recorded states")
                continue
            records += headers
            states.append(_join(self._link.read(self._prefix + "states_slices",
                                                len(headers) * slices),
                                width, slices, self._topology.n))
        n = self._topology.n
        return records, np.concatenate(states) if states else np.zeros((0, n), np.uint8)

    def _wait_idle(self, deadline: float | None) -> None:
        idle = self._link.regmap["status"].fields.index("idle")
        while not self._link.read("status", 1, idle)[0]:
            _check_deadline(deadline, "the end of the anneal")
            time.sleep(0.001)


def _join(slices: list[int], width: int, count: int, n: int) -> np.ndarray:
    """States ``[len(slices) // count, n]`` (uint8) of consecutive runs of ``count`` slices of
    ``width`` bits, slice j of a state holding its p-bits ``j * width ..`` from bit 0."""
    states = len(slices) // count
    slice_bytes = (width + 7) // 8
    raw = np.frombuffer(b"".join(int(w).to_bytes(slice_bytes, "little") for w in slices),
                        np.uint8).reshape(states, count, slice_bytes)
    bits = np.unpackbits(raw, axis=2, bitorder="little")[:, :, :width]
    return np.ascontiguousarray(bits.reshape(states, count * width)[:, :n])


def _check_deadline(deadline: float | None, what: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise LinkError(f"timed out waiting for {what}")
