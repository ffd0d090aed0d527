"""Physical quantities written with their unit ("0.03 pJ", "2 ns", "1.2 um2"), read into SI.

One table of units per dimension; a value's unit must belong to the dimension its field
expects. Errors are :class:`~spinemu.config.ConfigError` lines naming the field, the value and
what is allowed.
"""

from __future__ import annotations

import math
import re

from spinemu.config import ConfigError

__all__ = ["DIMENSIONS", "parse_quantity", "format_quantity"]

#: Dimension -> unit -> factor to the SI unit (J, s, m2, m, V). "number" takes no unit.
DIMENSIONS: dict[str, dict[str, float]] = {
    "energy": {"aJ": 1e-18, "fJ": 1e-15, "pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "mJ": 1e-3,
               "J": 1.0},
    "time": {"ps": 1e-12, "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0},
    "area": {"nm2": 1e-18, "um2": 1e-12, "mm2": 1e-6, "m2": 1.0},
    "length": {"nm": 1e-9, "um": 1e-6, "mm": 1e-3, "m": 1.0},
    "voltage": {"mV": 1e-3, "V": 1.0},
    "number": {"": 1.0},
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z0-9]*)\s*$")


def _allowed(dimension: str) -> str:
    units = DIMENSIONS[dimension]
    return "a plain number" if dimension == "number" else "a number and one of " + ", ".join(units)


def parse_quantity(field: str, value, dimension: str) -> float:
    """``value`` (a string "number unit", or a bare number for a ``number`` field) in SI units.

    Refuses a missing unit, a unit of another dimension or none known, and a value that is not
    finite, each with one line naming ``field``.
    """
    units = DIMENSIONS[dimension]
    if dimension == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        number, unit = float(value), ""
    elif isinstance(value, str) and (match := _QUANTITY.match(value)):
        number, unit = float(match.group(1)), match.group(2)
    else:
        raise ConfigError(f"{field} = {value!r} is not a quantity; allowed {_allowed(dimension)}")
    if unit not in units:
        other = [d for d, table in DIMENSIONS.items() if unit in table and d != "number"]
        why = f"a unit of {other[0]}" if other else "not a unit understood"
        raise ConfigError(f"{field} = {value!r}: {unit or 'no unit'} is {why}; allowed "
                          f"{_allowed(dimension)}")
    if not math.isfinite(number):
        raise ConfigError(f"{field} = {value!r} is not finite")
    return number * units[unit]


def format_quantity(value: float, dimension: str) -> str:
    """``value`` (SI) in the unit of ``dimension`` that gives a number in 1..1000."""
    if dimension == "number" or value == 0:
        return f"{value:g}"
    for unit, factor in sorted(DIMENSIONS[dimension].items(), key=lambda item: -item[1]):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {unit}"
    unit, factor = min(DIMENSIONS[dimension].items(), key=lambda item: item[1])
    return f"{value / factor:.3g} {unit}"
