"""The README's Python example runs as written (it asserts RTL equals golden itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spinemu.sim.runner import available_simulators

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_one_python_example_on_the_public_api():
    blocks = python_blocks()
    assert len(blocks) == 1
    assert "from spinemu import Emulator" in blocks[0]


@pytest.mark.skipif("verilator" not in available_simulators(), reason="needs Verilator")
def test_readme_python_example_runs(capsys):
    exec(compile(python_blocks()[0], str(README), "exec"), {"__name__": "readme"})
    energies = capsys.readouterr().out
    assert energies.strip(), "the example prints the anneal's best energy and energies"
