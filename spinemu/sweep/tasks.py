"""What a sweep can run: each task a pure function of ``(params, seed, data_dir)`` to figures.

- ``map``: a bundled model mapped (:func:`spinemu.mapper.map_model`) on a seeded device;
  held-out accuracy, float accuracy, output error;
- ``anneal``: a Max-Cut or Ising file annealed (:func:`spinemu.ising.anneal`); best and mean
  cut and energy;
- ``sample``: Boltzmann sampling (:func:`spinemu.ising.sample`); KL to exact (n <= 16), mean
  energy and magnetisation;
- ``rtl``: a random tile or p-bit configuration on a simulator against golden
  (:class:`spinemu.Emulator`); mismatches, which must be 0.

The seed is the device seed (``map``), the LFSR master seed (``anneal``, ``sample``) or the
random case (``rtl``). Every parameter is checked alone (:meth:`Task.check_value`) and every
point as a whole (:meth:`Task.check_point`) when the spec is read, with messages naming the
spec field. Nothing depends on the process a point runs in, so a point gives the same figures
serially, on a local cluster or on a remote one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, PBitConfig, check_float, check_int

__all__ = ["Task", "TASKS", "resolve_file", "SIMULATORS"]

SIMULATORS = ("verilator", "icarus")
SWEEP_BACKENDS = ("golden", "rtl")
#: p-bit number formats, by default those of ``spinemu anneal`` and ``spinemu sample``.
PBIT_FIELDS = [f.name for f in dataclasses.fields(PBitConfig)]
RTL_FABRICS = ("tile", "pbit")


# --- Parameter checks: each raises naming ``where`` (the spec field) -------------------------

def _int(lo: int, hi: int):
    def check(where, value):
        check_int(where, value, lo, hi)
    return check


def _float(lo: float, hi: float):
    def check(where, value):
        check_float(where, value, lo, hi)
    return check


def _choice(*allowed):
    def check(where, value):
        if value not in allowed:
            raise ConfigError(f"{where} = {value!r} is not allowed; allowed {list(allowed)}")
    return check


def _bool(where, value):
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, not {value!r}")


def _name(where, value):
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a file name or path, not {value!r}")


def _renamed(where: str, error: ConfigError, name: str) -> ConfigError:
    """A library error about field ``name`` as one about the spec field ``where``."""
    text = str(error)
    return ConfigError(where + text[len(name):] if text.startswith(name) else f"{where}: {text}")


def _via(build: Callable, name: str):
    """Check a value by building the library object that owns the parameter."""
    def check(where, value):
        try:
            build(**{name: value})
        except ConfigError as error:
            raise _renamed(where, error, name) from None
        except TypeError:
            raise ConfigError(f"{where} = {value!r} has the wrong type") from None
    return check


def resolve_file(name: str, data_dir: str | Path) -> Path:
    """A graph or problem: a path, a file in ``data_dir`` (``NAME`` or ``NAME.txt``), or a
    bundled graph (:data:`spinemu.models.GRAPHS`)."""
    from spinemu.models import MODELS_DIR

    for candidate in (Path(name), Path(data_dir) / name, Path(data_dir) / f"{name}.txt",
                      MODELS_DIR / f"{name}.txt"):
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"no file {name!r} (nor {name}.txt) in data_dir {data_dir} or among the "
                      "bundled graphs")


# --- Tasks ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    """A task of :data:`TASKS`.

    ``parameters`` maps each parameter to ``(default, check)``; ``run(params, seed, data_dir)``
    returns ``{figure: value}`` for every name of ``figures``; ``check_combination(params,
    data_dir)`` refuses a point whose parameters do not go together; ``plot`` is ``"axes"``
    (figures against each swept axis) or ``"mismatches"``.
    """

    name: str
    parameters: dict
    figures: tuple[str, ...]
    run: Callable
    check_combination: Callable
    plot: str = "axes"

    def defaults(self) -> dict:
        return {name: default for name, (default, _) in self.parameters.items()}

    def check_name(self, where: str, name: str) -> None:
        if name not in self.parameters:
            raise ConfigError(f"{where} is not a parameter of task {self.name!r}; allowed "
                              f"{sorted(self.parameters)}")

    def check_value(self, where: str, name: str, value):
        """``value`` checked; an integer given for a real parameter as a float, so that
        ``sigma = 0`` and ``sigma = 0.0`` name the same point."""
        default, check = self.parameters[name]
        check(where, value)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def check_point(self, params: dict, data_dir: str, grid: str, axes: dict) -> None:
        try:
            self.check_combination(params, data_dir)
        except ConfigError as error:
            where = ", ".join(f"{k} = {v!r}" for k, v in axes.items())
            where = f" point ({where})" if where else ""
            raise ConfigError(f"grid {grid!r}{where}: {error}") from None


def _pbit_parameters() -> dict:
    from spinemu.ising import DEFAULT_CONFIG

    return {name: (getattr(DEFAULT_CONFIG, name), _via(PBitConfig, name))
            for name in PBIT_FIELDS}


def _pbit_config(params: dict) -> PBitConfig:
    return PBitConfig(**{name: params[name] for name in PBIT_FIELDS})


# map

MAP_SETTINGS = ("tile_rows", "tile_cols", "lanes", "weight_bits", "input_bits", "adc_bits",
                "output_bits", "mult_bits", "bias_bits", "gain_bits", "gain_frac")
DEVICE_FIELDS = ("sigma", "stuck", "gain_spread")


def _map_parameters() -> dict:
    from spinemu.mapper import DeviceModel, MapSettings
    from spinemu.models import BUNDLED

    defaults = MapSettings()
    return {
        "model": ("digits", _choice(*BUNDLED)),
        **{name: (getattr(defaults, name), _via(MapSettings, name)) for name in MAP_SETTINGS},
        "frac_bits": (-1, _int(-1, 10)),      # -1: the mapper's default, min(4, 12 - w)
        "compensation": (True, _bool),
        **{name: (0.0, _via(DeviceModel, name)) for name in DEVICE_FIELDS},
        "calibration": (256, _int(1, 100_000)),
        "test_samples": (0, _int(0, 1_000_000)),  # 0: the whole held-out split
    }


def _map_settings(params: dict):
    from spinemu.mapper import MapSettings

    frac = params["frac_bits"]
    return MapSettings(**{name: params[name] for name in MAP_SETTINGS},
                       frac_bits=None if frac < 0 else frac, compensation=params["compensation"])


def _map_combination(params: dict, data_dir: str) -> None:
    _map_settings(params)


def _map_run(params: dict, seed: int, data_dir: str) -> dict:
    from spinemu.mapper import DeviceModel, map_model
    from spinemu.models import BUNDLED, load_dataset

    data = load_dataset(BUNDLED[params["model"]])
    test = slice(None, params["test_samples"] or None)
    device = DeviceModel(**{name: params[name] for name in DEVICE_FIELDS}, seed=seed)
    report = map_model(params["model"], data.calibration(params["calibration"]),
                       data.test_x[test], data.test_y[test], settings=_map_settings(params),
                       device=device).report
    return {"accuracy": report.emulated_metric, "float_accuracy": report.float_metric,
            "input_accuracy": report.input_metric, "drop": report.drop,
            "output_error": report.layers[-1].rel_error}


# anneal and sample

def _ising_parameters(file_key: str) -> dict:
    from spinemu.ising import STRATEGIES

    return {
        file_key: ("G14", _name),
        "replicas": (10, _int(1, 100_000)),
        "strategy": ("DSATUR", _choice(*STRATEGIES)),
        "backend": ("golden", _choice(*SWEEP_BACKENDS)),
        "simulator": ("verilator", _choice(*SIMULATORS)),
        "hybrid": (False, _bool),
        **_pbit_parameters(),
    }


def _anneal_parameters() -> dict:
    from spinemu.ising import SCHEDULES

    return {**_ising_parameters("graph"),
            "sweeps": (1000, _int(1, 10_000_000)),
            "steps": (0, _int(0, 1_000_000)),          # 0: min(sweeps, 100)
            "schedule": ("geometric", _choice(*SCHEDULES)),
            "beta_start": (0.0, _float(0.0, 1e9)),     # 0: the problem's default range
            "beta_end": (0.0, _float(0.0, 1e9))}


def _ising_combination(file_key: str):
    def check(params: dict, data_dir: str) -> None:
        resolve_file(params[file_key], data_dir)
        _pbit_config(params)
        if file_key == "graph" and params["steps"] > params["sweeps"]:
            raise ConfigError(f"steps = {params['steps']} is out of range; allowed "
                              f"0..{params['sweeps']} (the sweeps)")
    return check


def _backend(params: dict) -> dict:
    return {"backend": params["backend"], "simulator": params["simulator"],
            "hybrid": params["hybrid"], "strategy": params["strategy"],
            "config": _pbit_config(params), "replicas": params["replicas"]}


def _anneal_run(params: dict, seed: int, data_dir: str) -> dict:
    from spinemu.ising import anneal, load_problem

    result = anneal(load_problem(resolve_file(params["graph"], data_dir)),
                    sweeps=params["sweeps"], steps=params["steps"] or None,
                    schedule=params["schedule"], beta_start=params["beta_start"] or None,
                    beta_end=params["beta_end"] or None, seed=seed, **_backend(params))
    nan = float("nan")
    return {"best_cut": nan if result.best_cut is None else result.best_cut,
            "mean_cut": nan if result.mean_cut is None else result.mean_cut,
            "best_energy": result.best_energy,
            "mean_energy": float(result.energies.mean()),
            "spin_updates": result.spin_updates}


def _sample_parameters() -> dict:
    return {**_ising_parameters("problem"),
            "beta": (1.0, _float(0.0, 1e9)),
            "samples": (10_000, _int(1, 100_000_000)),
            "burn_in": (100, _int(0, 10_000_000))}


def _sample_run(params: dict, seed: int, data_dir: str) -> dict:
    from spinemu.ising import load_problem, sample

    result = sample(load_problem(resolve_file(params["problem"], data_dir)),
                    beta=params["beta"], samples=params["samples"], burn_in=params["burn_in"],
                    seed=seed, **_backend(params))
    return {"kl": float("nan") if result.kl is None else result.kl,
            "mean_energy": float(result.energies.mean()),
            "mean_magnetisation": float(2 * result.states.mean() - 1),
            "distinct_states": len(np.unique(result.states, axis=0)),
            "beta_coded": result.beta}


# rtl

def _rtl_parameters() -> dict:
    return {
        "fabric": ("tile", _choice(*RTL_FABRICS)),
        "simulator": ("verilator", _choice(*SIMULATORS)),
        "max_rows": (16, _int(1, 256)),
        "max_cols": (16, _int(1, 256)),
        "vectors": (4, _int(1, 256)),
        "nodes": (12, _int(2, 64)),
        "density": (0.5, _float(0.0, 1.0)),
        "sweeps": (20, _int(1, 10_000)),
    }


def _rtl_combination(params: dict, data_dir: str) -> None:
    from spinemu.sim.runner import available_simulators

    if params["simulator"] not in available_simulators():
        raise ConfigError(f"simulator = {params['simulator']!r} is not available here; "
                          f"available {available_simulators()} (icarus needs iverilog on PATH)")


def _rtl_tile(params: dict, seed: int) -> dict:
    from spinemu.checks import check_tile
    from spinemu.sim.stimulus import random_tile_config

    config = random_tile_config(np.random.default_rng(seed), params["max_rows"],
                                params["max_cols"])
    check = check_tile(config, vectors=params["vectors"], seed=seed, backend="rtl",
                       simulator=params["simulator"])
    return {"mismatches": check.mismatches, "compared": int(check.expected.size),
            "read_back_equal": bool(check.read_back_equal), "config": config.to_json()}


def _rtl_pbit(params: dict, seed: int) -> dict:
    from spinemu.ising import MaxCut, anneal

    rng = np.random.default_rng(seed)
    n = params["nodes"]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)
             if rng.random() < params["density"]] or [(0, 1)]
    edges = np.array(pairs, dtype=np.int64)
    weights = rng.integers(-3, 4, len(edges)).astype(np.float64)
    problem = MaxCut(n, edges, weights, f"random{n}")
    runs = [anneal(problem, sweeps=params["sweeps"], replicas=2, seed=seed, record=1,
                   backend=backend, simulator=params["simulator"]).run
            for backend in ("rtl", "golden")]
    got, expected = ([run.trajectory, run.energies, run.lfsr] for run in runs)
    mismatches = sum(int((a != b).sum()) for a, b in zip(got, expected, strict=True))
    return {"mismatches": mismatches, "compared": sum(a.size for a in expected),
            "read_back_equal": bool(np.array_equal(got[2], expected[2])),
            "config": json.dumps({"nodes": n, "edges": len(edges), "sweeps": params["sweeps"],
                                  "seed": seed})}


def _rtl_run(params: dict, seed: int, data_dir: str) -> dict:
    return (_rtl_tile if params["fabric"] == "tile" else _rtl_pbit)(params, seed)


TASKS: dict[str, Task] = {
    "map": Task("map", _map_parameters(),
                ("accuracy", "float_accuracy", "input_accuracy", "drop", "output_error"),
                _map_run, _map_combination),
    "anneal": Task("anneal", _anneal_parameters(),
                   ("best_cut", "mean_cut", "best_energy", "mean_energy", "spin_updates"),
                   _anneal_run, _ising_combination("graph")),
    "sample": Task("sample", _sample_parameters(),
                   ("kl", "mean_energy", "mean_magnetisation", "distinct_states", "beta_coded"),
                   _sample_run, _ising_combination("problem")),
    "rtl": Task("rtl", _rtl_parameters(), ("mismatches", "compared", "read_back_equal",
                                           "config"),
                _rtl_run, _rtl_combination, plot="mismatches"),
}
