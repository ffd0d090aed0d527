"""Technology descriptions: the constants the energy, latency and area estimate multiplies
activity by (docs/energy.md).

A tech file is TOML. Every constant is a quantity with its unit, written either as a string
(``read_energy = "2 fJ"``) or as a table with its published or assumed range and its source
(``read_energy = {value = "2 fJ", low = "0.1 fJ", high = "10 fJ", source = "derived"}``). The
file is checked as a whole on loading: an unknown or missing field, a negative or zero constant,
a unit that is not understood or of another dimension, a value outside its own range, each is
one :class:`~spinemu.config.ConfigError` line naming the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from spinemu.config import ConfigError

from .units import parse_quantity

__all__ = ["Tech", "SCHEMA", "OPTIONAL", "SUPPLY_SCALED", "SUPPLY_RANGE", "CHOICES",
           "BUNDLED_TECH", "load_tech", "bundled_tech"]

#: section -> field -> (dimension, meaning). Every field is required and > 0.
SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "tech": {
        "node": ("length", "CMOS node of the periphery"),
    },
    "cell": {
        "read_energy": ("energy", "one device read by one unit-length input pulse"),
        "read_time": ("time", "one unit-length input pulse (the array settles within it)"),
        "area": ("area", "one device with its access transistor"),
        "bits_per_device": ("number", "conductance bits one device holds (1: a binary MTJ)"),
    },
    "input": {
        "dac_energy": ("energy", "row driver (wordline DAC) per input pulse"),
        "wordline_energy_per_cell": ("energy", "wordline charging per device on the row, "
                                               "per pulse"),
    },
    "adc": {
        "energy": ("energy", "the ADC model's constant (walden: per conversion step 2^bits; "
                             "linear: per bit; thermal: per 4^bits)"),
        "time_per_bit": ("time", "conversion time per bit (SAR: one comparison per bit)"),
        "area_8bit": ("area", "one ADC at 8 bits; scaled by 2^(bits - 8)"),
        "columns_per_adc": ("number", "columns sharing one ADC (conversions in series)"),
    },
    "digital": {
        "add_energy_per_bit": ("energy", "an adder, per bit of width"),
        "mult_energy_8bit": ("energy", "an 8x8-bit multiply; scaled by (a b) / 64"),
        "buffer_energy_per_bit": ("energy", "an activation buffer (small SRAM) read or write, "
                                            "per bit"),
        "add_time": ("time", "one adder-tree level (one pipeline stage)"),
        "periphery_time": ("time", "output periphery of one output (bias, ReLU, scale)"),
        "tile_area": ("area", "periphery of one tile: drivers, calibration, registers"),
    },
    "pbit": {
        "smtj_energy": ("energy", "an sMTJ p-bit: one random bit (one update), read-out "
                                  "included"),
        "smtj_dwell": ("time", "mean dwell time of the sMTJ (time between independent bits)"),
        "smtj_area": ("area", "one sMTJ p-bit (device, transistor, comparator)"),
        "cmos_update_energy": ("energy", "a CMOS p-bit update: LFSR leap and tanh LUT read"),
        "cmos_update_time": ("time", "a CMOS p-bit update (one clock)"),
        "cmos_area": ("area", "one CMOS p-bit (LFSR and its share of the LUT)"),
    },
    "baseline": {
        "node": ("length", "node of the baseline's published energies"),
        "energy_scale": ("number", "multiplies every baseline energy (node scaling)"),
        "add8": ("energy", "8-bit integer add"),
        "mult8": ("energy", "8-bit integer multiply"),
        "sram_8kb": ("energy", "64-bit read of an 8 KB SRAM"),
        "sram_32kb": ("energy", "64-bit read of a 32 KB SRAM"),
        "sram_1mb": ("energy", "64-bit read of a 1 MB SRAM"),
        "dram": ("energy", "64-bit DRAM access"),
    },
}
#: Optional constants: section.field -> (dimension, meaning). Checked like SCHEMA's when given.
OPTIONAL: dict[str, tuple[str, str]] = {
    "tech.vdd_nominal": ("voltage", "supply the CMOS energies are given at (for "
                                    ":meth:`Tech.at_supply`)"),
}
#: The CMOS energies :meth:`Tech.at_supply` scales as C V^2 (switched capacitance): the row
#: drivers and wordlines, the ADC / digitizer, the digital logic and buffers and the CMOS p-bit.
#: The MTJ read (``cell.read_energy``), the sMTJ and the baseline's published figures are not
#: scaled.
SUPPLY_SCALED = ("input.dac_energy", "input.wordline_energy_per_cell", "adc.energy",
                 "digital.add_energy_per_bit", "digital.mult_energy_8bit",
                 "digital.buffer_energy_per_bit", "pbit.cmos_update_energy")
#: Supplies :meth:`Tech.at_supply` takes, V.
SUPPLY_RANGE = (0.1, 5.0)
INTEGER_FIELDS = {"cell.bits_per_device", "adc.columns_per_adc"}
#: Choice fields: section.field -> allowed values.
CHOICES = {
    "adc.model": ("walden", "linear", "thermal"),
    "input.encoding": ("bit_serial", "pwm"),
}
#: Optional text fields.
TEXT_FIELDS = {"tech.name", "tech.description"}
#: Optional sections passed through unparsed here (validation points, read by their user).
FREE_SECTIONS = {"validation"}

BUNDLED_TECH = {"sot28": "sot_mram_28nm.toml",
                "cai_isscc2023": "cai_isscc2023_stt28.toml",
                "natelec2025": "natelec2025_stt40.toml"}


@dataclass(frozen=True)
class Tech:
    """A checked technology description.

    Attributes
    ----------
    name : str
    values : dict[str, float]
        ``"section.field"`` -> the constant in SI units (J, s, m2, m) or a plain number.
    ranges : dict[str, tuple[float, float]]
        The constants given with a range: ``(low, high)`` in SI units.
    sources : dict[str, str]
        The source tag given with a constant (docs/energy.md expands them).
    choices : dict[str, str]
        ``adc.model`` and ``input.encoding``.
    extra : dict
        Free sections (``validation``) as read.
    """

    name: str
    values: dict[str, float] = field(hash=False)
    ranges: dict[str, tuple[float, float]] = field(hash=False)
    sources: dict[str, str] = field(hash=False)
    choices: dict[str, str] = field(hash=False)
    extra: dict = field(hash=False, default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def replace(self, **values: float) -> Tech:
        """A copy with some constants changed (keys ``section__field``), for sweeps."""
        changed = dict(self.values)
        for key, value in values.items():
            name = key.replace("__", ".")
            if name not in changed:
                raise ConfigError(f"{name} is not a tech constant; allowed {sorted(changed)}")
            changed[name] = value
        return Tech(self.name, changed, self.ranges, self.sources, self.choices, self.extra)


    def energies_at(self, end: str) -> Tech:
        """A copy with every energy constant that has a range at its ``low`` or ``high`` end
        (times, areas and counts unchanged): the estimate's bounds from the ranges."""
        if end not in ("low", "high"):
            raise ConfigError(f"end = {end!r} is not known; allowed low, high")
        changed = {key: bounds[0 if end == "low" else 1]
                   for key, bounds in self.ranges.items()
                   if dimension_of(key) == "energy"}
        return Tech(self.name, {**self.values, **changed}, self.ranges, self.sources,
                    self.choices, self.extra)

    def at_supply(self, vdd: float) -> Tech:
        """A copy at supply ``vdd`` (V): every :data:`SUPPLY_SCALED` energy, and its range,
        times ``(vdd / tech.vdd_nominal)^2`` (dynamic CMOS energy C V^2 at the same switched
        capacitance; leakage is not modelled)."""
        nominal = self.values.get("tech.vdd_nominal")
        if nominal is None:
            raise ConfigError(f"{self.name}: tech.vdd_nominal is not given; supply scaling "
                              "needs the voltage the CMOS energies are given at")
        lo, hi = SUPPLY_RANGE
        if isinstance(vdd, bool) or not isinstance(vdd, (int, float)) or not lo <= vdd <= hi:
            raise ConfigError(f"vdd = {vdd!r} is out of range; allowed {lo}..{hi} (V)")
        factor = (vdd / nominal) ** 2
        values = {**self.values, **{key: self.values[key] * factor for key in SUPPLY_SCALED}}
        ranges = {key: ((bounds[0] * factor, bounds[1] * factor) if key in SUPPLY_SCALED
                        else bounds) for key, bounds in self.ranges.items()}
        return Tech(self.name, values, ranges, self.sources, self.choices, self.extra)


