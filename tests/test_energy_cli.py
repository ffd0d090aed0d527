"""``spinemu estimate``: tables and plots for a plan and for a Max-Cut graph, one-line errors
for bad tech files."""

from __future__ import annotations

import re

import numpy as np
from click.testing import CliRunner

from spinemu.cli import main

from cases import random_plan


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_estimate_a_plan_prints_components_baseline_and_writes_plots(tmp_path):
    plan = random_plan(np.random.default_rng(4), layers=2, max_features=12, max_rows=5,
                       max_cols=4)
    plan.save(tmp_path / "plan")
    result = run("estimate", str(tmp_path / "plan"), "--vectors", "8", "--plots",
                 str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    for text in ("cell reads", "ADC", "TOPS/W", "digital, weights from SRAM", "random codes"):
        assert text in result.output
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "components.png", "tops_vs_adc_bits.png", "tops_vs_tile.png"]


def test_estimate_a_graph_prints_flips_per_joule(graph_dir):
    result = run("estimate", str(graph_dir / "g10.txt"), "--sweeps", "5", "--replicas", "2",
                 "--pbit", "cmos")
    assert result.exit_code == 0, result.output
    for text in ("LFSR + tanh LUT", "flips per joule", "digital, couplings from SRAM"):
        assert text in result.output


def test_a_bad_tech_file_is_one_line_naming_the_field(tmp_path, graph_dir):
    from importlib import resources

    text = resources.files("spinemu.energy").joinpath("tech", "sot_mram_28nm.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('value = "1 fJ", low = "0.05 fJ"', 'value = "1 fV", low = '
                                                                   '"0.05 fJ"'))
    result = CliRunner().invoke(main, ["estimate", str(graph_dir / "g10.txt"), "--tech",
                                       str(bad)])
    assert result.exit_code == 2
    assert re.fullmatch(r"error: cell\.read_energy = '1 fV': fV is not a unit understood; "
                        r"allowed a number and one of aJ, fJ, pJ, nJ, uJ, mJ, J\n",
                        result.output)
