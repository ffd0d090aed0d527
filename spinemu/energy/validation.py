"""Validation of the estimate against published compute-in-memory macros (docs/energy.md,
"Validation").

A macro's tech file carries a ``[validation]`` section: the tag of the paper its figures come
from and the two ends of the TOPS/W range the paper reports, each an operating point. Nothing is
fitted: every constant is either stated by the paper (its source tag is the paper's tag, or
starts with it and a colon) or an assumption with a range (a ``derived:`` or ``assumption:`` tag,
or a cited general source), and each end is a prediction compared with the paper
(:data:`TOLERANCE`).

A point runs one full-precision matrix-vector multiply (MVM) of ``rows x cols`` weights, in one
of two readouts:

``adc``
    An analog array: precision beyond one pass is bit-sliced into ``input_chunk x
    weight_chunk`` passes, each a full array pass whose columns convert once on an
    ``adc_bits`` ADC (:func:`~spinemu.energy.estimate.layer_energy`: input drive, cell reads,
    ADC), joined by digital shift-and-add.
``digital``
    A digital CIM array: inputs bit-serial (one bit a cycle), one binary device per weight bit;
    every cell a pulsed row reads is digitized in place as a 1-bit conversion (the tech file's
    ADC model at 1 bit), each bit column's ``rows`` one-bit products are summed by an adder
    tree, and the ``input_bits x weight_bits`` partial sums are joined by shift-and-add.

The energy counted is the macro's own (:func:`macro_energy`); 2 operations per full-precision
MAC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from spinemu.config import ConfigError, LayerConfig, TileConfig, check_float, check_int

from .activity import NetworkActivity, layer_counts
from .estimate import adc_energy, add_energy, estimate_network
from .tech import Tech

__all__ = ["ADC_COMPONENTS", "CONSTANTS", "ENDS", "READOUTS", "TOLERANCE", "ValidationPoint",
           "adder_tree_energy", "constant_status", "end_ratio", "macro_band", "macro_energy",
           "macro_tops_per_watt", "validation_points"]

#: The components of :func:`~spinemu.energy.estimate.layer_energy` inside an ``adc`` macro.
ADC_COMPONENTS = ("input drive", "cell reads", "ADC")
READOUTS = ("adc", "digital")
#: Which end of the paper's reported TOPS/W range a point is.
ENDS = ("low", "high")
#: Issue 14's target: the estimate within 30 % of the reported TOPS/W.
TOLERANCE = 0.30
#: The tech constants the macro model reads (docs/energy.md lists them per macro).
CONSTANTS = ("tech.node", "cell.read_energy", "cell.read_time", "cell.bits_per_device",
             "input.dac_energy", "input.wordline_energy_per_cell", "adc.energy",
             "digital.add_energy_per_bit")


@dataclass(frozen=True)
class ValidationPoint:
    """One end of a published macro's TOPS/W range.

    Attributes
    ----------
    label : str
    end : {"low", "high"}
        The end of the reported range this point is.
    reported : float
        TOPS/W the paper reports at this point.
    rows, cols : int
        Rows summed into one output and weights per row (outputs) of one MVM.
    input_bits, weight_bits : int
        Precision of the point.
    input_density : float
        Fraction of input bits that are 1 (0.5 for uniform random codes).
    readout : {"adc", "digital"}
        See the module.
    input_chunk, weight_chunk, adc_bits : int
        ``adc`` readout only (0, the default, for ``digital``): precision one array pass
        handles (the point takes ``ceil(input_bits / input_chunk) * ceil(weight_bits /
        weight_chunk)`` passes) and the ADC width.
    """

    label: str
    end: str
    reported: float
    rows: int
    cols: int
    input_bits: int
    weight_bits: int
    input_density: float
    readout: str = "adc"
    input_chunk: int = 0
    weight_chunk: int = 0
    adc_bits: int = 0

    def __post_init__(self):
        if self.end not in ENDS:
            raise ConfigError(f"end = {self.end!r} is not known; allowed {', '.join(ENDS)}")
        check_float("reported", self.reported, 1e-6, 1e6)
        check_int("rows", self.rows, 1, 4096)
        check_int("cols", self.cols, 1, 4096)
        check_int("input_bits", self.input_bits, 1, 32)
        check_int("weight_bits", self.weight_bits, 1, 32)
        check_float("input_density", self.input_density, 0.0, 1.0)
        if self.readout == "adc":
            check_int("input_chunk", self.input_chunk, 1, min(8, self.input_bits))
            check_int("weight_chunk", self.weight_chunk, 2, min(12, max(self.weight_bits, 2)))
            check_int("adc_bits", self.adc_bits, 1, 16)
        elif self.readout == "digital":
            for name in ("input_chunk", "weight_chunk", "adc_bits"):
                if getattr(self, name):
                    raise ConfigError(f"{name} = {getattr(self, name)!r} is not used with "
                                      "readout = 'digital' (one input bit a cycle, one device a "
                                      "weight bit, 1-bit digitization); allowed 0 or left out")
        else:
            raise ConfigError(f"readout = {self.readout!r} is not known; allowed "
                              f"{', '.join(READOUTS)}")

    @property
    def passes(self) -> int:
        """Partial products joined by shift-and-add."""
        if self.readout == "digital":
            return self.input_bits * self.weight_bits
        return (math.ceil(self.input_bits / self.input_chunk)
                * math.ceil(self.weight_bits / self.weight_chunk))

    @property
    def ops(self) -> int:
        """Operations of the MVM: 2 per full-precision MAC."""
        return 2 * self.rows * self.cols


def validation_points(tech: Tech) -> tuple[str, list[ValidationPoint]]:
    """``(source tag, points)`` of a macro's tech file."""
    section = tech.extra.get("validation")
    if not isinstance(section, dict):
        raise ConfigError(f"{tech.name} has no [validation] section: not a macro's tech file")
    allowed = {"source", "point"}
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ConfigError(f"{tech.name}: unknown [validation] key(s) {unknown}; allowed "
                          f"{sorted(allowed)} (nothing is fitted)")
    names = [f.name for f in fields(ValidationPoint)]
    try:
        source, tables = section["source"], section["point"]
        points = [ValidationPoint(**point) for point in tables]
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{tech.name}: [validation] needs source and [[validation.point]] "
                          f"tables of {names}: {error}") from None
    if not isinstance(source, str) or not source:
        raise ConfigError(f"validation.source = {source!r} must be the paper's source tag")
    if not points:
        raise ConfigError(f"{tech.name}: [validation] has no [[validation.point]]")
    return source, points


