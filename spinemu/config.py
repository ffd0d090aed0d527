"""Fabric configurations: frozen, validated on construction, round-tripping to TOML and JSON.

Configs are the leaf every other module reads. Each field is checked when the object is built; an
error names the field, the value and the allowed range, so a bad command line or file is refused
before anything is generated or simulated. The image checks (``check_*``) apply the same rule to
the arrays a config is loaded with: nothing is wrapped or clipped silently.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomli_w

from .numeric import clog2, signed_range, unsigned_range

__all__ = ["ConfigError", "TileConfig"]


class ConfigError(ValueError):
    """A configuration value, file or image outside what is allowed."""


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer in {lo}..{hi}, not {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} = {value} is out of range; allowed {lo}..{hi}")


def _check_image(name: str, image, shape: tuple[int, ...], lo: int, hi: int) -> np.ndarray:
    """Return ``image`` as int64 after checking its shape and that every element is in lo..hi."""
    array = np.asarray(image)
    if array.shape != shape:
        raise ConfigError(f"{name} has shape {array.shape}; expected {shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ConfigError(f"{name} must hold integers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size:
        bad = np.flatnonzero((array < lo) | (array > hi))
        if bad.size:
            where = np.unravel_index(bad[0], shape)
            raise ConfigError(
                f"{name}{list(map(int, where))} = {int(array[where])} is out of range; "
                f"allowed {lo}..{hi} ({bad.size} element(s) outside)"
            )
    return array


@dataclass(frozen=True)
class TileConfig:
    """One crossbar MAC tile (DESIGN.md 3.1).

    Fields
    ------
    rows, cols : 1..4096
        Crossbar size R x C (inputs x outputs).
    cell_bits : 2..12
        Signed stored conductance code G per cell.
    input_bits : 1..8
        Input code width I; ``input_signed`` selects two's complement or unsigned codes.
    adc_bits : 1..16
        Signed ADC output width A.
    gain_bits : 1..16, gain_frac : 0..gain_bits-1
        Unsigned per-column calibration gain and its fraction bits (identity gain 2**gain_frac).
    offset_bits : 1..16
        Signed per-column calibration offset.
    out_bits : 1..32
        Signed tile output width Z.
    lanes : 1..cols
        Columns computed in parallel by the RTL (area for cycles). The arithmetic does not depend
        on it.
    """

    rows: int = 64
    cols: int = 64
    cell_bits: int = 4
    input_bits: int = 4
    input_signed: bool = False
    adc_bits: int = 8
    gain_bits: int = 8
    gain_frac: int = 6
    offset_bits: int = 8
    out_bits: int = 8
    lanes: int = 8

    def __post_init__(self):
        _check_int("rows", self.rows, 1, 4096)
        _check_int("cols", self.cols, 1, 4096)
        _check_int("cell_bits", self.cell_bits, 2, 12)
        _check_int("input_bits", self.input_bits, 1, 8)
        if not isinstance(self.input_signed, bool):
            raise ConfigError(f"input_signed must be true or false, not {self.input_signed!r}")
        _check_int("adc_bits", self.adc_bits, 1, 16)
        _check_int("gain_bits", self.gain_bits, 1, 16)
        _check_int("gain_frac", self.gain_frac, 0, self.gain_bits - 1)
        _check_int("offset_bits", self.offset_bits, 1, 16)
        _check_int("out_bits", self.out_bits, 1, 32)
        _check_int("lanes", self.lanes, 1, self.cols)

    # Derived widths -------------------------------------------------------------------------

    @property
    def acc_bits(self) -> int:
        """Signed column-sum width ``I + G + ceil(log2 R)``: every sum fits exactly."""
        return self.input_bits + self.cell_bits + clog2(self.rows)

    @property
    def max_adc_shift(self) -> int:
        """Largest allowed ``adc_shift`` (``acc_bits``)."""
        return self.acc_bits

    @property
    def shift_bits(self) -> int:
        """Width of the unsigned ``adc_shift`` register."""
        return self.max_adc_shift.bit_length()

    @property
    def groups(self) -> int:
        """Column groups of ``lanes`` columns: ``ceil(cols / lanes)``."""
        return -(-self.cols // self.lanes)

    @property
    def input_range(self) -> tuple[int, int]:
        if self.input_signed:
            return signed_range(self.input_bits)
        return unsigned_range(self.input_bits)

    @property
    def full_scale_shift(self) -> int:
        """The ``adc_shift`` that maps the whole accumulator range onto the ADC without clipping."""
        return max(self.acc_bits - self.adc_bits, 0)

    # Images ---------------------------------------------------------------------------------

    def check_weights(self, g) -> np.ndarray:
        """Weight image ``g[rows, cols]`` of signed ``cell_bits`` codes, as int64."""
        return _check_image("weights", g, (self.rows, self.cols), *signed_range(self.cell_bits))

    def check_inputs(self, x) -> np.ndarray:
        """Input codes ``x[batch, rows]``, as int64."""
        array = np.asarray(x)
        if array.ndim != 2:
            raise ConfigError(f"inputs must be 2-D [batch, {self.rows}], got shape {array.shape}")
        return _check_image("inputs", array, (array.shape[0], self.rows), *self.input_range)

    def check_calibration(self, adc_shift, gain, offset) -> tuple[np.ndarray, ...]:
        """Per-column registers ``(adc_shift, gain, offset)``, each ``[cols]``, as int64."""
        return (
            _check_image("adc_shift", adc_shift, (self.cols,), 0, self.max_adc_shift),
            _check_image("gain", gain, (self.cols,), *unsigned_range(self.gain_bits)),
            _check_image("offset", offset, (self.cols,), *signed_range(self.offset_bits)),
        )

    def calibration(self, adc_shift=None, gain=None, offset=None) -> tuple[np.ndarray, ...]:
        """Checked ``(adc_shift, gain, offset)``; a register left as None takes its default."""
        given = (adc_shift, gain, offset)
        defaults = self.default_calibration()
        return self.check_calibration(
            *(d if v is None else v for v, d in zip(given, defaults, strict=True)))

    def default_calibration(self) -> tuple[np.ndarray, ...]:
        """Full-scale ADC shift, identity gain, zero offset for every column."""
        return (
            np.full(self.cols, self.full_scale_shift, dtype=np.int64),
            np.full(self.cols, 1 << self.gain_frac, dtype=np.int64),
            np.zeros(self.cols, dtype=np.int64),
        )

    # Serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TileConfig:
        if not isinstance(values, dict):
            raise ConfigError(
                f"a tile config must be a table of fields, not {type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown tile config field(s) {unknown}; allowed {sorted(names)}")
        return cls(**values)

    def to_toml(self) -> str:
        return tomli_w.dumps({"tile": self.to_dict()})

    @classmethod
    def from_toml(cls, text: str) -> TileConfig:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"malformed TOML: {error}") from None
        if set(document) != {"tile"}:
            raise ConfigError(
                f"a tile config file holds one [tile] table, found {sorted(document)}")
        return cls.from_dict(document["tile"])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TileConfig:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"malformed JSON: {error}") from None
        return cls.from_dict(values)

    @classmethod
    def load(cls, path: str | Path) -> TileConfig:
        """Read a ``.toml`` or ``.json`` tile config file."""
        path = Path(path)
        text = path.read_text()
        if path.suffix == ".json":
            return cls.from_json(text)
        return cls.from_toml(text)
