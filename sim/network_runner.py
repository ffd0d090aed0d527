"""Run a whole mapped network's RTL under cocotb on Verilator or Icarus.

:func:`run_network` elaborates :class:`~spinemu.hdl.layer.Network` for a plan's config (images
are loaded at run time through the write stream, so one build serves every plan of the same
config), builds it once per configuration with :func:`spinemu.sim.runner.build` and runs the
testbench :mod:`spinemu.sim.network_tb`, which checks every output code against the golden model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np

from spinemu.config import ConfigError, check_image
from spinemu.plan import Plan

from .runner import build, check_simulator, run_test

__all__ = ["NetworkRun", "run_network"]

TOPLEVEL = "network"


@dataclass
class NetworkRun:
    """What one RTL simulation of a network returned."""

    a: np.ndarray            # [batch, outputs of the last layer] RTL output codes
    cycles: int              # clock cycles from the first input taken to the last output taken
    sim_seconds: float       # wall time of the clocked part, measured inside the simulator
    wall_seconds: float      # host wall time of build (when not cached) and simulation
    log: str                 # the simulator log's tail when the testbench's checker failed
    counts: dict | None = None  # with counters: the activity counters once drained

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.sim_seconds if self.sim_seconds > 0 else float("nan")


def run_network(plan: Plan, x, *, simulator: str = "verilator", stall: float = 0.0,
                seed: int = 0, counters: bool = False,
                optimise: bool | None = None) -> NetworkRun:
    """Simulate ``plan``'s network on input codes ``x[batch, inputs]`` (for a first layer that
    is a convolution, flat NHWC images).

    ``stall`` is the probability of a random idle cycle on every stream (seeded by ``seed``) to
    stress back-pressure; with 0 the streams run at full rate and ``cycles`` measures the design.
    ``counters`` builds the network with its activity counters (``Network(counters=True)``, a
    build of its own) and returns them, read once the network is drained, in ``counts``
    (:func:`spinemu.sim.counters.counter_values` form). ``optimise`` as
    :func:`spinemu.sim.runner.build`'s (False: a short run of a large network is done sooner).
    """
    from spinemu.hdl.layer import Network
    from spinemu.sim.designs import design_verilog

    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a Plan, not {type(plan).__name__}")
    if not 0.0 <= stall < 1.0:
        raise ConfigError(f"stall = {stall} is out of range; allowed 0 <= stall < 1")
    first = plan.config.layers[0]
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ConfigError(f"inputs must be 2-D [batch >= 1, {first.inputs}], "
                          f"got shape {x.shape}")
    x = check_image("inputs", x, (x.shape[0], first.inputs), *first.tile.input_range)
    check_simulator(simulator)

    started = time.perf_counter()
    verilog = design_verilog(Network, plan.config, counters=counters, name=TOPLEVEL)
    build_dir = build(verilog, TOPLEVEL, simulator, optimise=optimise)
    arrays = {f"layer{i}.{name}": getattr(image, name)
              for i, image in enumerate(plan.images) for name in image.NAMES}
    out = run_test(build_dir, TOPLEVEL, simulator, "spinemu.sim.network_tb", {
        "config": np.array(plan.config.to_toml()), "x": x, "seed": np.array(seed),
        "stall": np.array(stall), "counters": np.array(counters), **arrays,
        "expected": plan.model()(x),   # the testbench's scoreboard, computed here (golden)
    })
    counts = json.loads(str(out["counts"])) if "counts" in out else None
    return NetworkRun(a=out["a"], cycles=int(out["cycles"]), sim_seconds=float(out["sim_seconds"]),
                      wall_seconds=time.perf_counter() - started, log=str(out["log"]),
                      counts=counts)
