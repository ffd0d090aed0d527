"""Sweep specs: the points a spec names, and every refusal, each one line naming the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spinemu.config import ConfigError
from spinemu.sweep import TASKS, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]


def spec(body: str, task: str = "map", **sweep) -> str:
    header = "".join(f"{key} = {value}\n" for key, value in sweep.items())
    return f'[sweep]\ntask = "{task}"\n{header}\n{body}'


def test_points_are_the_product_of_each_grid_seed_major():
    parsed = parse_spec(spec("""
[fixed]
sigma = 0.05
[axes]
model = ["digits", "digits32"]
[[grid]]
name = "bits"
weight_bits = [2, 4]
[[grid]]
name = "ideal"
seeds = [7]
sigma = [0]
""", seeds=2, keep='["accuracy"]'))
    points = parsed.points()
    assert [(p.grid, p.seed, p.axes) for p in points] == [
        ("bits", 0, {"model": "digits", "weight_bits": 2}),
        ("bits", 0, {"model": "digits", "weight_bits": 4}),
        ("bits", 0, {"model": "digits32", "weight_bits": 2}),
        ("bits", 0, {"model": "digits32", "weight_bits": 4}),
        ("bits", 1, {"model": "digits", "weight_bits": 2}),
        ("bits", 1, {"model": "digits", "weight_bits": 4}),
        ("bits", 1, {"model": "digits32", "weight_bits": 2}),
        ("bits", 1, {"model": "digits32", "weight_bits": 4}),
        ("ideal", 7, {"model": "digits", "sigma": 0.0}),
        ("ideal", 7, {"model": "digits32", "sigma": 0.0}),
    ]
    assert parsed.axis_names == ["model", "weight_bits", "sigma"]
    assert parsed.keep == ("accuracy",)
    # every parameter of a point: defaults, then [fixed], then its axes; an integer given for a
    # real parameter is the same point as the float
    assert points[0].params["sigma"] == 0.05 and points[-1].params["sigma"] == 0.0
    assert isinstance(points[-1].params["sigma"], float)
    assert points[0].params["input_bits"] == TASKS["map"].defaults()["input_bits"]
    assert len({p.key for p in points}) == len(points)


def test_a_point_two_grids_share_runs_once():
    parsed = parse_spec(spec("""
