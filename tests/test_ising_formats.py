"""spinemu.ising.formats: G-set/rudy files and Ising JSON, errors naming the line or entry."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from spinemu.config import ConfigError
from spinemu.ising.formats import load_problem, read_gset, read_ising_json, write_gset
from spinemu.ising.problem import IsingProblem, MaxCut

GSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "gset"


# --- G-set / rudy files -------------------------------------------------------------------------

@pytest.mark.skipif(not GSET.is_dir(), reason="shared/data/gset is not beside the clone")
def test_gset_files_parse():
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
def test_bad_gset_files_name_the_line(text_file, text, message):
    with pytest.raises(ConfigError, match=message):
        read_gset(text_file(text))


def test_rudy_weights_may_be_real(text_file):
    graph = read_gset(text_file("3 2\n1 2 0.5\n3 2 -2\n"))
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
def test_bad_ising_json_names_the_entry(text_file, document, message):
    with pytest.raises(ConfigError, match=message):
        read_ising_json(text_file(document, "p.json"))


def test_ising_json_and_load_problem(text_file):
    path = text_file(json.dumps({"n": 3, "J": [[2, 0, 1.5]], "h": [0, -1, 0.25]}), "p.json")
    problem = load_problem(path)
    assert isinstance(problem, IsingProblem) and problem.edges.tolist() == [[0, 2]]
    assert problem.J.tolist() == [1.5] and problem.h.tolist() == [0, -1, 0.25]
    assert isinstance(load_problem(text_file("2 1\n1 2 1\n")), MaxCut)


def test_write_gset_reads_back_equal(tmp_path):
    rng = np.random.default_rng(5)
    edges = np.array([(0, 1), (0, 3), (2, 3), (1, 2)], dtype=np.int64)
    for weights in (rng.choice([-2.0, 1.0, 3.0], size=4), rng.normal(size=4)):
        path = tmp_path / "g.txt"
        write_gset(MaxCut(4, edges, weights), path)
        back = read_gset(path)
        assert back.n == 4 and np.array_equal(back.edges, edges)
        assert np.array_equal(back.weights, weights)
