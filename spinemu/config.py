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
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomli_w

from .numeric import clog2, code_range, signed_range, unsigned_range

__all__ = [
    "ConfigError", "SpinemuError", "TileConfig", "ConvConfig", "FlatShape", "LayerConfig",
    "NetworkConfig",
    "PBitConfig", "POOLS",
    "Topology", "check_float", "check_image", "check_int", "read_npz",
]


class SpinemuError(Exception):
    """Base of every error spinemu raises on purpose: a bad config, image or input, a refused
    frame, a link that does not answer, a simulator or a toolchain that failed."""


class ConfigError(SpinemuError, ValueError):
    """A configuration value, file or image outside what is allowed."""


def check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer in {lo}..{hi}, not {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} = {value} is out of range; allowed {lo}..{hi}")


def check_float(name: str, value, lo: float, hi: float) -> None:
    """Refuse ``value`` unless it is a real number in ``lo..hi``, naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number in {lo}..{hi}, not {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} = {value} is out of range; allowed {lo}..{hi}")


def read_npz(path, what: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` archive ``path`` (pickles refused), read now; a file that
    cannot be read as one (missing, not a zip, a bare ``.npy`` array, a corrupt member) is a
    :class:`ConfigError` ``"{path} is not a readable npz {what}: {why}"``."""
    def refused(why) -> ConfigError:
        return ConfigError(f"{path} is not a readable npz {what}: {why}")

    # The file is opened here, so that it is closed whatever np.load makes of it (on a broken
    # zip, np.load given a path leaves its file open).
    try:
        with open(path, "rb") as file:
            data = np.load(file, allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile):
                with data:
                    return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise refused(error) from None
    raise refused("it holds a single array, not an archive of named arrays")


def check_image(name: str, image, shape: tuple[int, ...], lo: int, hi: int, *,
                note: str = "") -> np.ndarray:
    """Return ``image`` as int64 after checking its shape and that every element is an integer
    in ``lo..hi``: the one range check of arrays (images, codes, states, seeds).

    The error names ``name``, the index and value of the first element outside and the range;
    ``note`` (the width, the unit) goes into its parentheses, as in ``weights[0, 1] = 8 is out
    of range; allowed -8..7 (cell_bits = 4; 3 element(s) outside)``.
    """
    array = np.asarray(image)
    if array.shape != shape:
        raise ConfigError(f"{name} has shape {array.shape}; expected {shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ConfigError(f"{name} must hold integers, got dtype {array.dtype}")
    if array.size:
        # Compared before the cast, so that a uint64 beyond int64 is refused with its value.
        bad = np.flatnonzero((array < lo) | (array > hi))
        if bad.size:
            where = np.unravel_index(bad[0], shape)
            raise ConfigError(
                f"{name}{list(map(int, where))} = {int(array[where])} is out of range; "
                f"allowed {lo}..{hi} ({note + '; ' if note else ''}{bad.size} element(s) outside)"
            )
    return array.astype(np.int64)


class _Serialisable:
    """TOML/JSON round trips for a frozen config dataclass stored under one TOML table.

    Subclasses set ``_TABLE`` (the table name, also used in messages) and may override
    :meth:`from_dict` to rebuild nested configs.
    """

    _TABLE = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def _fields_of(cls, values) -> dict:
        """``values`` checked to be a table holding only this config's fields."""
        if not isinstance(values, dict):
            raise ConfigError(
                f"a {cls._TABLE} config must be a table of fields, not {type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"unknown {cls._TABLE} config field(s) {unknown}; allowed {sorted(names)}")
        return values

    @classmethod
    def from_dict(cls, values: dict):
        return cls(**cls._fields_of(values))

    def to_toml(self) -> str:
        return tomli_w.dumps({self._TABLE: self.to_dict()})

    @classmethod
    def from_toml(cls, text: str):
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"malformed TOML: {error}") from None
        if set(document) != {cls._TABLE}:
            raise ConfigError(f"a {cls._TABLE} config file holds one [{cls._TABLE}] table, "
                              f"found {sorted(document)}")
        return cls.from_dict(document[cls._TABLE])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"malformed JSON: {error}") from None
        return cls.from_dict(values)

    @classmethod
    def load(cls, path: str | Path):
        """Read a ``.toml`` or ``.json`` config file."""
        path = Path(path)
        text = path.read_text()
        if path.suffix == ".json":
            return cls.from_json(text)
        return cls.from_toml(text)


