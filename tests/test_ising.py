"""spinemu.ising and the p-bit commands: files, Max-Cut <-> Ising, scaling, colouring,
schedules, anneal and sample, the CLI and its dump."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from spinemu import ising
from spinemu.cli_pbit import DUMP_KEYS, anneal, sample
from spinemu.config import ConfigError, PBitConfig, Topology
from spinemu.ising import (
    DEFAULT_CONFIG,
    STRATEGIES,
    IsingProblem,
    MaxCut,
    all_states,
    beta_code,
    colour,
    default_beta_range,
    exact_distribution,
    geometric_schedule,
    ising_to_maxcut,
    kl_divergence,
    linear_schedule,
    load_problem,
    make_schedule,
    quantize,
    read_gset,
    read_ising_json,
    state_index,
)
from spinemu.sim.golden.pbit import PBitModel, energy

GSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "gset"


def random_graph(rng, n: int, density: float = 0.5, integer: bool = False) -> MaxCut:
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < density]
    edges = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    weights = (rng.integers(-3, 4, len(edges)) if integer
               else rng.normal(size=len(edges))).astype(np.float64)
    return MaxCut(n, edges, weights, "random")


def write(tmp_path: Path, text: str, name: str = "g.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- G-set / rudy files -------------------------------------------------------------------------

@pytest.mark.skipif(not GSET.is_dir(), reason="shared/data/gset is not beside the clone")
def test_gset_files_parse():
    import csv

    with open(GSET / "best_known.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        graph = read_gset(GSET / f"{row['instance']}.txt")
        assert (graph.n, len(graph.edges)) == (int(row["nodes"]), int(row["edges"]))
        assert set(np.unique(graph.weights)) <= {-1.0, 1.0}
        assert (graph.edges[:, 0] < graph.edges[:, 1]).all() and graph.edges.max() < graph.n
    g1 = read_gset(GSET / "G1.txt")
    assert g1.name == "G1" and g1.total_weight == 19176 and tuple(g1.edges[0]) == (0, 559)


@pytest.mark.parametrize("text, message", [
    ("", r"^g\.txt: empty file; expected a header line 'N E'$"),
    ("4\n", r"^g\.txt line 1: bad header '4'; expected 'N E' \(nodes >= 1, edges >= 0\)$"),
    ("four 2\n", r"^g\.txt line 1: bad header 'four 2'; expected 'N E' "),
    ("0 0\n", r"^g\.txt line 1: bad header '0 0'; expected 'N E' "),
    ("4 2\n1 2 1\n2 5 1\n", r"^g\.txt line 3: node 5 is out of range; allowed 1\.\.4$"),
    ("4 1\n0 2 1\n", r"^g\.txt line 2: node 0 is out of range; allowed 1\.\.4$"),
    ("4 1\nx 2 1\n", r"^g\.txt line 2: node x is out of range; allowed 1\.\.4$"),
    ("4 2\n1 2 1\n\n3 3 1\n", r"^g\.txt line 4: self loop on node 3$"),
    ("4 3\n1 2 1\n2 3 1\n2 1 -1\n",
     r"^g\.txt line 4: duplicate edge 1-2 \(first on line 2\)$"),
    ("4 2\n1 2 1\n", r"^g\.txt line 1: header says 2 edges but the file has 1$"),
    ("4 1\n1 2 1\n3 4 1\n", r"^g\.txt line 1: header says 1 edges but the file has 2$"),
    ("4 1\n1 2 one\n", r"^g\.txt line 2: bad weight 'one'; expected a finite number$"),
    ("4 1\n1 2 nan\n", r"^g\.txt line 2: bad weight 'nan'; expected a finite number$"),
    ("4 1\n1 2\n", r"^g\.txt line 2: expected 'i j w', got '1 2'$"),
])
def test_bad_gset_files_name_the_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        read_gset(write(tmp_path, text))


def test_rudy_weights_may_be_real(tmp_path):
    graph = read_gset(write(tmp_path, "3 2\n1 2 0.5\n3 2 -2\n"))
    assert graph.edges.tolist() == [[0, 1], [1, 2]] and graph.weights.tolist() == [0.5, -2.0]


# --- Ising JSON ---------------------------------------------------------------------------------

@pytest.mark.parametrize("document, message", [
    ("{", r"^p\.json: malformed JSON: "),
    ("[]", r"^p\.json: expected an object with keys n, J, h$"),
    ('{"n": 2, "K": []}', r"^p\.json: unknown key\(s\) \['K'\]; allowed \['J', 'h', 'n'\]$"),
    ('{"n": 0}', r"^p\.json: n = 0 must be an integer >= 1$"),
    ('{"n": 2, "J": [[0, 1]]}', r"^p\.json: J\[0\] = \[0, 1\] must be \[i, j, w\]$"),
    ('{"n": 2, "J": [[0, 2, 1]]}', r"^p\.json: J\[0\]: node 2 is out of range; allowed 0\.\.1$"),
    ('{"n": 2, "J": [[1, 1, 1]]}', r"^p\.json: J\[0\]: self loop on node 1$"),
    ('{"n": 3, "J": [[0, 1, 1], [2, 0, 1], [1, 0, 2]]}',
     r"^p\.json: J\[2\]: duplicate coupling 0-1 \(first at J\[0\]\)$"),
    ('{"n": 2, "J": [[0, 1, "x"]]}', r"^p\.json: J\[0\]: weight 'x' must be a finite number$"),
    ('{"n": 2, "h": [1]}', r"^p\.json: h must be a list of n = 2 numbers$"),
    ('{"n": 2, "h": [1, null]}', r"^p\.json: h\[1\] = None must be a finite number$"),
])
def test_bad_ising_json_names_the_entry(tmp_path, document, message):
    with pytest.raises(ConfigError, match=message):
        read_ising_json(write(tmp_path, document, "p.json"))


def test_ising_json_and_load_problem(tmp_path):
    path = write(tmp_path, json.dumps({"n": 3, "J": [[2, 0, 1.5]], "h": [0, -1, 0.25]}),
                 "p.json")
    problem = load_problem(path)
    assert isinstance(problem, IsingProblem) and problem.edges.tolist() == [[0, 2]]
    assert problem.J.tolist() == [1.5] and problem.h.tolist() == [0, -1, 0.25]
    assert isinstance(load_problem(write(tmp_path, "2 1\n1 2 1\n")), MaxCut)


# --- Max-Cut <-> Ising ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_cut_is_total_weight_minus_energy_over_two(seed):
    rng = np.random.default_rng(seed)
    graph = random_graph(rng, 8)
    states = all_states(8)
    energies = graph.to_ising().energy(states)
    cuts = graph.cut(states)
    assert np.allclose(cuts, (graph.total_weight - energies) / 2)
    assert np.argmax(cuts) == np.argmin(energies)


@pytest.mark.parametrize("seed", range(5))
def test_ising_with_biases_becomes_maxcut_with_an_ancilla(seed):
    rng = np.random.default_rng(seed)
    base = random_graph(rng, 6).to_ising()
    problem = IsingProblem(6, base.edges, base.J, rng.normal(size=6))
    graph = ising_to_maxcut(problem)
    assert graph.n == 7
    states = all_states(7)
    relative = 1 - (states[:, :6] ^ states[:, 6:])  # m_i' = m_i m_ancilla
    assert np.allclose(problem.energy(relative), graph.total_weight - 2 * graph.cut(states))
    plain = ising_to_maxcut(base)
    assert plain.n == 6 and np.allclose(plain.weights, -base.J)


# --- Scaling to integers ------------------------------------------------------------------------

def test_integer_problems_that_fit_are_kept():
    graph = random_graph(np.random.default_rng(0), 9, integer=True)
    q = quantize(graph.to_ising(), DEFAULT_CONFIG)
    assert q.scale == 1 and q.max_rel_error == 0 and q.zeroed == 0
    assert (q.J == -graph.weights).all() and q.J.dtype == np.int64


def test_real_problems_are_scaled_with_the_error_reported():
    problem = IsingProblem(3, np.array([[0, 1], [1, 2]]), np.array([2.0, -0.01]),
                           np.array([0.5, 0.0, 0.3]))
    config = PBitConfig(coupling_bits=4, bias_bits=8)
    q = quantize(problem, config)
    assert q.scale == 7 / 2  # |J| <= 7 limits; biases would allow 127 / 0.5
    assert q.J.tolist() == [7, 0] and q.h.tolist() == [2, 0, 1]  # 1.75 -> 2, 1.05 -> 1
    values, codes = np.array([2.0, -0.01, 0.5, 0.3]), np.array([7, 0, 2, 1])
    error = np.abs(codes / q.scale - values) / np.abs(values)
    assert q.max_rel_error == error.max() == 1.0 and q.zeroed == 1  # -0.01 became 0
    wide = quantize(IsingProblem(2, np.array([[0, 1]]), np.array([300.0]), np.zeros(2)),
                    DEFAULT_CONFIG)
    assert wide.scale == 127 / 300 and wide.J.tolist() == [127]


# --- Colouring ---------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", STRATEGIES)
def test_colourings_are_proper(strategy):
    graph = random_graph(np.random.default_rng(3), 30, 0.3)
    topology = colour(graph.n, graph.edges, strategy)
    colours = np.array(topology.colours)
    assert (colours[graph.edges[:, 0]] != colours[graph.edges[:, 1]]).all()
    assert topology.num_colours == len(set(topology.colours))


def test_bad_colourings_are_refused():
    with pytest.raises(ConfigError, match=r"^colouring strategy = 'greedy' is not known; "):
        colour(3, [(0, 1)], "greedy")
    with pytest.raises(ConfigError, match=r"^colouring is not proper: edge \(1, 2\) joins two "
                                          r"nodes of colour 1$"):
        colour(3, [(0, 1), (1, 2)], colours=[0, 1, 1])


# --- Schedules --------------------------------------------------------------------------------

def test_geometric_and_linear_schedules():
    config = DEFAULT_CONFIG
    steps = geometric_schedule(config, 0.1, 3.0, 1000)
    assert sum(k for _, k in steps) == 1000 and len(steps) == 100
    codes = [code for code, _ in steps]
    assert codes[0] == beta_code(config, 0.1) and codes[-1] == beta_code(config, 3.0)
    assert all(b > a for a, b in zip(codes, codes[1:], strict=False))
    ratios = np.array(codes[1:]) / np.array(codes[:-1])
    assert np.allclose(ratios, (3.0 / 0.1) ** (1 / 99), rtol=0.01)
    line = linear_schedule(config, 0.0, 1.0, 10, steps=3)
    assert line == [(0, 4), (beta_code(config, 0.5), 3), (beta_code(config, 1.0), 3)]
    # Problem units: a problem held twice as large needs half the hardware beta.
    assert beta_code(config, 1.0, scale=2.0) == beta_code(config, 0.5) == 4096
    # Equal neighbouring codes merge into one step; sweeps are kept.
    assert make_schedule("linear", config, 0.5, 0.5, 7) == [(beta_code(config, 0.5), 7)]


@pytest.mark.parametrize("call, message", [
    (lambda: beta_code(DEFAULT_CONFIG, 9.0),
     r"^beta = 9 needs B = 73728, out of range; allowed B 0\.\.65535 \(beta 0\.\.7\.99988 with "
     r"beta_bits = 16, beta_frac = 7, lut_frac = 6, scale = 1\)$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, 0.5, 20.0, 10, scale=2.0),
     r"^beta_end = 20 needs B = 81920, out of range; allowed B 0\.\.65535 \(beta_end "
     r"0\.\.15\.9998 with beta_bits = 16, beta_frac = 7, lut_frac = 6, scale = 2\)$"),
    (lambda: geometric_schedule(DEFAULT_CONFIG, 0.0, 1.0, 10),
     r"^beta_start = 0 is out of range; allowed > 0 for a geometric schedule$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, -1.0, 1.0, 10),
     r"^beta_start = -1 is out of range; allowed >= 0$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, 0.0, 1.0, 0),
     r"^sweeps = 0 is out of range; allowed >= 1$"),
    (lambda: linear_schedule(DEFAULT_CONFIG, 0.0, 1.0, 5, steps=6),
     r"^steps = 6 is out of range; allowed 1\.\.5 \(sweeps\)$"),
    (lambda: make_schedule("cosine", DEFAULT_CONFIG, 0.1, 1.0, 5),
     r"^schedule = 'cosine' is not known; allowed \['geometric', 'linear'\]$"),
])
def test_bad_schedules_name_the_value(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_default_beta_range():
    graph = random_graph(np.random.default_rng(4), 12, integer=True)
    J = -graph.weights
    start, end = default_beta_range(J, np.zeros(12), 12, graph.edges)
    squares = np.zeros(12)
    np.add.at(squares, graph.edges.ravel(), np.repeat(J**2, 2))
    assert start == pytest.approx(1 / np.sqrt(squares.mean()))
    assert end == 3 / np.abs(J[J != 0]).min()
    with pytest.raises(ConfigError, match=r"^the problem has no non-zero coupling or bias"):
        default_beta_range(np.zeros(1), np.zeros(2), 2, [(0, 1)])


# --- Anneal and sample ------------------------------------------------------------------------

def test_anneal_finds_the_maximum_cut_of_a_small_graph():
    graph = random_graph(np.random.default_rng(5), 12, 0.5, integer=True)
    best = graph.cut(all_states(12)).max()
    result = ising.anneal(graph, sweeps=300, replicas=4, seed=1)
    assert result.best_cut == best
    assert result.spin_updates == 300 * 12 * 4 == result.run.spin_updates
    assert result.updates_per_second > 0 and result.wall_seconds > 0
    assert np.allclose(result.cuts, (graph.total_weight - result.energies) / 2)
    again = ising.anneal(graph, sweeps=300, replicas=4, seed=1)
    assert (again.run.best_state == result.run.best_state).all()


def test_anneal_refuses_what_does_not_fit():
    graph = random_graph(np.random.default_rng(6), 5, integer=True)
    with pytest.raises(ConfigError, match=r"^backend = 'fpga' is not known; allowed "
                                          r"\['golden', 'rtl', 'board'\]$"):
        ising.anneal(graph, sweeps=5, backend="fpga")
    with pytest.raises(ConfigError, match=r"^update_units = 6 is out of range; allowed 1\.\.5 "):
        ising.anneal(graph, sweeps=5, config=PBitConfig(update_units=6, beta_bits=16))
    with pytest.raises(ConfigError, match=r"^topology edges differ from the problem's edges$"):
        ising.anneal(graph, sweeps=5, topology=Topology(5, (), (0,) * 5))


def test_rtl_backend_equals_golden():
    """Three replicas of a 6-node problem one after another on one simulated core (the rtl
    backend of spinemu.Emulator, Verilator), recorded every second sweep and gathered into a
    PBitRun that must equal the golden one field by field (LFSR states read back)."""
    graph = random_graph(np.random.default_rng(11), 6, 0.6, integer=True)
    runs = [ising.anneal(graph, sweeps=8, steps=3, replicas=3, seed=3, backend=backend,
                         record=2).run for backend in ("golden", "rtl")]
    for name in ("states", "lfsr", "energy", "best_energy", "best_state", "energies",
                 "trajectory"):
        assert (getattr(runs[0], name) == getattr(runs[1], name)).all(), name


def test_exact_distribution_and_kl():
    rng = np.random.default_rng(8)
    problem = random_graph(rng, 5).to_ising()
    J, h = problem.dense()
    p = exact_distribution(J, h, 0.7)
    weights = np.exp(-0.7 * problem.energy(all_states(5)))
    assert np.allclose(p, weights / weights.sum()) and p.sum() == pytest.approx(1)
    assert (state_index(all_states(5)) == np.arange(32)).all()
    assert kl_divergence(p, p) == pytest.approx(0)
    q = exact_distribution(J, h, 0.2)
    assert kl_divergence(p, q) > 0 and kl_divergence(np.eye(32)[3], p) == -np.log(p[3])
    with pytest.raises(ConfigError, match=r"^n = 21 is out of range for enumeration; "):
        all_states(21)


def test_sample_matches_the_exact_distribution():
    """1,000 replicas x 200 sweeps = 200,000 samples of 2**6 states: a perfect sampler's KL is
    about 63 / 400,000 = 0.00016 nats; 0.003 allows for the sweeps' correlation and the
    14-bit quantisation (tests/test_pbit_golden.py measures both)."""
    rng = np.random.default_rng(9)
    problem = IsingProblem(6, *(lambda g: (g.edges, -g.weights))(random_graph(rng, 6, 0.7,
                                                                              True)),
                           rng.integers(-2, 3, 6).astype(np.float64))
    result = ising.sample(problem, beta=0.4, samples=200_000, replicas=1000, burn_in=30)
    assert result.states.shape == (200_000, 6) and result.kl < 0.003
    assert result.beta == pytest.approx(0.4, abs=1 / 2**13) and result.code == 3277


# --- CLI ----------------------------------------------------------------------------------------

def invoke(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def small_graph(tmp_path) -> Path:
    graph = random_graph(np.random.default_rng(10), 14, 0.4, integer=True)
    lines = [f"{graph.n} {len(graph.edges)}"]
    lines += [f"{i + 1} {j + 1} {int(w)}" for (i, j), w in zip(graph.edges, graph.weights,
                                                                strict=True)]
    return write(tmp_path, "\n".join(lines) + "\n", "small.txt")


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


def test_cli_sample_compares_with_exact(tmp_path):
    path = write(tmp_path, json.dumps({"n": 4, "J": [[0, 1, 1], [1, 2, -1], [2, 3, 0.5]],
                                       "h": [0.5, 0, 0, -0.5]}), "p.json")
    result = invoke(sample, path, "--beta", 0.5, "--samples", 20000, "--replicas", 200)
    assert result.exit_code == 0, result.output
    for label in ("KL(sampled || exact)", "exact mean energy", "distinct states", "sampled",
                  "exact"):
        assert label in result.output


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
