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


def test_estimate_reads_input_codes_and_a_build_report(tmp_path, graph_dir):
    import json
    from pathlib import Path

    plan = random_plan(np.random.default_rng(6), layers=1, max_features=10, max_rows=4,
                       max_cols=4)
    plan.save(tmp_path / "plan")
    first = plan.config.layers[0]
    x = np.random.default_rng(1).integers(*first.tile.input_range, size=(5, first.inputs),
                                          endpoint=True)
    np.savez(tmp_path / "x.npz", x=x)
    report = Path(__file__).parents[1] / "bench" / "results" / "energy" / \
        "g14_ulx3s_report.json"
    result = run("estimate", str(tmp_path / "plan"), "--data", str(tmp_path / "x.npz"),
                 "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "5 inputs of" in result.output and "FPGA emulation (ulx3s-85f)" in result.output
    assert "inferences/s" in result.output
    (tmp_path / "bad.json").write_text(json.dumps({"board": "x"}))
    bad = CliRunner().invoke(main, ["estimate", str(graph_dir / "g10.txt"), "--report",
                                    str(tmp_path / "bad.json")])
    assert bad.exit_code == 2
    assert re.fullmatch(r"error: .*bad\.json is not a build report: 'clocks'\n", bad.output)