def constant_status(tech: Tech, source: str, key: str) -> str:
    """``published`` if constant ``key``'s source tag is the paper's (``source`` or
    ``source:detail``), else ``assumed``."""
    tag = tech.sources.get(key, "")
    return "published" if tag == source or tag.startswith(source + ":") else "assumed"


def adder_tree_energy(tech: Tech, leaves: int) -> float:
    """An adder tree summing ``leaves`` one-bit values: ``floor(n / 2)`` adds at each level
    ``l = 1, 2, ...`` of width ``l`` bits (an odd value passes up), until one sum is left."""
    energy, n, level = 0.0, leaves, 1
    while n > 1:
        energy += (n // 2) * add_energy(tech, level)
        n, level = -(-n // 2), level + 1
    return energy


def _pass_activity(point: ValidationPoint) -> NetworkActivity:
    """One array pass of an ``adc`` point: one vector, each of its ``input_chunk`` input bits
    1 on ``round(input_density * rows)`` rows."""
    tile = TileConfig(rows=point.rows, cols=point.cols, cell_bits=point.weight_chunk,
                      input_bits=point.input_chunk, adc_bits=point.adc_bits, lanes=1)
    layer = LayerConfig(point.rows, point.cols, tile)
    bits = np.full(point.input_chunk, round(point.input_density * point.rows), np.int64)
    return NetworkActivity((layer_counts(layer, 1, 1, bits),))


def _digital_energy(tech: Tech, point: ValidationPoint) -> dict[str, float]:
    if tech["cell.bits_per_device"] != 1:
        raise ConfigError(f"cell.bits_per_device = {tech['cell.bits_per_device']:g} with "
                          "readout = 'digital'; allowed 1 (one binary device a weight bit)")
    if tech.choices["input.encoding"] != "bit_serial":
        raise ConfigError(f"input.encoding = {tech.choices['input.encoding']!r} with readout = "
                          "'digital'; allowed bit_serial")
    cycles, planes = point.input_bits, point.weight_bits
    pulses = cycles * point.input_density * point.rows      # pulsed rows over all cycles
    cells = point.cols * planes                             # devices on a row
    return {
        "input drive": pulses * (tech["input.dac_energy"]
                                 + cells * tech["input.wordline_energy_per_cell"]),
        "cell reads": pulses * cells * tech["cell.read_energy"],
        "digitization": pulses * cells * adc_energy(tech, 1),
        "adder tree": cycles * cells * adder_tree_energy(tech, point.rows),
    }


def macro_energy(tech: Tech, point: ValidationPoint) -> dict[str, float]:
    """Energy of one full-precision MVM at ``point``, per component (J): the array's
    (:data:`ADC_COMPONENTS` of every pass for ``adc``; input drive, cell reads, digitization and
    the column adder trees for ``digital``) and ``shift-and-add``, one add per output per
    partial product after the first, as wide as the full-precision sum (``input_bits +
    weight_bits + ceil(log2 rows)``)."""
    if point.readout == "digital":
        energy = _digital_energy(tech, point)
    else:
        estimate = estimate_network(tech, _pass_activity(point))
        energy = {name: point.passes * estimate.components[name] for name in ADC_COMPONENTS}
    width = point.input_bits + point.weight_bits + math.ceil(math.log2(point.rows))
    energy["shift-and-add"] = (point.passes - 1) * point.cols * add_energy(tech, width)
    return energy


def macro_tops_per_watt(tech: Tech, point: ValidationPoint) -> float:
    """TOPS/W of the macro at ``point``: :attr:`ValidationPoint.ops` over
    :func:`macro_energy`."""
    return point.ops / sum(macro_energy(tech, point).values()) / 1e12


def macro_band(tech: Tech, point: ValidationPoint) -> tuple[float, float]:
    """TOPS/W with every ranged energy constant at its high end, then at its low end
    (:meth:`~spinemu.energy.tech.Tech.energies_at`): the estimate's band."""
    return (macro_tops_per_watt(tech.energies_at("high"), point),
            macro_tops_per_watt(tech.energies_at("low"), point))


def end_ratio(tech: Tech, points: list[ValidationPoint]) -> tuple[float, float]:
    """``(reported, estimated)`` ratio of the high end's TOPS/W to the low end's: a check of
    the model's precision scaling that no absolute constant enters to first order."""
    ends = {point.end: point for point in points}
    if sorted(ends) != sorted(ENDS) or len(points) != len(ENDS):
        raise ConfigError(f"end ratio needs one point at each end {ENDS}, not "
                          f"{[point.end for point in points]}")
    high, low = ends["high"], ends["low"]
    return (high.reported / low.reported,
            macro_tops_per_watt(tech, high) / macro_tops_per_watt(tech, low))
