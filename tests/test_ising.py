"""spinemu.ising as a package (every public name re-exported, loaded below the API) and the
p-bit commands built on it (spinemu.cli_pbit: anneal, sample, the dump)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from spinemu import emulator, ising
from spinemu.cli_pbit import DUMP_KEYS, anneal, sample
from spinemu.config import ConfigError, PBitConfig, Topology
from spinemu.ising import all_states, read_gset
from spinemu.sim.golden.pbit import PBitModel, energy

#: The module of each name ``spinemu.ising`` exports (what it held when it was one module, and
#: the torus generator, G-set writer and RBMs added since).
MODULES = {
    "problem": ("IsingProblem", "MaxCut", "ising_to_maxcut", "toroidal_spin_glass"),
    "formats": ("read_gset", "write_gset", "read_ising_json", "load_problem"),
    "scaling": ("DEFAULT_CONFIG", "Quantized", "quantize"),
    "colouring": ("STRATEGIES", "colour", "tabu_colours"),
    "schedule": ("SCHEDULES", "beta_code", "linear_schedule", "geometric_schedule",
                 "make_schedule", "default_beta_range"),
    "run": ("BACKENDS", "build_model", "check_backend", "run_backend", "AnnealResult", "anneal",
            "SampleResult", "sample", "RBM_CONFIG", "sample_rbm"),
    "rbm": ("RBM", "rbm_from_sklearn", "PSEUDO_LIKELIHOOD_DRAWS", "Comparison",
            "pseudo_likelihood", "sklearn_gibbs", "write_grid"),
    "exact": ("EXACT_MAX_N", "all_states", "state_index", "exact_distribution",
              "kl_divergence"),
}


@pytest.mark.parametrize("module", MODULES)
def test_every_name_is_re_exported(module):
    source = importlib.import_module(f"spinemu.ising.{module}")
    assert set(source.__all__) == set(MODULES[module])
    for name in MODULES[module]:
        assert getattr(ising, name) is getattr(source, name), name
    assert set(ising.__all__) == {name for names in MODULES.values() for name in names}


def test_backends_are_the_emulators():
    assert ising.BACKENDS is emulator.BACKENDS == ("golden", "rtl", "board")
    with pytest.raises(AttributeError, match=r"^module 'spinemu\.ising' has no attribute 'x'$"):
        ising.x  # noqa: B018


def test_problems_load_without_the_api():
    """The gateware colours graphs with spinemu.ising, and the API runs on gateware: importing
    the package must not import the API (spinemu.ising.run does, on first use)."""
    code = ("import sys, spinemu.ising; assert 'spinemu.emulator' not in sys.modules; "
            "spinemu.ising.anneal; assert 'spinemu.emulator' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- CLI ----------------------------------------------------------------------------------------

def invoke(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def small_graph(text_file, random_graph) -> Path:
    graph = random_graph(np.random.default_rng(10), 14, 0.4, integer=True)
    lines = [f"{graph.n} {len(graph.edges)}"]
    lines += [f"{i + 1} {j + 1} {int(w)}" for (i, j), w in zip(graph.edges, graph.weights,
                                                                strict=True)]
    return text_file("\n".join(lines) + "\n", "small.txt")


def test_cli_anneal_prints_cut_energy_time_and_rate(small_graph):
    result = invoke(anneal, small_graph, "--sweeps", 200, "--replicas", 3, "--seed", 4)
    assert result.exit_code == 0, result.output
    for label in ("best cut", "mean cut", "best energy", "wall time", "spin updates/s",
                  "colours"):
        assert label in result.output
    graph = read_gset(small_graph)
    assert f"{graph.cut(all_states(14)).max():g}" in result.output


def test_cli_dump_replays_independently(small_graph, tmp_path):
    dump = tmp_path / "run.npz"
    result = invoke(anneal, small_graph, "--sweeps", 40, "--replicas", 2, "--seed", 9,
                    "--schedule", "linear", "--beta-start", 0.2, "--beta-end", 2,
                    "--update-units", 3, "--dump", dump)
    assert result.exit_code == 0, result.output
    with np.load(dump) as data:
        assert set(data.files) == set(DUMP_KEYS) == set(json.loads(str(data["keys"])))
        fields = {name: int(data[name]) for name in PBitConfig.__dataclass_fields__}
        config = PBitConfig(**fields)
        assert config == PBitConfig.from_json(str(data["config"])) and config.update_units == 3
        topology = Topology(int(data["n"]), tuple(map(tuple, data["edges"].tolist())),
                            tuple(data["colours"].tolist()))
        run = PBitModel(config, topology, data["J"], data["h"]).run(
            [tuple(step) for step in data["schedule"].tolist()], data["seeds"], data["initial"],
            record=True)
        assert (run.trajectory == data["states"]).all() and data["states"].shape == (40, 2, 14)
        assert (run.energies == data["energies"]).all() and (run.lfsr == data["lfsr"]).all()
        J = np.zeros((14, 14), dtype=np.int64)
        i, j = data["edges"].T
        J[i, j] = J[j, i] = data["J"]
        assert (energy(J, data["h"], data["best_state"]) == data["best_energy"]).all()
        assert (data["J"] == data["problem_J"] * data["scale"]).all() and int(data["maxcut"])


def test_cli_sample_compares_with_exact(text_file):
    path = text_file(json.dumps({"n": 4, "J": [[0, 1, 1], [1, 2, -1], [2, 3, 0.5]],
                                 "h": [0.5, 0, 0, -0.5]}), "p.json")
    result = invoke(sample, path, "--beta", 0.5, "--samples", 20000, "--replicas", 200)
    assert result.exit_code == 0, result.output
    for label in ("KL(sampled || exact)", "exact mean energy", "distinct states", "sampled",
                  "exact"):
        assert label in result.output


def test_cli_hybrid_anneals_and_samples_as_the_pbit_core(small_graph):
    """``--hybrid`` runs on the hybrid fabric, whose exact tile gives the p-bit core's chains:
    the same best energy, named in the title."""
    outputs = [invoke(anneal, small_graph, "--sweeps", 50, *flag).output
               for flag in ((), ("--hybrid",))]
    best = [re.search(r"best energy\s*│\s*(-?[\d.]+)", text).group(1) for text in outputs]
    assert best[0] == best[1]
    assert "hybrid fabric" in outputs[1] and "hybrid fabric" not in outputs[0]
    result = invoke(sample, small_graph, "--beta", 0.5, "--samples", 2000, "--hybrid")
    assert result.exit_code == 0, result.output


def test_cli_errors_are_config_errors(small_graph):
    with pytest.raises(ConfigError, match=r"^coupling_bits = 1 is out of range; allowed "):
        invoke(anneal, small_graph, "--coupling-bits", 1)
    with pytest.raises(ConfigError, match=r"^update_units = 15 is out of range; allowed "
                                          r"1\.\.14 "):
        invoke(anneal, small_graph, "--sweeps", 5, "--update-units", 15)


def test_main_prints_one_line_errors(small_graph):
    from spinemu.cli import main

    if "anneal" not in main.commands:
        pytest.skip("spinemu.cli does not register the p-bit commands yet")
    result = CliRunner().invoke(main, ["anneal", str(small_graph), "--beta-end", "100"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: beta_end = 100 needs B = 819200, out of range; allowed B 0..65535 (beta_end "
        "0..7.99988 with beta_bits = 16, beta_frac = 7, lut_frac = 6, scale = 1)"]


def test_board_backend_errors_are_one_line(small_graph, tmp_path):
    """Without a port, or with a port that does not open: one line naming it, exit 2."""
    from spinemu.cli import main

    result = CliRunner().invoke(main, ["anneal", str(small_graph), "--backend", "board",
                                       "--steps", 4, "--sweeps", 8])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: port = None with backend 'board'; the board backend takes a port (a serial "
        "device or the virtual board's pty), the others none"]
    missing = tmp_path / "tty"
    result = CliRunner().invoke(main, ["sample", str(small_graph), "--beta", "0.5",
                                       "--backend", "board", "--port", str(missing)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: port {str(missing)!r} does not open: ")
    assert len(result.output.strip().splitlines()) == 1