def dimension_of(key: str) -> str:
    """The dimension of constant ``section.field`` (:data:`SCHEMA` or :data:`OPTIONAL`)."""
    if key in OPTIONAL:
        return OPTIONAL[key][0]
    section, name = key.split(".")
    return SCHEMA[section][name][0]


def _constant(name: str, raw, dimension: str) -> tuple[float, tuple[float, float] | None, str]:
    """A constant's value, range and source from its string or table form."""
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - {"value", "low", "high", "source"})
        if unknown:
            raise ConfigError(f"{name} has unknown key(s) {unknown}; allowed value, low, high, "
                              "source")
        if "value" not in raw:
            raise ConfigError(f"{name} is missing its value")
        value = parse_quantity(name, raw["value"], dimension)
        bounds = None
        if "low" in raw or "high" in raw:
            if not ("low" in raw and "high" in raw):
                raise ConfigError(f"{name} gives only one of low, high; give both or neither")
            bounds = (parse_quantity(f"{name}.low", raw["low"], dimension),
                      parse_quantity(f"{name}.high", raw["high"], dimension))
        source = raw.get("source", "")
        if not isinstance(source, str):
            raise ConfigError(f"{name}.source must be a string, not {source!r}")
        return value, bounds, source
    return parse_quantity(name, raw, dimension), None, ""


