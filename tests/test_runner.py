"""spinemu.sim.runner: simulator builds and their cache (the Verilator runtime kept once)."""

from __future__ import annotations

import shutil

import numpy as np

from spinemu.config import TileConfig
from spinemu.sim import runner
from spinemu.sim.golden import tile_forward
from spinemu.sim.stimulus import random_images

from cases import random_config


def test_verilator_builds_of_a_kind_compile_the_runtime_once(tmp_path, monkeypatch):
    """Without ccache, the first Verilator build compiles Verilator's runtime and keeps the
    objects under ``verilator-runtime/``; the next design of the same kind compiles none of it,
    links the kept objects, and its simulation still equals golden bit for bit."""
    which = shutil.which
    monkeypatch.setattr(runner.shutil, "which",
                        lambda name, *args, **kw: None if name == "ccache" else which(name))
    monkeypatch.setenv("SPINEMU_CACHE", str(tmp_path))
    rng = np.random.default_rng(7)
    logs = []
    for rows, cols in [(3, 5), (4, 2)]:
        config = TileConfig(**{**random_config(rng, max_rows=8, max_cols=8).to_dict(),
                               "rows": rows, "cols": cols, "lanes": 1})
        g, x, shift, gain, offset = random_images(rng, config, batch=3)
        run = runner.run_tile(config, g, x, shift, gain, offset, simulator="verilator")
        assert (run.z == tile_forward(config, g, x, shift, gain, offset)).all(), run.log
        logs += [path.read_text() for path in tmp_path.glob("sim/verilator/*/build.log")
                 if path.read_text() not in logs]
    assert len(logs) == 2
    compiled = ["-o verilated.o" in log or "-o verilated_vpi.o" in log for log in logs]
    assert sorted(compiled) == [False, True]
    kept = {path.name for path in tmp_path.glob("verilator-runtime/*/verilated*.o")}
    assert {"verilated.o", "verilated_vpi.o"} <= kept
