# amaranth: UnusedElaboratable=no
"""CLI of the host link and the boards: regmap, board status, board sim, build; one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess

import numpy as np
import pytest

from spinemu.config import PBitConfig, TileConfig
from spinemu.gateware.core import link_regmap
from spinemu.gateware.fabrics import NetworkFabric, TileFabric, pbit_fabric
from spinemu.ising import read_gset

from cases import random_plan


def spinemu(*args, cwd):
    env = {**os.environ, "COLUMNS": "200"}   # rich tables wrap at 80 columns without a tty
    return subprocess.run(["spinemu", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600, env=env)


def test_regmap_json_is_the_fabric_map(tmp_path):
    config = TileConfig(rows=12, cols=9, lanes=3, cell_bits=6)
    (tmp_path / "t.toml").write_text(config.to_toml())
    result = spinemu("regmap", "t.toml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout)
    assert described == link_regmap(TileFabric(config)).describe()
    table = spinemu("regmap", "t.toml", cwd=tmp_path)
    assert "weights" in table.stdout and "0x01000000" in table.stdout


def test_regmap_of_plans_graphs_and_the_ulx3s_default(tmp_path):
    """A plan folder gives the network's map, a G-set graph and a p-bit .toml the core's, and
    --board ulx3s-85f the composite default (network and p-bit regions)."""
    plan = random_plan(np.random.default_rng(5), layers=2, max_features=9, max_rows=4,
                       max_cols=4)
    plan.save(tmp_path / "plan")
    (tmp_path / "ring.txt").write_text("5 5\n1 2 1\n2 3 1\n3 4 1\n4 5 1\n5 1 1\n")
    (tmp_path / "p.toml").write_text('graph = "ring.txt"\n[pbit]\nupdate_units = 2\n')
    ring = read_gset(tmp_path / "ring.txt")
    for fabric, expected in [
        ("plan", NetworkFabric(plan.config)),
        ("ring.txt", pbit_fabric(ring)),
        ("p.toml", pbit_fabric(ring, PBitConfig(update_units=2))),
    ]:
        result = spinemu("regmap", fabric, "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == link_regmap(expected).describe(), fabric
    result = spinemu("regmap", "--board", "ulx3s-85f", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [r["name"] for r in json.loads(result.stdout)["regions"]]
    assert names[:4] == ["status", "net_images", "net_x", "net_z"]
    assert "pbit_couplings" in names and "pbit_states" in names


@pytest.mark.parametrize("args, message", [
    (["build", "--board", "ulx3s", "-o", "x"],
     r"^error: board = 'ulx3s' is not supported; allowed \['icebreaker', 'tangnano9k', "
     r"'ulx3s-85f'\]$"),
    (["board", "sim", "nosuch"], r"^error: board = 'nosuch' is not supported; allowed"),
    (["board", "status", "--port", "/nonexistent/tty"],
     r"^error: port '/nonexistent/tty' does not open"),
    (["regmap", "plan"], r"^error: plan is not a plan: network.toml is missing$"),
    (["regmap", "weights.csv"], r"^error: fabric 'weights.csv' is a \.csv; allowed: a tile "
                                r"config \(\.toml with \[tile\], or \.json\), a plan folder"),
    (["regmap", "pbit.toml"], r"^error: fabric 'pbit.toml' has a \[pbit\] table but no "
                              r"graph = FILE; allowed: "),
    (["regmap", "--board", "nosuch"], r"^error: board = 'nosuch' is not supported; allowed"),
])
def test_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "plan").mkdir()
    (tmp_path / "weights.csv").write_text("1,2\n")
    (tmp_path / "pbit.toml").write_text("[pbit]\nupdate_units = 2\n")
    result = spinemu(*args, cwd=tmp_path)
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.match(message, result.stderr.strip()), result.stderr


@pytest.mark.slow
def test_fabric_that_does_not_fit_is_refused_before_place_and_route(tmp_path):
    config = TileConfig(rows=512, cols=256, cell_bits=8, lanes=16)   # 1 Mbit of weights
    (tmp_path / "big.toml").write_text(config.to_toml())
    result = spinemu("build", "big.toml", "--board", "icebreaker", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2, result
    assert re.match(r"^error: does not fit iCE40UP5K: .*BRAM \d+ used of 30", result.stderr.strip())
    assert not (tmp_path / "out" / "top.asc").exists()
