"""``spinemu demo``: the fabric end to end on built-in defaults and bundled data.

Each step is a function that returns its results; the CLI prints them. ``status(text)`` is
called before each long part (the CLI shows it in a spinner).

1. :func:`tile_step`: the default crossbar tile, random images and inputs programmed, read back
   and run through :class:`spinemu.Emulator` on the rtl backend on every simulator given,
   against its golden backend.
2. :func:`network_step`: the bundled digits MLP mapped onto 128x128 tiles without retraining;
   float against emulated accuracy; held-out inputs through the network on the rtl backend
   against golden.
3. :func:`pbit_step`: Boltzmann sampling of a 10-spin problem against its exact distribution
   (many chains at once on the golden model: the Emulator runs one chain per core), and the
   chains of a random Max-Cut anneal on the golden and rtl backends.
4. :func:`virtual_board_step`: the default tile on the virtual board (its board top under
   Verilator on a pseudo-terminal) through the board backend, against golden.
5. :func:`build_step`: the default tile's iCEBreaker bitstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.checks import (
    NetworkCheck,
    TileCheck,
    check_network,
    check_tile,
    write_tile,
    write_tile_dump,
)
from spinemu.config import TileConfig

__all__ = ["tile_step", "network_step", "NetworkStep", "pbit_step", "PBitStep", "anneal_chains",
           "virtual_board_step", "build_step"]


def _quiet(text: str) -> None:
    pass


def tile_step(folder: Path, simulators, vectors: int, seed: int, status=_quiet
              ) -> list[TileCheck]:
    """The default tile's HDL written into ``folder``, then one check per simulator, each
    dumped to ``folder/demo_SIMULATOR.npz``."""
    config = TileConfig()
    status("generating the default tile")
    write_tile(config, folder)
    checks = []
    for simulator in simulators:
        status(f"the default tile on the rtl backend, {simulator}")
        check = check_tile(config, vectors=vectors, seed=seed, backend="rtl",
                           simulator=simulator)
        write_tile_dump(Path(folder) / f"demo_{simulator}.npz", check)
        checks.append(check)
    return checks


@dataclass
class NetworkStep:
    report: object               # spinemu.mapper.MapReport: float against emulated metric
    test_inputs: int             # held-out inputs the accuracy was measured on
    check: NetworkCheck          # the first inputs on the rtl backend against golden


def network_step(folder: Path, vectors: int, status=_quiet) -> NetworkStep:
    """The bundled digits MLP mapped (the plan saved to ``folder/digits_plan``) and its first
    ``vectors`` held-out inputs through the network on the rtl backend (Verilator)."""
    from spinemu.mapper import map_model
    from spinemu.models import load_dataset

    data = load_dataset("digits")
    status("mapping the bundled digits MLP")
    result = map_model("digits", data.calibration(256), data.test_x, data.test_y)
    result.save(Path(folder) / "digits_plan")
    x = result.mapping.input_codes(data.test_x[:vectors])
    status("the mapped network on the rtl backend, verilator")
    check = check_network(result.plan, x, backend="rtl", simulator="verilator",
                          source=f"first {vectors} held-out inputs of digits")
    return NetworkStep(result.report, len(data.test_x), check)


@dataclass
class PBitStep:
    n: int                       # spins of the sampled problem
    sampled: object              # spinemu.ising.SampleResult (beta, states, kl)
    graph: object                # the Max-Cut graph annealed
    sweeps: int
    replicas: int
    runs: dict                   # backend -> one spinemu.link.pbit_client.ChainRun per replica
    best_cut: float              # over the replicas, golden
    same: bool                   # rtl trajectories, energies, best states and LFSRs equal golden's


def anneal_chains(setup, backend: str, *, port=None, simulator: str = "verilator") -> list:
    """The chains of an anneal's ``setup`` (a :class:`spinemu.ising.AnnealResult`: its config,
    colouring, quantized problem, schedule, seeds and initial states), one after another on one
    p-bit core through :class:`spinemu.Emulator`, every sweep recorded."""
    from spinemu import Emulator

    runs = []
    with Emulator((setup.config, setup.topology), backend, port=port,
                  simulator=simulator) as emulator:
        for seeds, initial in zip(setup.seeds, setup.initial, strict=True):
            emulator.program(setup.quantized.J, setup.quantized.h, seeds, initial)
            runs.append(emulator.anneal(setup.schedule, record_every=1))
    return runs


def _same_chains(a: list, b: list) -> bool:
    return all(np.array_equal(getattr(x, name), getattr(y, name))
               for x, y in zip(a, b, strict=True)
               for name in ("trajectory", "energies", "best_state", "best_energy", "lfsr"))


def pbit_step(seed: int, status=_quiet) -> PBitStep:
    """A 10-spin problem sampled at beta 0.15 (200,000 samples from 100 chains on the golden
    model, :func:`spinemu.ising.sample`); a random 48-node Max-Cut annealed (40 sweeps in 4
    steps, 2 chains) on the golden and rtl backends of :class:`spinemu.Emulator`."""
    from spinemu import ising

    rng = np.random.default_rng(seed)
    n = 10
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    edges = pairs[rng.random(len(pairs)) < 0.4]
    problem = ising.IsingProblem(n, edges, rng.integers(-7, 8, len(edges)).astype(float),
                                 rng.integers(-3, 4, n).astype(float), "demo")
    status("sampling a 10-spin problem on the golden p-bit model")
    sampled = ising.sample(problem, beta=0.15, samples=200_000, seed=seed)
    pairs = np.array([(i, j) for i in range(48) for j in range(i + 1, 48)])
    cut_edges = pairs[rng.random(len(pairs)) < 0.15]
    graph = ising.MaxCut(48, cut_edges, np.ones(len(cut_edges)), "random 48-node graph")
    sweeps, replicas = 40, 2
    # the anneal's quantization, colouring, schedule and seeds (and its chains on the golden
    # model at once, a third opinion)
    setup = ising.anneal(graph, sweeps=sweeps, steps=4, replicas=replicas, seed=seed, record=1)
    runs = {}
    for backend in ("golden", "rtl"):
        status(f"annealing a 48-node Max-Cut on the {backend} backend")
        runs[backend] = anneal_chains(setup, backend)
    same = (_same_chains(runs["golden"], runs["rtl"])
            and all(np.array_equal(run.trajectory, setup.run.trajectory[:, r])
                    for r, run in enumerate(runs["golden"])))
    best_cut = float(graph.cut(np.stack([run.best_state for run in runs["golden"]])).max())
    return PBitStep(n, sampled, graph, sweeps, replicas, runs, best_cut, same)


def virtual_board_step(vectors: int, seed: int, status=_quiet) -> TileCheck:
    """The default fabric's tile on the virtual board through the board backend, against
    golden."""
    from spinemu.gateware.fabrics import default_fabric
    from spinemu.sim.vboard import fabric_board

    fabric = default_fabric()
    status("building the virtual board (tile + host link, UART pins, Verilator)")
    board = fabric_board(fabric)
    with board:
        status(f"driving the virtual board on {board.port}")
        return check_tile(fabric.config, vectors=vectors, seed=seed, backend="board",
                          port=board.port, fabric=fabric)


def build_step(folder: Path, status=_quiet):
    """The default fabric's iCEBreaker bitstream in ``folder/icebreaker``: its
    :class:`~spinemu.gateware.report.BuildReport`."""
    from spinemu.gateware.build import build
    from spinemu.gateware.fabrics import resolve_fabric

    status("iCEBreaker: starting")
    return build("icebreaker", resolve_fabric(None), Path(folder) / "icebreaker",
                 progress=status)
