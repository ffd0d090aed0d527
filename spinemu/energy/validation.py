"""Validation of the estimate against published compute-in-memory macros (docs/energy.md,
"Validation").

A macro's tech file carries a ``[validation]`` section: where its figures come from and its
operating points, each with the TOPS/W the paper reports. A point's role says how it is used:
``fit`` points set the one constant named by ``fitted`` (:func:`fit_constant` gives the value
the file must hold), ``check`` points are predictions compared with the paper. A point runs one
full-precision vector through a ``rows x cols`` array: precision beyond what the array handles
natively is bit-sliced into ``input_chunk x weight_chunk`` partial products (each a full array
pass) joined by digital shift-and-add, the way multi-precision macros extend precision. The
energy counted is the macro's own: input drive, cell reads, ADC and the shift-and-add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spinemu.config import ConfigError, LayerConfig, TileConfig, check_float, check_int

from .activity import NetworkActivity, layer_counts
from .estimate import add_energy, estimate_network
from .tech import Tech

__all__ = ["MACRO_COMPONENTS", "ValidationPoint", "fit_constant", "macro_tops_per_watt",
           "validation_points", "ROLES"]

#: The components of :func:`~spinemu.energy.estimate.layer_energy` inside a macro's boundary.
MACRO_COMPONENTS = ("input drive", "cell reads", "ADC")
ROLES = ("fit", "check")


@dataclass(frozen=True)
class ValidationPoint:
    """One operating point of a published macro.

    Attributes
    ----------
    label : str
    rows, cols : int
        Rows driven and columns converted in one array pass.
    input_bits, weight_bits : int
        Precision of the point.
    input_chunk, weight_chunk : int
        Precision one array pass handles (input bits applied bit-serially, weight bits on
        devices); the point takes ``ceil(input_bits / input_chunk) * ceil(weight_bits /
        weight_chunk)`` passes.
    adc_bits : int
    input_density : float
        Fraction of input bits that are 1 (0.5 for uniform random codes).
    reported : float
        TOPS/W the paper reports at this point.
    role : {"fit", "check"}
    """

    label: str
    rows: int
    cols: int
    input_bits: int
    weight_bits: int
    input_chunk: int
    weight_chunk: int
    adc_bits: int
    input_density: float
    reported: float
    role: str

    def __post_init__(self):
        check_int("rows", self.rows, 1, 4096)
        check_int("cols", self.cols, 1, 4096)
        check_int("input_bits", self.input_bits, 1, 32)
        check_int("weight_bits", self.weight_bits, 1, 32)
        check_int("input_chunk", self.input_chunk, 1, min(8, self.input_bits))
        check_int("weight_chunk", self.weight_chunk, 2, min(12, max(self.weight_bits, 2)))
        check_int("adc_bits", self.adc_bits, 1, 16)
        check_float("input_density", self.input_density, 0.0, 1.0)
        check_float("reported", self.reported, 1e-6, 1e6)
        if self.role not in ROLES:
            raise ConfigError(f"role = {self.role!r} is not known; allowed {', '.join(ROLES)}")

    @property
    def passes(self) -> int:
        return (math.ceil(self.input_bits / self.input_chunk)
                * math.ceil(self.weight_bits / self.weight_chunk))


def validation_points(tech: Tech) -> tuple[str, str, list[ValidationPoint]]:
    """``(source, fitted constant, points)`` of a macro's tech file."""
    section = tech.extra.get("validation")
    if not isinstance(section, dict):
        raise ConfigError(f"{tech.name} has no [validation] section: not a macro's tech file")
    try:
        points = [ValidationPoint(**point) for point in section["point"]]
        source, fitted = section["source"], section["fitted"]
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{tech.name}: [validation] needs source, fitted and [[validation."
                          f"point]] tables of {list(ValidationPoint.__annotations__)}: "
                          f"{error}") from None
    if fitted not in tech.values:
        raise ConfigError(f"validation.fitted = {fitted!r} is not a tech constant")
    return source, fitted, points


def _pass_activity(point: ValidationPoint) -> NetworkActivity:
    """One array pass of a chunk: one vector, every input bit 1 with the point's density."""
    tile = TileConfig(rows=point.rows, cols=point.cols, cell_bits=point.weight_chunk,
                      input_bits=point.input_chunk, adc_bits=point.adc_bits, lanes=1)
    layer = LayerConfig(point.rows, point.cols, tile)
    bits = np.full(point.input_chunk, round(point.input_density * point.rows), np.int64)
    return NetworkActivity((layer_counts(layer, 1, 1, bits),))


def macro_tops_per_watt(tech: Tech, point: ValidationPoint) -> float:
    """TOPS/W of the macro at ``point``: 2 ops per full-precision MAC over the energy of every
    pass (:data:`MACRO_COMPONENTS`) and of the shift-and-add joining the passes (one add per
    column per pass after the first, as wide as the full-precision sum)."""
    estimate = estimate_network(tech, _pass_activity(point))
    per_pass = sum(estimate.components[name] for name in MACRO_COMPONENTS)
    width = point.input_bits + point.weight_bits + math.ceil(math.log2(point.rows))
    joining = (point.passes - 1) * point.cols * add_energy(tech, width)
    ops = 2 * point.rows * point.cols
    return ops / (point.passes * per_pass + joining) / 1e12


def fit_constant(tech: Tech, key: str, point: ValidationPoint) -> float:
    """The value of constant ``key`` that makes :func:`macro_tops_per_watt` equal ``point``'s
    reported TOPS/W (energy is affine in each constant: two evaluations solve it)."""
    def energy(value: float) -> float:
        return 1 / macro_tops_per_watt(tech.replace(**{key.replace(".", "__"): value}), point)

    base = tech[key]
    e1, e2 = energy(base), energy(2 * base)
    slope = (e2 - e1) / base
    if slope <= 0:
        raise ConfigError(f"{key} does not change the energy of {point.label}: cannot fit it")
    value = base + (1 / point.reported - e1) / slope
    if value <= 0:
        raise ConfigError(f"{point.label}: no positive {key} reaches {point.reported} TOPS/W; "
                          "the other constants alone spend more")
    return value
