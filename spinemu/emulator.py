# amaranth: UnusedElaboratable=no
"""One API over the golden model, the RTL simulation and a board (DESIGN.md 7).

:class:`Emulator` holds a fabric on a backend:

- ``"golden"``: the numpy golden model (:mod:`spinemu.sim.golden`), in the parts of
  :mod:`spinemu.golden_parts`;
- ``"rtl"``: the fabric's RTL behind the host link, kept running across calls under Verilator or
  Icarus (:class:`~spinemu.sim.link_server.LinkServer`: built once, loaded once, run many);
- ``"board"``: a serial port, a board or the virtual board (``spinemu board sim``).

The rtl and board backends speak the host-link protocol through the same driver and clients
(:mod:`spinemu.link`); the golden backend keeps what a device would keep (images, the p-bits'
state and LFSRs), so the same program gives the same results on every backend.

A fabric is a tile (:class:`~spinemu.config.TileConfig` or a
:class:`~spinemu.gateware.fabrics.TileFabric`), a mapped network (a :class:`~spinemu.plan.Plan`,
whose images :meth:`Emulator.program` writes by default, or a
:class:`~spinemu.gateware.fabrics.NetworkFabric`), a p-bit core
(:class:`~spinemu.gateware.pbit_fabric.PBitFabric`, or a ``(PBitConfig, Topology)`` pair), a
hybrid fabric (:class:`~spinemu.gateware.hybrid_fabric.HybridFabric`: a crossbar tile computing
the fields of p-bits, which anneals and samples as a p-bit core does), or
a :class:`~spinemu.gateware.fabrics.CompositeFabric` of those, whose parts
:attr:`Emulator.parts` holds by name.

Every error is a :class:`~spinemu.config.SpinemuError`: :class:`EmulatorError` for a use the
emulator refuses, :class:`~spinemu.config.ConfigError` for a bad image or input,
:class:`~spinemu.link.protocol.LinkError` for a port or device that fails,
:class:`~spinemu.sim.runner.SimulatorError` for a simulator that fails.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import (
    ConfigError,
    PBitConfig,
    SpinemuError,
    TileConfig,
    Topology,
    check_int,
)
from spinemu.gateware.fabrics import CompositeFabric, NetworkFabric, TileFabric
from spinemu.gateware.hybrid_fabric import HybridFabric
from spinemu.gateware.pbit_fabric import PBitFabric
from spinemu.golden_parts import EmulatorError, GoldenNetwork, GoldenPBit, GoldenTile
from spinemu.hdl.pbit import DEFAULT_SCHEDULE_DEPTH
from spinemu.link.clients import NetworkClient, TileClient
from spinemu.link.pbit_client import ChainRun, PBitClient
from spinemu.plan import Plan
from spinemu.sim.golden.hybrid import HybridModel
from spinemu.sim.golden.pbit import PBitModel, PBitRun, check_schedule

__all__ = ["BACKENDS", "Emulator", "EmulatorError", "run_replicas"]

#: The backends an :class:`Emulator` runs on (module docstring).
BACKENDS = ("golden", "rtl", "board")
#: What ``fabric`` may be (for messages).
FABRIC_KINDS = ("TileConfig", "TileFabric", "Plan", "NetworkFabric", "PBitFabric",
                "(PBitConfig, Topology)", "HybridFabric", "CompositeFabric")
#: Fabrics that anneal and sample (a p-bit core, or a crossbar tile feeding p-bits).
ANNEALERS = (PBitFabric, HybridFabric)


def as_fabric(fabric):
    """``(fabric component, default images or None)`` of what :class:`Emulator` accepts."""
    if isinstance(fabric, TileConfig):
        return TileFabric(fabric), None
    if isinstance(fabric, Plan):
        return NetworkFabric(fabric.config), fabric.images
    if (isinstance(fabric, tuple) and len(fabric) == 2 and isinstance(fabric[0], PBitConfig)
            and isinstance(fabric[1], Topology)):
        return PBitFabric(*fabric), None
    if isinstance(fabric, (TileFabric, NetworkFabric, *ANNEALERS, CompositeFabric)):
        return fabric, None
    raise EmulatorError(f"fabric is a {type(fabric).__name__}; allowed: "
                        f"{', '.join(FABRIC_KINDS)}")


# --- The emulator -------------------------------------------------------------------------------

class Emulator:
    """A fabric on a backend (module docstring).

    Parameters
    ----------
    fabric
        One of :data:`FABRIC_KINDS`.
    backend : {"golden", "rtl", "board"}
    port : str
        The serial port of the board backend (a device path, or the virtual board's pty).
    simulator : {"verilator", "icarus"}
        Of the rtl backend.
    timeout : float
        Seconds the driver waits for one reply (rtl and board); a command the device answers
        BUSY is retried for ``busy_timeout`` seconds.

    Commands: :meth:`program`, :meth:`read_back`, :meth:`vmm` (tile), :meth:`infer` (network),
    :meth:`anneal` and :meth:`sample` (p-bit core). On a composite fabric each runs on the one
    part of its kind, or name the part: ``emulator.parts["net"].infer(x)``.
    """

    def __init__(self, fabric, backend: str = "golden", *, port: str | None = None,
                 simulator: str = "verilator", timeout: float = 5.0, busy_timeout: float = 600.0):
        if backend not in BACKENDS:
            raise EmulatorError(f"backend = {backend!r} is not known; allowed {list(BACKENDS)}")
        if (port is None) == (backend == "board"):
            raise EmulatorError(f"port = {port!r} with backend {backend!r}; the board backend "
                                "takes a port (a serial device or the virtual board's pty), "
                                "the others none")
        self._fabric, images = as_fabric(fabric)
        self._backend, self._server, self._link = backend, None, None
        if backend != "golden":
            self._open_link(port, simulator, timeout, busy_timeout)
        parts = (self._fabric.parts if isinstance(self._fabric, CompositeFabric)
                 else {"": self._fabric})
        self.parts = {name: Part(self, name, part, images) for name, part in parts.items()}

    def _open_link(self, port, simulator, timeout, busy_timeout) -> None:
        from spinemu.gateware.core import link_regmap
        from spinemu.link.driver import Link, SerialTransport

        regmap = link_regmap(self._fabric)
        if self._backend == "rtl":
            from spinemu.sim.link_server import LinkServer

            self._server = LinkServer(self._fabric, simulator)
            port = self._server.port
        try:
            transport = SerialTransport(port)
        except SpinemuError as error:   # names the port and why it does not open
            self.close()
            raise EmulatorError(str(error)) from None
        self._link = Link(transport, regmap, timeout=timeout, busy_timeout=busy_timeout)
        try:
            self._link.check()
        except SpinemuError as error:
            self.close()
            raise EmulatorError(f"port {port!r} does not answer as this {regmap.fabric} "
                                f"({error})") from None

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def fabric(self):
        return self._fabric

    @property
    def closed(self) -> bool:
        return self.parts is None

    def close(self) -> None:
        """Close the port and stop the simulation (rtl); every command afterwards raises."""
        link, server, self._link, self._server = self._link, self._server, None, None
        self.parts = None
        try:
            if link is not None:
                link.close()
        finally:
            if server is not None:
                server.stop()

    def status(self) -> dict[str, int]:
        """The device's ``status`` registers by name (rtl and board backends): the link's
        counters and ``clocks`` / ``busy_clocks``, the device's clocks since reset and those in
        which the fabric was not idle, both modulo 2**32 (docs/link.md). Two reads around a
        command time it in device clocks."""
        if self.closed:
            raise EmulatorError("the emulator is closed")
        if self._link is None:
            raise EmulatorError("status() reads a device's registers; the golden backend has "
                                "none (allowed backends: 'rtl', 'board')")
        return self._link.status()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _session(self, part: Part):
        """The golden model or the client that runs ``part`` (an open emulator's)."""
        fabric, prefix = part.fabric, f"{part.name}_" if part.name else ""
        if self._link is None:
            kinds = {TileFabric: GoldenTile, NetworkFabric: GoldenNetwork}
            return (GoldenPBit(fabric) if isinstance(fabric, ANNEALERS)
                    else kinds[type(fabric)](fabric.config))
        if isinstance(fabric, ANNEALERS):
            return PBitClient(self._link, fabric.config, fabric.topology, prefix,
                              getattr(fabric, "tile", None))
        client = TileClient if isinstance(fabric, TileFabric) else NetworkClient
        return client(self._link, fabric.config, prefix)

    def _part(self, kind, command: str) -> Part:
        if self.closed:
            raise EmulatorError("the emulator is closed")
        found = [p for p in self.parts.values() if isinstance(p.fabric, kind)]
        if len(found) != 1:
            have = {name or "(the fabric)": type(p.fabric).__name__
                    for name, p in self.parts.items()}
            wanted = ("a single part" if kind is object else "one PBitFabric or HybridFabric"
                      if kind is ANNEALERS else f"one {kind.__name__}")
            raise EmulatorError(f"{command}() needs {wanted}; this fabric has {have}"
                                + ("; use parts[NAME]" if found else ""))
        return found[0]

    # --- commands on the single part of their kind --------------------------------------------
    def program(self, *args, **images) -> None:
        """Program the fabric (not a composite): see :meth:`Part.program`."""
        self._part(object, "program").program(*args, **images)

    def read_back(self):
        """What the device holds (not a composite): see :meth:`Part.read_back`."""
        return self._part(object, "read_back").read_back()

    def vmm(self, x) -> np.ndarray:
        return self._part(TileFabric, "vmm").vmm(x)

    def infer(self, x) -> np.ndarray:
        return self._part(NetworkFabric, "infer").infer(x)

    def anneal(self, schedule, record_every: int = 0) -> ChainRun:
        return self._part(ANNEALERS, "anneal").anneal(schedule, record_every)

    def sample(self, beta: int, samples: int, burn_in: int = 0) -> np.ndarray:
        return self._part(ANNEALERS, "sample").sample(beta, samples, burn_in)


class Part:
    """One fabric of an :class:`Emulator` (the fabric itself, or a part of a composite)."""

    def __init__(self, emulator: Emulator, name: str, fabric, images=None):
        self._emulator, self.name, self.fabric = emulator, name, fabric
        self._default_images = images
        self._client = None

    @property
    def _session(self):
        if self._emulator.closed:
            raise EmulatorError("the emulator is closed")
        if self._client is None:
            self._client = self._emulator._session(self)
        return self._client

    def _need(self, kind, command: str):
        if not isinstance(self.fabric, kind):
            name = "PBitFabric or HybridFabric" if kind is ANNEALERS else kind.__name__
            raise EmulatorError(f"{command}() needs a {name}; part "
                                f"{self.name or '(the fabric)'!r} is a "
                                f"{type(self.fabric).__name__}")
        return self._session

    def program(self, *args, **images) -> None:
        """Write the images.

        - tile: ``program(g, adc_shift=None, gain=None, offset=None)`` (calibration defaults
          as the tile's);
        - network: ``program(images=None)``, one ``LayerImages`` per layer (a plan's by
          default);
        - p-bit core: ``program(J_edges, h, seeds, initial_state=None)`` (seeds 1..2**32-1,
          the initial state zeros when omitted); a hybrid fabric the same, ``J_edges`` over
          its ``topology`` (every pair of p-bits of different colours), written as the tile's
          weights.
        """
        session = self._session
        if isinstance(self.fabric, NetworkFabric):
            if not args and images.get("images") is None:
                if self._default_images is None:
                    raise EmulatorError("program() needs images: this network fabric came "
                                        "without a plan")
                images["images"] = self._default_images
        session.program(*args, **images)

    def read_back(self):
        """Tile: ``(g, adc_shift, gain, offset)``; network: the ``(address, word)`` writes
        (:func:`~spinemu.hdl.writes.network_writes`); p-bit core: ``(J_edges, h, lfsr, state)``
        (``lfsr``: the seeds as written until an anneal, then the LFSR states reached)."""
        session = self._session
        if isinstance(self.fabric, NetworkFabric):
            return session.read_writes()
        return session.read_images()

    def vmm(self, x) -> np.ndarray:
        """Tile outputs ``z[batch, cols]`` (int64) for input codes ``x[batch, rows]``."""
        return self._need(TileFabric, "vmm").run(x)

    def infer(self, x) -> np.ndarray:
        """Last-layer output codes ``a[batch, out]`` (int64) for input codes
        ``x[batch, in]``."""
        return self._need(NetworkFabric, "infer").run(x)

    def anneal(self, schedule, record_every: int = 0) -> ChainRun:
        """Anneal from the current state through ``schedule`` (``(beta code, sweeps)``
        steps), recording every ``record_every``-th sweep; the state and LFSRs carry over to
        the next anneal."""
        return self._need(ANNEALERS, "anneal").anneal(schedule, record_every)

    def sample(self, beta: int, samples: int, burn_in: int = 0) -> np.ndarray:
        """``samples`` states ``[samples, n]`` (uint8) at inverse-temperature code ``beta``,
        one per sweep after ``burn_in`` sweeps."""
        check_int("samples", samples, 1, 1 << 24)
        check_int("burn_in", burn_in, 0, 1 << 24)
        run = self.anneal([(beta, burn_in + samples)], record_every=1)
        return run.trajectory[burn_in:]


# --- Replicas: many chains on one core -----------------------------------------------------------

def run_replicas(model: PBitModel | HybridModel, schedule, seeds, initial, *, record: int = 0,
                 backend: str = "rtl", port: str | None = None, simulator: str = "verilator",
                 progress=None) -> PBitRun:
    """Anneal replica ``r`` from ``initial[r]`` with LFSR seeds ``seeds[r]`` through
    ``schedule``, one replica after another on one core (one simulation, or one board, for
    all), every sweep recorded; the runs gathered into the golden model's
    :class:`~spinemu.sim.golden.pbit.PBitRun` (``trajectory`` every ``record``-th sweep).

    The rtl backend builds a core whose schedule holds every step; a board must carry a
    :class:`~spinemu.gateware.pbit_fabric.PBitFabric` of ``model``'s config and topology with
    the default schedule depth (what ``spinemu build`` makes of the graph), so the schedule may
    have at most that many steps. A :class:`~spinemu.sim.golden.hybrid.HybridModel` runs on a
    :class:`~spinemu.gateware.hybrid_fabric.HybridFabric` of its tile, config and colouring.
    ``progress(done, total)`` is called after every replica.
    """
    steps = check_schedule(model.config, schedule)
    if sum(k for _, k in steps) < 1:
        raise ConfigError("the schedule has no sweep; allowed at least one")
    depth = max(len(steps), 1) if backend == "rtl" else DEFAULT_SCHEDULE_DEPTH
    if isinstance(model, HybridModel):
        fabric = HybridFabric(model.tile, model.config, model.topology.colours,
                              schedule_depth=depth)
        J, h = np.array([model.J[i, j] for i, j in fabric.topology.edges]), model.model.h
    else:
        fabric = PBitFabric(model.config, model.topology, schedule_depth=depth)
        J, h = model.J, model.h
    seeds, initial = np.asarray(seeds), np.asarray(initial)
    runs = []
    with Emulator(fabric, backend, port=port, simulator=simulator) as emulator:
        for r in range(len(seeds)):
            emulator.program(J, h, seeds[r], initial[r])
            runs.append(emulator.anneal(steps, record_every=1))
            if progress is not None:
                progress(r + 1, len(seeds))
    trajectory = np.stack([run.trajectory for run in runs], axis=1)
    return PBitRun(
        states=np.stack([run.state for run in runs]), lfsr=np.stack([run.lfsr for run in runs]),
        energy=np.array([run.energy for run in runs], np.int64),
        best_energy=np.array([run.best_energy for run in runs], np.int64),
        best_state=np.stack([run.best_state for run in runs]),
        energies=np.stack([run.energies for run in runs], axis=1),
        trajectory=trajectory[record - 1::record] if record else None)