@dataclass(frozen=True)
class TileConfig(_Serialisable):
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

    _TABLE = "tile"

    def __post_init__(self):
        check_int("rows", self.rows, 1, 4096)
        check_int("cols", self.cols, 1, 4096)
        check_int("cell_bits", self.cell_bits, 2, 12)
        check_int("input_bits", self.input_bits, 1, 8)
        if not isinstance(self.input_signed, bool):
            raise ConfigError(f"input_signed must be true or false, not {self.input_signed!r}")
        check_int("adc_bits", self.adc_bits, 1, 16)
        check_int("gain_bits", self.gain_bits, 1, 16)
        check_int("gain_frac", self.gain_frac, 0, self.gain_bits - 1)
        check_int("offset_bits", self.offset_bits, 1, 16)
        check_int("out_bits", self.out_bits, 1, 32)
        check_int("lanes", self.lanes, 1, self.cols)

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
        return code_range(self.input_bits, self.input_signed)

    @property
    def full_scale_shift(self) -> int:
        """The ``adc_shift`` that maps the whole accumulator range onto the ADC without clipping."""
        return max(self.acc_bits - self.adc_bits, 0)

    # Images ---------------------------------------------------------------------------------

    def check_weights(self, g) -> np.ndarray:
        """Weight image ``g[rows, cols]`` of signed ``cell_bits`` codes, as int64."""
        return check_image("weights", g, (self.rows, self.cols), *signed_range(self.cell_bits))

    def check_inputs(self, x) -> np.ndarray:
        """Input codes ``x[batch, rows]``, as int64."""
        array = np.asarray(x)
        if array.ndim != 2:
            raise ConfigError(f"inputs must be 2-D [batch, {self.rows}], got shape {array.shape}")
        return check_image("inputs", array, (array.shape[0], self.rows), *self.input_range)

    def check_calibration(self, adc_shift, gain, offset) -> tuple[np.ndarray, ...]:
        """Per-column registers ``(adc_shift, gain, offset)``, each ``[cols]``, as int64."""
        return (
            check_image("adc_shift", adc_shift, (self.cols,), 0, self.max_adc_shift),
            check_image("gain", gain, (self.cols,), *unsigned_range(self.gain_bits)),
            check_image("offset", offset, (self.cols,), *signed_range(self.offset_bits)),
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


#: Pooling of a convolution's output codes: none, max or average (docs/mapper.md).
POOLS = ("none", "max", "avg")


@dataclass(frozen=True)
class ConvConfig(_Serialisable):
    """The window geometry of a convolution layer (groups 1, dilation 1, zero padding), NHWC.

    The layer's flat input of ``height * width * channels`` codes is an NHWC image (channels
    fastest). At each of the ``conv_height x conv_width`` output positions the patch of
    ``kernel x kernel x channels`` codes (im2col column order ``(kh, kw, c)``, ``c`` fastest;
    taps outside the image are 0) is one input vector of the layer's weight matrix
    ``[kernel * kernel * channels, out_features]``. A pooling of ``pool_size x pool_size``
    non-overlapping windows (stride = size) then reduces the output codes; it must tile the
    convolution's output exactly.

    Fields
    ------
    height, width, channels : 1..4096
        Input image.
    kernel : 1..15, stride : 1..15, padding : 0..kernel-1
        Square kernel, equal stride and zero padding on every side.
    pool : "none", "max" or "avg";  pool_size : 1..15 (1 with "none")
    """

    height: int
    width: int
    channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    pool: str = "none"
    pool_size: int = 1

    _TABLE = "conv"

    def __post_init__(self):
        for name in ("height", "width", "channels"):
            check_int(name, getattr(self, name), 1, 4096)
        check_int("kernel", self.kernel, 1, 15)
        check_int("stride", self.stride, 1, 15)
        check_int("padding", self.padding, 0, self.kernel - 1)
        if self.pool not in POOLS:
            raise ConfigError(f"pool = {self.pool!r} is not supported; allowed {list(POOLS)}")
        check_int("pool_size", self.pool_size, 1, 1 if self.pool == "none" else 15)
        padded = min(self.height, self.width) + 2 * self.padding
        if self.kernel > padded:
            raise ConfigError(f"kernel = {self.kernel} is larger than the padded input "
                              f"{self.height + 2 * self.padding}x{self.width + 2 * self.padding}"
                              f"; allowed 1..{padded}")
        for name, size in (("height", self.conv_height), ("width", self.conv_width)):
            if size % self.pool_size:
                raise ConfigError(f"pool_size = {self.pool_size} does not tile the convolution "
                                  f"output {name} {size}; allowed a divisor of {size}")

    @property
    def conv_height(self) -> int:
        return (self.height + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def conv_width(self) -> int:
        return (self.width + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_height(self) -> int:
        return self.conv_height // self.pool_size

    @property
    def out_width(self) -> int:
        return self.conv_width // self.pool_size

    @property
    def positions(self) -> int:
        """Output positions before pooling: input vectors of the weight matrix per image."""
        return self.conv_height * self.conv_width

    @property
    def patch_features(self) -> int:
        """Rows of the weight matrix: ``kernel * kernel * channels``."""
        return self.kernel * self.kernel * self.channels

    @property
    def inputs(self) -> int:
        return self.height * self.width * self.channels

    def outputs(self, out_channels: int) -> int:
        """Flat output codes per image (after pooling) for ``out_channels`` channels."""
        return self.out_height * self.out_width * out_channels

    @property
    def label(self) -> str:
        """``conv 3x3 s1 p1, max 2``: the geometry in a few words, for reports."""
        pool = "" if self.pool == "none" else f", {self.pool} {self.pool_size}"
        return f"conv {self.kernel}x{self.kernel} s{self.stride} p{self.padding}{pool}"


class FlatShape:
    """``inputs`` and ``outputs`` of a layer with ``in_features``, ``out_features`` and ``conv``
    (a :class:`ConvConfig` or None): a dense layer's features, a convolution's whole images."""

    @property
    def inputs(self) -> int:
        """Flat input codes per vector: ``in_features``, or a convolution's whole image."""
        return self.in_features if self.conv is None else self.conv.inputs

    @property
    def outputs(self) -> int:
        """Flat output codes per vector: ``out_features``, or a convolution's pooled image."""
        return self.out_features if self.conv is None else self.conv.outputs(self.out_features)


@dataclass(frozen=True)
class LayerConfig(_Serialisable, FlatShape):
    """A fully connected layer on a grid of crossbar tiles (DESIGN.md 3.2), or a convolution:
    the same grid applied to every im2col patch of its input (``conv``, docs/mapper.md).

    Fields
    ------
    in_features, out_features : 1..65536
        Weight matrix In x Out, mapped onto ``row_tiles x col_tiles`` tiles, zero padded. For a
        convolution In is ``conv.patch_features`` and Out its output channels.
    tile : TileConfig
        Every tile of the grid; its ``input_bits``/``input_signed`` are this layer's input codes.
    relu : bool
        Output periphery clamps at zero; the output codes are then unsigned.
    act_bits : 1..16
        Output code width O (unsigned with ``relu``, signed without).
    mult_bits : 1..24, bias_bits : 1..32
        Widths of the unsigned requantization multiplier and the signed bias of each output.
    conv : ConvConfig or None
        Window geometry of a convolution; None for a dense layer.
    """

    in_features: int
    out_features: int
    tile: TileConfig = TileConfig()
    relu: bool = True
    act_bits: int = 8
    mult_bits: int = 16
    bias_bits: int = 24
    conv: ConvConfig | None = None

    _TABLE = "layer"

    def __post_init__(self):
        check_int("in_features", self.in_features, 1, 65536)
        check_int("out_features", self.out_features, 1, 65536)
        if not isinstance(self.tile, TileConfig):
            raise ConfigError(f"tile must be a TileConfig, not {type(self.tile).__name__}")
        if not isinstance(self.relu, bool):
            raise ConfigError(f"relu must be true or false, not {self.relu!r}")
        check_int("act_bits", self.act_bits, 1, 16)
        check_int("mult_bits", self.mult_bits, 1, 24)
        check_int("bias_bits", self.bias_bits, 1, 32)
        if self.conv is not None:
            if not isinstance(self.conv, ConvConfig):
                raise ConfigError(f"conv must be a ConvConfig or None, not "
                                  f"{type(self.conv).__name__}")
            if self.in_features != self.conv.patch_features:
                raise ConfigError(f"in_features = {self.in_features} does not match the "
                                  f"convolution's patch of {self.conv.patch_features} (kernel "
                                  f"{self.conv.kernel}x{self.conv.kernel} x {self.conv.channels} "
                                  f"channels)")

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        if self.conv is None:
            del values["conv"]  # TOML has no null: a dense layer has no [conv] table
        return values

    @classmethod
    def from_dict(cls, values: dict) -> LayerConfig:
        values = dict(cls._fields_of(values))
        if "tile" in values:
            values["tile"] = TileConfig.from_dict(values["tile"])
        if "conv" in values:
            values["conv"] = ConvConfig.from_dict(values["conv"])
        return cls(**values)

    @property
    def row_tiles(self) -> int:
        return -(-self.in_features // self.tile.rows)

    @property
    def col_tiles(self) -> int:
        return -(-self.out_features // self.tile.cols)

    @property
    def y_bits(self) -> int:
        """Signed width of the adder-tree sum: one bit of growth per tree level."""
        return self.tile.out_bits + clog2(self.row_tiles)

    @property
    def v_bits(self) -> int:
        """Signed width of ``y + bias``."""
        return max(self.y_bits, self.bias_bits) + 1

    @property
    def max_shift(self) -> int:
        """Largest requantization shift: ``v * mult`` fits ``v_bits + mult_bits`` bits."""
        return self.v_bits + self.mult_bits

    @property
    def act_range(self) -> tuple[int, int]:
        return code_range(self.act_bits, not self.relu)


@dataclass(frozen=True)
class NetworkConfig(_Serialisable):
    """Layers that stream into each other: layer ``i``'s output codes are layer ``i+1``'s
    input codes, so widths and signedness must chain."""

    layers: tuple[LayerConfig, ...]

    _TABLE = "network"

    def __post_init__(self):
        if not isinstance(self.layers, tuple) or not self.layers:
            raise ConfigError("layers must be a non-empty tuple of LayerConfig")
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, LayerConfig):
                raise ConfigError(f"layer {index} must be a LayerConfig, not "
                                  f"{type(layer).__name__}")
        for index, (a, b) in enumerate(zip(self.layers, self.layers[1:], strict=False)):
            if a.outputs != b.inputs:
                if a.conv is None and b.conv is None:
                    raise ConfigError(f"layer {index + 1}: in_features = {b.in_features} but "
                                      f"layer {index} has out_features = {a.out_features}")
                raise ConfigError(f"layer {index + 1}: {b.inputs} inputs but layer {index} has "
                                  f"{a.outputs} outputs")
            if a.act_bits > 8:
                raise ConfigError(f"layer {index}: act_bits = {a.act_bits} is out of range for a "
                                  f"hidden layer; allowed 1..8 (the next layer's input_bits)")
            if (b.tile.input_bits, b.tile.input_signed) != (a.act_bits, not a.relu):
                kind = "unsigned" if a.relu else "signed"
                raise ConfigError(
                    f"layer {index + 1}: inputs are {b.tile.input_bits}-bit "
                    f"{'signed' if b.tile.input_signed else 'unsigned'} but layer {index} "
                    f"outputs {a.act_bits}-bit {kind} codes")

    def check_inputs(self, x) -> np.ndarray:
        """Input codes ``x[batch, inputs]`` of the first layer, as int64."""
        first = self.layers[0]
        array = np.asarray(x)
        if array.ndim != 2:
            raise ConfigError(f"inputs must be 2-D [batch, {first.inputs}], got shape "
                              f"{array.shape}")
        return check_image("inputs", array, (array.shape[0], first.inputs),
                           *first.tile.input_range)

    def to_dict(self) -> dict:
        return {"layer": [layer.to_dict() for layer in self.layers]}

    @classmethod
    def from_dict(cls, values: dict) -> NetworkConfig:
        if not isinstance(values, dict) or set(values) != {"layer"}:
            raise ConfigError("a network config holds one array of [[network.layer]] tables")
        if not isinstance(values["layer"], list):
            raise ConfigError("network.layer must be an array of tables")
        return cls(tuple(LayerConfig.from_dict(layer) for layer in values["layer"]))


@dataclass(frozen=True)
class PBitConfig(_Serialisable):
    """Number formats of a p-bit core (DESIGN.md 3.4); the graph is a :class:`Topology`.

    Fields
    ------
    coupling_bits : 2..16, bias_bits : 2..24
        Signed couplings J and biases h.
    beta_bits : 1..16, beta_frac : 0..24
        Unsigned inverse-temperature code B with ``beta_frac`` fraction bits.
    lut_bits : 2..14, lut_frac : 0..16
        Signed activation argument ``a`` (table of ``2**lut_bits`` entries), ``lut_frac``
        fraction bits: ``beta = B / 2**(beta_frac + lut_frac)``.
    rng_bits : 2..32
        Signed random sample and table value width; each p-bit's LFSR leaps this many steps.
    update_units : 1..65536
        Physical update units U of the RTL (at most N); results never depend on it.
    update_lanes : 1..1024
        Couplings K each update unit adds per clock (at most the largest degree); results
        never depend on it.
    """

    coupling_bits: int = 8
    bias_bits: int = 12
    beta_bits: int = 12
    beta_frac: int = 8
    lut_bits: int = 10
    lut_frac: int = 6
    rng_bits: int = 14
    update_units: int = 1
    update_lanes: int = 1

    _TABLE = "pbit"

    def __post_init__(self):
        check_int("coupling_bits", self.coupling_bits, 2, 16)
        check_int("bias_bits", self.bias_bits, 2, 24)
        check_int("beta_bits", self.beta_bits, 1, 16)
        check_int("beta_frac", self.beta_frac, 0, 24)
        check_int("lut_bits", self.lut_bits, 2, 14)
        check_int("lut_frac", self.lut_frac, 0, 16)
        check_int("rng_bits", self.rng_bits, 2, 32)
        check_int("update_units", self.update_units, 1, 65536)
        check_int("update_lanes", self.update_lanes, 1, 1024)

    def check_lanes(self, topology: Topology) -> None:
        """Refuse ``update_lanes`` over the largest degree of ``topology`` (at least 1): a
        lane more than any p-bit has neighbours would never add a coupling."""
        top = max(topology.max_degree, 1)
        if self.update_lanes > top:
            raise ConfigError(f"update_lanes = {self.update_lanes} is out of range; allowed "
                              f"1..{top} (the largest degree)")

    def beta(self, code: int) -> float:
        """The inverse temperature a code B stands for."""
        return code / (1 << (self.beta_frac + self.lut_frac))

    def field_bits(self, max_degree: int) -> int:
        """Signed width of ``I = sum_j J m_j + h`` for p-bits of at most ``max_degree``."""
        j_lo, h_lo = signed_range(self.coupling_bits)[0], signed_range(self.bias_bits)[0]
        bound = -(max_degree * j_lo + h_lo)
        return bound.bit_length() + 1


@dataclass(frozen=True)
class Topology(_Serialisable):
    """The coupling graph of a p-bit core, fixed at generation, and its colouring.

    ``edges`` are pairs ``(i, j)`` with ``0 <= i < j < n``, each once; ``colours[i]`` in
    ``0..K-1`` with every colour used and no edge inside a colour (a proper colouring).
    """

    n: int
    edges: tuple[tuple[int, int], ...]
    colours: tuple[int, ...]

    _TABLE = "topology"

    def __post_init__(self):
        check_int("n", self.n, 1, 65536)
        seen = set()
        for index, edge in enumerate(self.edges):
            if not (isinstance(edge, tuple) and len(edge) == 2):
                raise ConfigError(f"edge {index} must be a pair of nodes, not {edge!r}")
            i, j = edge
            for node in edge:
                check_int(f"edge {index} node", node, 0, self.n - 1)
            if i == j:
                raise ConfigError(f"edge {index} ({i}, {j}) is a self loop")
            if i > j:
                raise ConfigError(f"edge {index} ({i}, {j}) must list the smaller node first")
            if edge in seen:
                raise ConfigError(f"edge {index} ({i}, {j}) is a duplicate")
            seen.add(edge)
        if len(self.colours) != self.n:
            raise ConfigError(f"colours has {len(self.colours)} entries; expected n = {self.n}")
        for node, colour in enumerate(self.colours):
            check_int(f"colours[{node}]", colour, 0, self.n - 1)
        used = set(self.colours)
        if used != set(range(len(used))):
            raise ConfigError(f"colours must use every colour 0..K-1, found {sorted(used)}")
        for i, j in self.edges:
            if self.colours[i] == self.colours[j]:
                raise ConfigError(f"colouring is not proper: edge ({i}, {j}) joins two nodes of "
                                  f"colour {self.colours[i]}")

    @classmethod
    def from_dict(cls, values: dict) -> Topology:
        values = cls._fields_of(values)
        return cls(n=values.get("n"), edges=tuple(tuple(e) for e in values.get("edges", ())),
                   colours=tuple(values.get("colours", ())))

    def to_dict(self) -> dict:
        return {"n": self.n, "edges": [list(e) for e in self.edges],
                "colours": list(self.colours)}

    @property
    def num_colours(self) -> int:
        return max(self.colours) + 1

    def degrees(self) -> np.ndarray:
        degree = np.zeros(self.n, dtype=np.int64)
        for i, j in self.edges:
            degree[i] += 1
            degree[j] += 1
        return degree

    @property
    def max_degree(self) -> int:
        return int(self.degrees().max())
