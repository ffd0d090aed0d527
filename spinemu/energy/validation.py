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

A point carries the published operating conditions of its reported figure, each a value or,
where the paper gives only a range for that figure, a ``[low, high]`` span evaluated at both
ends (:func:`condition_band`):

``input_density``
    Fraction of input bits that are 1 (the MTJ reads: a row reads while its input bit is 1).
``toggle_rate``
    Fraction of input bits that differ from the same row's previous bit (bit-serial, level
    driven). Left out: ``2 p (1 - p)`` for independent bits of density ``p`` (0.5 for uniform
    random codes). The digital readout's CMOS switching follows it: a row driver and its wordline
    switch per toggle, an in-bitcell digitizer per toggle of its product bit (the input toggles
    and the weight bit is 1), and the adder trees with their leaves' activity relative to
    random operands (:data:`RANDOM_ACTIVITY`).
``weight_sparsity``
    Fraction of weights that are zero; a nonzero weight's bits are taken as uniformly random,
    so a weight bit is 1 with probability ``(1 - weight_sparsity) / 2``.
``vdd``
    Supply (V), or left out for the tech file's ``tech.vdd_nominal``: the CMOS energies scale
    as C V^2 (:meth:`~spinemu.energy.tech.Tech.at_supply`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields, replace

import numpy as np

from spinemu.config import ConfigError, LayerConfig, TileConfig, check_float, check_int

from .activity import NetworkActivity, layer_counts
from .estimate import adc_energy, add_energy, estimate_network
from .tech import SUPPLY_RANGE, Tech

__all__ = ["ADC_COMPONENTS", "CONSTANTS", "ENDS", "RANDOM_ACTIVITY", "READOUTS", "TOLERANCE",
           "ValidationPoint", "adder_tree_energy", "condition_band", "constant_status",
           "corners", "end_ratio", "macro_band", "macro_energy", "macro_tops_per_watt",
           "validation_points", "within_tolerance"]

#: The components of :func:`~spinemu.energy.estimate.layer_energy` inside an ``adc`` macro.
ADC_COMPONENTS = ("input drive", "cell reads", "ADC")
READOUTS = ("adc", "digital")
#: Which end of the paper's headline TOPS/W range a point is ("" for another reported figure).
ENDS = ("low", "high")
#: Toggle probability of an adder input bit under random operands, at which
#: ``digital.add_energy_per_bit`` (Horowitz's average add) is given.
RANDOM_ACTIVITY = 0.5
#: Issue 14's target: the estimate within 30 % of the reported TOPS/W.
TOLERANCE = 0.30
#: The tech constants the macro model reads (docs/energy.md lists them per macro).
CONSTANTS = ("tech.node", "cell.read_energy", "cell.read_time", "cell.bits_per_device",
             "input.dac_energy", "input.wordline_energy_per_cell", "adc.energy",
             "digital.add_energy_per_bit")


def _span(name: str, value, lo: float, hi: float) -> tuple[float, float]:
    """``value`` (a number, or a ``[low, high]`` pair) as ``(low, high)``, each in ``lo..hi``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ConfigError(f"{name} = {list(value)!r} must be a number or a [low, high] pair "
                              f"in {lo}..{hi}")
        for end in value:
            check_float(name, end, lo, hi)
        if value[0] > value[1]:
            raise ConfigError(f"{name} = {list(value)!r}: low > high; allowed [low, high] with "
                              "low <= high")
        return float(value[0]), float(value[1])
    check_float(name, value, lo, hi)
    return float(value), float(value)


@dataclass(frozen=True)
class ValidationPoint:
    """One reported TOPS/W figure of a published macro, at its operating conditions.

    Attributes
    ----------
    label : str
    end : {"low", "high", ""}
        The end of the paper's headline range this point is, or "" for another reported figure.
    reported : float
        TOPS/W the paper reports at this point.
    figure : str
        Where the paper reports it (e.g. "abstract", "Extended Data Fig. 5g").
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
    toggle_rate, weight_sparsity : float or [low, high], optional
        ``digital`` readout only; see the module. ``toggle_rate`` left out is
        ``2 p (1 - p)`` of ``input_density`` ``p``; ``weight_sparsity`` left out is 0.
    vdd : float or [low, high], optional
        Supply, V (left out: the tech file's nominal supply, no scaling).
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
    figure: str = ""
    toggle_rate: float | list | None = None
    weight_sparsity: float | list = 0.0
    vdd: float | list | None = None

    def __post_init__(self):
        if self.end not in (*ENDS, ""):
            raise ConfigError(f"end = {self.end!r} is not known; allowed {', '.join(ENDS)} or "
                              "'' (not an end of the headline range)")
        check_float("reported", self.reported, 1e-6, 1e6)
        check_int("rows", self.rows, 1, 4096)
        check_int("cols", self.cols, 1, 4096)
        check_int("input_bits", self.input_bits, 1, 32)
        check_int("weight_bits", self.weight_bits, 1, 32)
        check_float("input_density", self.input_density, 0.0, 1.0)
        density, toggles = self.input_density, self.toggles
        most = 2 * min(density, 1 - density)
        if toggles[1] > most + 1e-12:
            raise ConfigError(f"toggle_rate = {toggles[1]:g} with input_density = {density:g}: "
                              f"bits that are 1 a fraction {density:g} of the time toggle at "
                              f"most 2 min(p, 1 - p) = {most:g}; allowed 0..{most:g}")
        _ = self.sparsity, self.supply                          # each raises when out of range
        if self.readout == "adc":
            for name in ("toggle_rate", "weight_sparsity"):
                if getattr(self, name) not in (None, 0.0):
                    raise ConfigError(f"{name} = {getattr(self, name)!r} is used only with "
                                      "readout = 'digital' (an adc point prices its passes by "
                                      "input_density); allowed left out")
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
    def toggles(self) -> tuple[float, float]:
        """``toggle_rate`` as ``(low, high)``."""
        density = self.input_density
        return _span("toggle_rate", 2 * density * (1 - density) if self.toggle_rate is None
                     else self.toggle_rate, 0.0, 1.0)

    @property
    def sparsity(self) -> tuple[float, float]:
        """``weight_sparsity`` as ``(low, high)``."""
        return _span("weight_sparsity", self.weight_sparsity, 0.0, 1.0)

    @property
    def supply(self) -> tuple[float, float] | None:
        """``vdd`` as ``(low, high)``, or None (the tech file's nominal supply)."""
        return None if self.vdd is None else _span("vdd", self.vdd, *SUPPLY_RANGE)

    @property
    def known(self) -> bool:
        """Every condition a single published value (no span)."""
        spans = [self.toggles, self.sparsity] + ([self.supply] if self.supply else [])
        return all(lo == hi for lo, hi in spans)

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
    toggle, sparsity = point.toggles[0], point.sparsity[0]
    weight_ones = (1 - sparsity) / 2                        # a weight bit is 1
    cycles, planes = point.input_bits, point.weight_bits
    ones = cycles * point.input_density * point.rows        # rows reading, over all cycles
    toggles = cycles * toggle * point.rows                  # row inputs switching
    cells = point.cols * planes                             # devices on a row
    return {
        "input drive": toggles * (tech["input.dac_energy"]
                                  + cells * tech["input.wordline_energy_per_cell"]),
        "cell reads": ones * cells * tech["cell.read_energy"],
        "digitization": toggles * cells * weight_ones * adc_energy(tech, 1),
        "adder tree": cycles * cells * adder_tree_energy(tech, point.rows)
                      * toggle * weight_ones / RANDOM_ACTIVITY,
    }


def corners(point: ValidationPoint) -> list[ValidationPoint]:
    """``point`` at every combination of the ends of its condition spans (one point if every
    condition is a single value)."""
    supplies = [None] if point.supply is None else sorted(set(point.supply))
    return [replace(point, toggle_rate=t, weight_sparsity=s, vdd=v)
            for t, s, v in itertools.product(sorted(set(point.toggles)),
                                             sorted(set(point.sparsity)), supplies)]


def macro_energy(tech: Tech, point: ValidationPoint) -> dict[str, float]:
    """Energy of one full-precision MVM at ``point``, per component (J): the array's
    (:data:`ADC_COMPONENTS` of every pass for ``adc``; input drive, cell reads, digitization and
    the column adder trees for ``digital``, counted from the point's activity as the module
    says) and ``shift-and-add``, one add per output per partial product after the first, as
    wide as the full-precision sum (``input_bits + weight_bits + ceil(log2 rows)``), with
    random operands. At the point's ``vdd`` when given. A point whose conditions are spans is
    refused (:func:`corners`, :func:`condition_band`)."""
    if not point.known:
        raise ConfigError(f"{point.label}: toggle_rate, weight_sparsity or vdd is a span; "
                          "price its corners (condition_band), not the point")
    if point.supply is not None:
        tech = tech.at_supply(point.supply[0])
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


def condition_band(tech: Tech, point: ValidationPoint) -> tuple[float, float]:
    """Lowest and highest TOPS/W over the :func:`corners` of the point's conditions, at the
    tech file's constants (one value twice if every condition is known)."""
    values = [macro_tops_per_watt(tech, corner) for corner in corners(point)]
    return min(values), max(values)


def macro_band(tech: Tech, point: ValidationPoint) -> tuple[float, float]:
    """TOPS/W with every ranged energy constant at its high end, then at its low end
    (:meth:`~spinemu.energy.tech.Tech.energies_at`), each over the point's condition corners:
    the estimate's whole band."""
    return (condition_band(tech.energies_at("high"), point)[0],
            condition_band(tech.energies_at("low"), point)[1])


def within_tolerance(reported: float, band: tuple[float, float]) -> bool:
    """Some estimate in ``band`` (over conditions the paper leaves open) lies within
    :data:`TOLERANCE` of ``reported``."""
    low, high = band
    return low <= reported * (1 + TOLERANCE) and high >= reported * (1 - TOLERANCE)


def end_ratio(tech: Tech, points: list[ValidationPoint]) -> tuple[float, tuple[float, float]]:
    """``(reported, (lowest, highest) estimated)`` ratio of the high end's TOPS/W to the low
    end's, the two ends priced at the same conditions (each corner of the high end's spans): a
    check of the model's precision scaling that no absolute constant enters to first order.
    Points with ``end = ""`` are left out."""
    ended = [point for point in points if point.end]
    ends = {point.end: point for point in ended}
    if sorted(ends) != sorted(ENDS) or len(ended) != len(ENDS):
        raise ConfigError(f"end ratio needs one point at each end {ENDS}, not "
                          f"{[point.end for point in ended]}")
    high, low = ends["high"], ends["low"]
    ratios = [macro_tops_per_watt(tech, corner)
              / macro_tops_per_watt(tech, replace(low, toggle_rate=corner.toggle_rate,
                                                  weight_sparsity=corner.weight_sparsity,
                                                  vdd=corner.vdd))
              for corner in corners(high)]
    return high.reported / low.reported, (min(ratios), max(ratios))
