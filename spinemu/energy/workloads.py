"""The workloads ``spinemu estimate`` prices: a mapped plan's inferences or a p-bit anneal of an
Ising problem, their sweeps over ADC bits and tile sizes, and the FPGA emulation's own time
from a build report (docs/energy.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from spinemu.config import ConfigError, NetworkConfig, PBitConfig, Topology

from .activity import NetworkActivity, PBitActivity, anneal_activity, network_activity, retiled
from .estimate import Estimate, estimate_network, estimate_pbit
from .tech import Tech

__all__ = ["FpgaClock", "NetworkWorkload", "PBitWorkload", "Priced", "network_workload",
           "pbit_workload", "price_target",
           "adc_bits_sweep", "tile_size_sweep", "read_fpga_clock", "fpga_inference_time",
           "fpga_sweep_time"]


@dataclass(frozen=True)
class NetworkWorkload:
    """A plan, the input codes it ran and the activity the golden model counted."""

    config: NetworkConfig
    source: str
    activity: NetworkActivity


@dataclass(frozen=True)
class PBitWorkload:
    """An anneal (golden backend, every sweep recorded) and its activity."""

    config: PBitConfig
    topology: Topology
    source: str
    activity: PBitActivity
    best_cut: float | None


def network_workload(directory: str | Path, vectors: int = 64, data: str | None = None,
                     seed: int = 0) -> NetworkWorkload:
    """The plan in ``directory`` on ``vectors`` inputs: the arrays ``x`` of the ``.npz`` file
    ``data`` (input codes), else the plan's held-out inputs or random codes
    (:func:`spinemu.checks.plan_inputs`)."""
    from spinemu.checks import plan_inputs
    from spinemu.config import read_npz
    from spinemu.plan import Plan

    plan = Plan.load(directory)
    if data is not None:
        arrays = read_npz(data, "input file")
        if "x" not in arrays:
            raise ConfigError(f"{data} holds no array x (input codes); it holds "
                              f"{sorted(arrays)}")
        x, source = arrays["x"][:vectors], f"{min(vectors, len(arrays['x']))} inputs of {data}"
    else:
        x, source = plan_inputs(plan, Path(directory), vectors, seed)
    return NetworkWorkload(plan.config, source, network_activity(plan.model(), x))


def pbit_workload(path: str | Path, sweeps: int = 100, replicas: int = 4, seed: int = 0,
                  config: PBitConfig | None = None) -> PBitWorkload:
    """An anneal of the problem in ``path`` (G-set/rudy or Ising JSON) on the golden backend,
    every sweep recorded so that the state changes are counted."""
    from spinemu.ising import DEFAULT_CONFIG, anneal, load_problem

    if sweeps < 1 or replicas < 1:
        raise ConfigError(f"sweeps = {sweeps}, replicas = {replicas}: both must be >= 1")
    result = anneal(load_problem(path), sweeps=sweeps, replicas=replicas, seed=seed,
                    config=config or DEFAULT_CONFIG, record=1)
    return PBitWorkload(result.config, result.topology,
                        f"{Path(path).name}: {sweeps} sweeps x {replicas} replicas",
                        anneal_activity(result), result.best_cut)


@dataclass(frozen=True)
class Priced:
    """A workload priced: the estimate, its bounds (every ranged energy constant at its high
    end, then its low end: :meth:`Tech.energies_at`) and the FPGA emulation's board and seconds
    per unit (None without a build report)."""

    work: NetworkWorkload | PBitWorkload
    estimate: Estimate
    bounds: tuple[Estimate, Estimate]
    fpga: tuple[str, float] | None


def price_target(target: str | Path, tech: Tech, *, vectors: int = 64, data: str | None = None,
                 sweeps: int = 100, replicas: int = 4, pbit: str = "smtj", seed: int = 0,
                 clock: FpgaClock | None = None) -> Priced:
    """Price ``target``: a plan folder (:func:`network_workload`, per inference) or an Ising or
    Max-Cut file (:func:`pbit_workload`, per sweep of one chain with ``pbit`` p-bits)."""
    name = Path(target).name
    if Path(target).is_dir():
        work = network_workload(target, vectors, data, seed)

        def price(t: Tech) -> Estimate:
            return estimate_network(t, work.activity, f"{name} on {tech.name}")

        fpga = None if clock is None else (clock.board, fpga_inference_time(work.config, clock))
    else:
        work = pbit_workload(target, sweeps, replicas, seed)

        def price(t: Tech) -> Estimate:
            return estimate_pbit(t, work.activity, pbit, work.config.beta_bits,
                                 f"{name}, {pbit} p-bits on {tech.name}")

        fpga = None if clock is None else (clock.board,
                                           fpga_sweep_time(work.config, work.topology, clock))
    return Priced(work, price(tech), (price(tech.energies_at("high")),
                                      price(tech.energies_at("low"))), fpga)


def adc_bits_sweep(tech: Tech, activity: NetworkActivity, bits) -> list[Estimate]:
    """The network re-priced with every tile's ADC at each of ``bits`` (same inputs)."""
    return [estimate_network(tech, NetworkActivity(tuple(retiled(a, adc_bits=b)
                                                         for a in activity.layers)))
            for b in bits]


def tile_size_sweep(tech: Tech, activity: NetworkActivity, sizes) -> list[Estimate]:
    """The network re-priced on square tiles of each of ``sizes`` rows and columns."""
    return [estimate_network(tech, NetworkActivity(tuple(retiled(a, rows=s, cols=s)
                                                         for a in activity.layers)))
            for s in sizes]


@dataclass(frozen=True)
class FpgaClock:
    """The clock a board build runs at: its constraint when met, else nextpnr's Fmax."""

    board: str
    mhz: float


def read_fpga_clock(path: str | Path) -> FpgaClock:
    """The clock of a build report (``report.json`` of ``spinemu build``)."""
    try:
        data = json.loads(Path(path).read_text())
        clocks = data["clocks"]
        board = data["board"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path} is not a build report: {error}") from None
    if not clocks:
        raise ConfigError(f"{path}: clocks is empty (synthesis only, nothing placed and "
                          "routed); allowed a report of a placed and routed build")
    clock = clocks[0]
    return FpgaClock(board, min(float(clock["constraint_mhz"]), float(clock["achieved_mhz"])))


def fpga_inference_time(config: NetworkConfig, clock: FpgaClock) -> float:
    """Seconds per inference of the emulator in steady state (the RTL's cycles per vector)."""
    from spinemu.hdl.layer import Network

    return Network.cycles_per_vector(config) / (clock.mhz * 1e6)


def fpga_sweep_time(config: PBitConfig, topology: Topology, clock: FpgaClock) -> float:
    """Seconds per sweep of the emulated p-bit core (the RTL's cycles per sweep)."""
    from spinemu.hdl.pbit import cycles_per_sweep

    return cycles_per_sweep(topology, config.update_units, config.update_lanes) / (
        clock.mhz * 1e6)