def _check_constant(name: str, raw, value: float, bounds) -> None:
    if value <= 0:
        shown = raw["value"] if isinstance(raw, dict) else raw
        raise ConfigError(f"{name} = {shown!r} is out of range; allowed > 0")
    if name in INTEGER_FIELDS and value != int(value):
        raise ConfigError(f"{name} = {value:g} must be a whole number")
    if bounds is not None:
        low, high = bounds
        if not low <= value <= high:
            raise ConfigError(f"{name} = {value:g} is outside its own range {low:g}..{high:g} "
                              "(SI units)")


def tech_from_dict(document: dict, origin: str = "tech file") -> Tech:
    """A :class:`Tech` from a parsed TOML document, checked as the module says."""
    known = set(SCHEMA) | FREE_SECTIONS
    unknown = sorted(set(document) - known)
    if unknown:
        raise ConfigError(f"{origin}: unknown section(s) {unknown}; allowed {sorted(known)}")
    values, ranges, sources, choices = {}, {}, {}, {}
    for section, fields in SCHEMA.items():
        table = document.get(section)
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: section [{section}] is missing")
        allowed = set(fields) | {k.split(".")[1] for k in (*CHOICES, *TEXT_FIELDS, *OPTIONAL)
                                 if k.startswith(section + ".")}
        extra = sorted(set(table) - allowed)
        if extra:
            raise ConfigError(f"{origin}: unknown field(s) {[f'{section}.{e}' for e in extra]}; "
                              f"allowed {sorted(f'{section}.{a}' for a in allowed)}")
        for name, (dimension, _) in fields.items():
            key = f"{section}.{name}"
            if name not in table:
                raise ConfigError(f"{origin}: {key} is missing ({dimension}: {fields[name][1]})")
            value, bounds, source = _constant(key, table[name], dimension)
            _check_constant(key, table[name], value, bounds)
            values[key] = value
            if bounds is not None:
                ranges[key] = bounds
            if source:
                sources[key] = source
    for key, (dimension, _) in OPTIONAL.items():
        section, name = key.split(".")
        if name in document[section]:
            raw = document[section][name]
            value, bounds, source = _constant(key, raw, dimension)
            _check_constant(key, raw, value, bounds)
            values[key] = value
            if bounds is not None:
                ranges[key] = bounds
            if source:
                sources[key] = source
    for key, allowed in CHOICES.items():
        section, name = key.split(".")
        choice = document[section].get(name, allowed[0])
        if choice not in allowed:
            raise ConfigError(f"{key} = {choice!r} is not known; allowed {', '.join(allowed)}")
        choices[key] = choice
    name = document["tech"].get("name", origin)
    if not isinstance(name, str):
        raise ConfigError(f"tech.name must be a string, not {name!r}")
    return Tech(name, values, ranges, sources, choices,
                {s: document[s] for s in FREE_SECTIONS if s in document})


def load_tech(path: str | Path) -> Tech:
    """Read and check a tech file (TOML), or a bundled one by name (:data:`BUNDLED_TECH`)."""
    if str(path) in BUNDLED_TECH:
        return bundled_tech(str(path))
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"tech file {path} cannot be read: {error.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: malformed TOML: {error}") from None
    return tech_from_dict(document, str(path))


def bundled_tech(name: str = "sot28") -> Tech:
    """A bundled tech file: ``sot28`` (the default chip) or a validation macro."""
    if name not in BUNDLED_TECH:
        raise ConfigError(f"tech {name!r} is not bundled; allowed {', '.join(BUNDLED_TECH)}")
    text = resources.files("spinemu.energy").joinpath("tech", BUNDLED_TECH[name]).read_text()
    return tech_from_dict(tomllib.loads(text), name)
