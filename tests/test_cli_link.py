# amaranth: UnusedElaboratable=no
"""CLI of the host link and the boards: regmap, board status, board sim, build; one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from spinemu.config import TileConfig
from spinemu.gateware.core import link_regmap
from spinemu.gateware.fabrics import TileFabric


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


@pytest.mark.parametrize("args, message", [
    (["build", "--board", "ulx3s", "-o", "x"],
     r"^error: board = 'ulx3s' is not supported; allowed \['icebreaker', 'tangnano9k', "
     r"'ulx3s-85f'\]$"),
    (["board", "sim", "nosuch"], r"^error: board = 'nosuch' is not supported; allowed"),
    (["board", "status", "--port", "/nonexistent/tty"],
     r"^error: port '/nonexistent/tty' does not open"),
    (["regmap", "plan"], r"^error: fabric 'plan' is a plan folder: mapped networks are not on "
                         r"the host link yet; allowed: a tile config \(\.toml or \.json\)$"),
])
def test_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "plan").mkdir()
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