[[grid]]
weight_bits = [2, 4, 3]
[[grid]]
weight_bits = [5, 4, 6]
"""))
    assert len(parsed.points()) == 6
    assert [p.params["weight_bits"] for p in parsed.unique_points()] == [2, 4, 3, 5, 6]
    assert [p.grid for p in parsed.unique_points()] == ["0", "0", "0", "1", "1"]


@pytest.mark.parametrize("path", sorted((ROOT / "bench" / "sweeps").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_shipped_specs_parse(path):
    parsed = load_spec(path)
    assert parsed.name == path.stem
    assert parsed.points()


def test_data_dir_is_relative_to_the_spec_file(graph_dir, text_file):
    path = text_file(spec('[axes]\ngraph = ["g10", "g16.txt"]\n', task="anneal",
                          data_dir='"graphs"'), name="anneal.toml")
    parsed = load_spec(path)
    assert parsed.data_dir == str(graph_dir)
    assert len(parsed.points()) == 2


REFUSALS = [
    # the task
    ('[sweep]\nseeds = 2\n', r"sweep\.task is missing; allowed \['anneal', 'map', 'rtl', "
                             r"'sample'\]"),
    (spec("", task="train"), r"sweep\.task = 'train' is not a task; allowed \['anneal', 'map', "
                             r"'rtl', 'sample'\]"),
    # the layout
    ('[sweeps]\ntask = "map"\n', r"unknown table\(s\) \['sweeps'\] in the sweep spec; allowed "
                                 r"\['sweep', 'fixed', 'axes', 'grid'\]"),
    (spec("", repeats=3), r"unknown key\(s\) sweep\.repeats; allowed \['sweep\.name', .*\]"),
    ('task = "map"\n', r"unknown table\(s\) \['task'\] .*"),
    (spec("[axes\n"), r"malformed TOML: .*"),
    # axes and values
    (spec("[axes]\nwieght_bits = [2, 3]\n"),
     r"axes\.wieght_bits is not a parameter of task 'map'; allowed \['adc_bits', .*\]"),
    (spec("[axes]\nweight_bits = [2, 12]\n"),
     r"axes\.weight_bits = 12 is out of range; allowed 2\.\.11"),
    (spec("[[grid]]\nsigma = [0.1, 20.0]\n"),
     r"grid\[0\]\.sigma = 20\.0 is out of range; allowed 0\.0\.\.10\.0"),
    (spec("[fixed]\nmodel = \"resnet\"\n"),
     r"fixed\.model = 'resnet' is not allowed; allowed \['digits', 'digits32', 'digits_cnn'\]"),
    (spec("[fixed]\ncompensation = 1\n"), r"fixed\.compensation must be true or false, not 1"),
    (spec("[axes]\nweight_bits = 4\n"),
     r"axes\.weight_bits must be a non-empty list of values, not 4"),
    (spec("[axes]\nweight_bits = []\n"),
     r"axes\.weight_bits must be a non-empty list of values, not \[\]"),
    (spec("[axes]\nweight_bits = [2, 2]\n"), r"axes\.weight_bits repeats a value: \[2, 2\]"),
    (spec("[fixed]\nsigma = 0.1\n[axes]\nsigma = [0.1]\n"),
     r"axes\.sigma is also in \[fixed\]; a parameter is fixed or swept, not both"),
    (spec("[axes]\nsigma = [0.1]\n[[grid]]\nsigma = [0.2]\n"),
     r"grid\[0\]\.sigma is also in \[axes\]; sweep it in one place"),
    (spec("[[grid]]\nname = \"a\"\n[[grid]]\nname = \"a\"\n"),
     r"grid\[1\]\.name = 'a' must be a string no other grid has"),
    # a combination of values
    (spec("[fixed]\nfrac_bits = 4\n[axes]\nweight_bits = [4, 9]\n"),
     r"grid 'sweep' point \(weight_bits = 9\): cell_bits = weight_bits \+ frac_bits = 9 \+ 4 "
     r"= 13 is out of range; allowed 2\.\.12"),
    (spec("[fixed]\nsweeps = 10\nsteps = 20\n", task="anneal", data_dir='"."'),
     r"grid 'sweep': steps = 20 is out of range; allowed 0\.\.10 \(the sweeps\)"),
    # seeds and figures
    (spec("", seeds=0), r"sweep\.seeds = 0 is out of range; allowed 1\.\.100000 \(a count\) or a "
                        r"list of seeds"),
    (spec("", seeds="[1, -2]"), r"sweep\.seeds holds -2; allowed 0\.\.4294967295"),
    (spec("", seeds="[3, 3]"), r"sweep\.seeds repeats a seed: \[3, 3\]"),
    (spec("", seeds='"all"'), r"sweep\.seeds must be a count or a non-empty list of integer "
                              r"seeds, not 'all'"),
    (spec("", keep='["accuracy", "loss"]'),
     r"sweep\.keep names 'loss', not a figure of task 'map'; allowed \['accuracy', "
     r"'float_accuracy', 'input_accuracy', 'drop', 'output_error'\]"),
    (spec("", task="rtl", keep='["cut"]'),
     r"sweep\.keep names 'cut', not a figure of task 'rtl'; allowed \['mismatches', .*\]"),
    (spec("[axes]\nsimulator = [\"verilator\", \"modelsim\"]\n", task="rtl"),
     r"axes\.simulator = 'modelsim' is not allowed; allowed \['verilator', 'icarus'\]"),
    (spec("[fixed]\nmax_rows = 0\n", task="rtl"),
     r"fixed\.max_rows = 0 is out of range; allowed 1\.\.256"),
]


@pytest.mark.parametrize("text, message", REFUSALS)
def test_bad_specs_are_refused_naming_the_field(text, message):
    with pytest.raises(ConfigError) as raised:
        parse_spec(text)
    assert re.fullmatch(message, str(raised.value)), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_graph_missing_from_data_dir_is_refused(graph_dir):
    with pytest.raises(ConfigError, match=r"^grid 'sweep' point \(graph = 'g99'\): no file "
                                          r"'g99' \(nor g99\.txt\) in data_dir "):
        parse_spec(spec('[axes]\ngraph = ["g10", "g99"]\n', task="anneal",
                        data_dir=f'"{graph_dir}"'))


def test_an_unreadable_spec_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"^sweep spec .*nowhere\.toml cannot be read: "):
        load_spec(tmp_path / "nowhere.toml")
