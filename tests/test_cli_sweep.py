"""``spinemu sweep``: a serial run and its rerun, and bad specs and options as one-line errors
with exit status 2 before any work."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from spinemu.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


SPEC = """[sweep]
name = "tiny"
task = "sample"
seeds = 2
keep = ["kl", "mean_energy"]
data_dir = "graphs"
[fixed]
samples = 2000
replicas = 20
burn_in = 10
[axes]
beta = [0.2, 0.5]
problem = ["g10"]
"""


def test_a_serial_sweep_and_its_rerun(graph_dir, text_file, tmp_path):
    spec = text_file(SPEC, name="tiny.toml")
    first = run("sweep", spec, "-o", tmp_path / "out", "--serial")
    assert first.exit_code == 0, first.output
    assert "4 (0 reused, 4 computed, 0 failed)" in first.output
    assert (tmp_path / "out" / "results.parquet").is_file()
    assert (tmp_path / "out" / "plot_beta.png").is_file()
    again = run("sweep", spec, "-o", tmp_path / "out", "--workers", "0")
    assert again.exit_code == 0, again.output
    assert "4 (4 reused, 0 computed, 0 failed)" in again.output


@pytest.mark.parametrize("change, options, message", [
    ("beta = [0.2, 0.5]", [], r"axes\.beta = -1\.0 is out of range; allowed 0\.0\.\.1000000000\.0"),
    ("problem", [], r"axes\.problme is not a parameter of task 'sample'; allowed \[.*\]"),
    ('task = "sample"', [], r"sweep\.task = 'fit' is not a task; allowed \['anneal', 'map', "
                            r"'rtl', 'sample'\]"),
    (None, ["--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "0.5"],
     r"--scheduler = 'tcp://127\.0\.0\.1:9' does not answer within 0\.5 s \(\w+\); start one "
     r"with dask scheduler \(docs/sweeps\.md\)"),
    (None, ["--scheduler", "127.0.0.1:8786"],
     r"--scheduler = '127\.0\.0\.1:8786' is not a scheduler address; expected tcp://HOST:PORT"),
    (None, ["--serial", "--workers", "2"], r"--serial with --workers 2; --serial is --workers 0"),
    (None, ["--workers", "-1"], r"--workers = -1 is out of range; allowed 0\.\.1024"),
])
def test_bad_specs_and_options_are_one_line_errors(graph_dir, text_file, tmp_path, change,
                                                   options, message):
    replacement = {"beta = [0.2, 0.5]": "beta = [0.2, -1.0]", "problem": "problme",
                   'task = "sample"': 'task = "fit"'}
    text = SPEC.replace(change, replacement[change], 1) if change else SPEC
    spec = text_file(text, name="bad.toml")
    result = run("sweep", spec, "-o", tmp_path / "out", *options)
    assert result.exit_code == 2, result.output
    assert re.fullmatch(f"error: {message}\n", result.output), result.output
    assert not (tmp_path / "out").exists()
