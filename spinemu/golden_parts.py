"""The golden backend of :class:`~spinemu.emulator.Emulator`: what a device keeps, in numpy.

Each part has the methods of the link client it stands in for (``program``, ``read_images`` or
``read_writes``, ``run`` or ``anneal``) and keeps what the device keeps between calls: the
images, and for a p-bit core its state and LFSRs, so the same program gives the same results
as on the rtl and board backends (DESIGN.md 2, 7).
"""

from __future__ import annotations

import numpy as np

from spinemu.config import SpinemuError, TileConfig
from spinemu.gateware.pbit_fabric import PBitFabric
from spinemu.hdl.writes import network_writes
from spinemu.link.pbit_client import ChainRun, check_anneal, check_program
from spinemu.sim.golden.network import NetworkModel
from spinemu.sim.golden.pbit import PBitModel, dense_couplings, energy
from spinemu.sim.golden.tile import CrossbarTileModel

__all__ = ["EmulatorError", "GoldenTile", "GoldenNetwork", "GoldenPBit"]


class EmulatorError(SpinemuError):
    """A use of :class:`~spinemu.emulator.Emulator` it does not allow: an unknown backend, a
    closed emulator, a command the fabric has no part for, a device whose map is not the
    fabric's.

    Defined here, below :mod:`spinemu.emulator` (which re-exports it), because the golden parts
    raise it too: a part used before ``program()``."""


class GoldenTile:
    """A tile on the golden model, with :class:`~spinemu.link.clients.TileClient`'s methods."""

    def __init__(self, config: TileConfig):
        self.config, self._model = config, None

    def program(self, g, adc_shift=None, gain=None, offset=None) -> None:
        self._model = CrossbarTileModel(self.config, g, adc_shift, gain, offset)

    def read_images(self) -> tuple[np.ndarray, ...]:
        m = _programmed(self._model)
        return m.g, m.adc_shift, m.gain, m.offset

    def run(self, x) -> np.ndarray:
        return _programmed(self._model)(x)


class GoldenNetwork:
    """A mapped network on the golden model, with
    :class:`~spinemu.link.clients.NetworkClient`'s methods."""

    def __init__(self, config):
        self.config, self._model = config, None

    def program(self, images) -> None:
        self._model = NetworkModel(self.config, list(images))

    def read_writes(self) -> list[tuple[int, int]]:
        layers = _programmed(self._model).layers
        return network_writes(self.config, [layer.images for layer in layers])

    def run(self, x) -> np.ndarray:
        return _programmed(self._model)(self.config.check_inputs(x))


class GoldenPBit:
    """A p-bit core (or a hybrid fabric: the same chains, its tile checked to be exact) on the
    golden model, with :class:`~spinemu.link.pbit_client.PBitClient`'s methods: it keeps the
    state and the LFSRs across anneals as the core does."""

    def __init__(self, fabric: PBitFabric):
        self.config, self.topology = fabric.config, fabric.topology
        self.schedule_depth = fabric.schedule_depth
        self.tile = getattr(fabric, "tile", None)   # a hybrid fabric's (HybridFabric)
        self._model: PBitModel | None = None
        self._lfsr = self._state = None

    def program(self, J_edges, h, seeds, initial_state=None) -> None:
        self._model, self._state, _ = check_program(self.config, self.topology, J_edges, h,
                                                    seeds, initial_state, self.tile)
        self._lfsr = np.asarray(seeds, np.uint32).copy()

    def read_images(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        m = _programmed(self._model)
        return m.J.astype(np.int64), m.h.astype(np.int64), self._lfsr.copy(), self._state.copy()

    def anneal(self, schedule, record_every: int = 0) -> ChainRun:
        model = _programmed(self._model)
        steps = check_anneal(self.config, schedule, self.schedule_depth, record_every)
        start = int(energy(dense_couplings(self.topology, model.J), model.h, self._state))
        run = model.run(steps, self._lfsr[None], self._state[None], record=record_every)
        self._state, self._lfsr = run.states[0].copy(), run.lfsr[0].copy()
        return ChainRun.from_golden(run, start, record_every)


def _programmed(model):
    if model is None:
        raise EmulatorError("the fabric is not programmed; call program() first")
    return model
