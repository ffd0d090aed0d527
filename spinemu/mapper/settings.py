"""What the mapper is asked to build: tile geometry, number formats and the calibration widths."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from spinemu.config import ConfigError, ConvConfig, LayerConfig, TileConfig, check_int

__all__ = ["MapSettings"]


@dataclass(frozen=True)
class MapSettings:
    """Widths and geometry of a mapping; every layer uses the same tile.

    Fields
    ------
    tile_rows, tile_cols : 1..4096
        Tile size R x C.
    lanes : 1..4096
        RTL lanes per tile (at most ``tile_cols`` are used).
    weight_bits : 2..11
        Signed multilevel weight code ``w``, symmetric: ``-(2**(weight_bits-1) - 1)..`` its
        negation.
    frac_bits : 0..10 or None
        Fraction bits ``f`` kept below the level spacing for device variation; the stored cell is
        ``g = w * 2**f + e``, ``cell_bits = weight_bits + frac_bits`` (2..12). None takes
        ``min(4, 12 - weight_bits)``.
    input_bits : 1..8
        Input codes of every layer: the first layer's quantized inputs and every hidden layer's
        activations (``act_bits`` of all layers but the last).
    adc_bits : 1..16
        ADC width A. The tile's output width Z is ``adc_bits + 2`` and its offset
        ``min(adc_bits + 2, 16)`` bits, so compensation can raise a gain and shift a column.
    output_bits : 1..16
        ``act_bits`` of the last layer (the network's output codes).
    mult_bits : 1..24, bias_bits : 1..32
        Requantization multiplier and bias of every output.
    gain_bits : 1..16, gain_frac : 0..gain_bits-1
        Calibration gain: aligning row-tiles of different ADC shifts needs ``gain_frac`` bits
        below 1, compensation a gain above 1.
    compensation : bool
        Fit per-column gain/offset on the calibration batch (else nominal gains, offset 0).
    """

    tile_rows: int = 128
    tile_cols: int = 128
    lanes: int = 8
    weight_bits: int = 4
    frac_bits: int | None = None
    input_bits: int = 4
    adc_bits: int = 8
    output_bits: int = 8
    mult_bits: int = 16
    bias_bits: int = 24
    gain_bits: int = 10
    gain_frac: int = 8
    compensation: bool = True

    def __post_init__(self):
        check_int("tile_rows", self.tile_rows, 1, 4096)
        check_int("tile_cols", self.tile_cols, 1, 4096)
        check_int("lanes", self.lanes, 1, 4096)
        check_int("weight_bits", self.weight_bits, 2, 11)
        if self.frac_bits is None:
            object.__setattr__(self, "frac_bits", min(4, 12 - self.weight_bits))
        check_int("frac_bits", self.frac_bits, 0, 10)
        if not 2 <= self.cell_bits <= 12:
            raise ConfigError(
                f"cell_bits = weight_bits + frac_bits = {self.weight_bits} + {self.frac_bits} = "
                f"{self.cell_bits} is out of range; allowed 2..12")
        check_int("input_bits", self.input_bits, 1, 8)
        check_int("adc_bits", self.adc_bits, 1, 16)
        check_int("output_bits", self.output_bits, 1, 16)
        check_int("mult_bits", self.mult_bits, 1, 24)
        check_int("bias_bits", self.bias_bits, 1, 32)
        check_int("gain_bits", self.gain_bits, 1, 16)
        check_int("gain_frac", self.gain_frac, 0, self.gain_bits - 1)
        if not isinstance(self.compensation, bool):
            raise ConfigError(f"compensation must be true or false, not {self.compensation!r}")

    @property
    def cell_bits(self) -> int:
        return self.weight_bits + self.frac_bits

    def to_dict(self) -> dict:
        return asdict(self)

    def tile(self, input_signed: bool) -> TileConfig:
        return TileConfig(
            rows=self.tile_rows, cols=self.tile_cols, cell_bits=self.cell_bits,
            input_bits=self.input_bits, input_signed=input_signed, adc_bits=self.adc_bits,
            gain_bits=self.gain_bits, gain_frac=self.gain_frac,
            offset_bits=min(self.adc_bits + 2, 16), out_bits=self.adc_bits + 2,
            lanes=min(self.lanes, self.tile_cols))

    def layer(self, in_features: int, out_features: int, relu: bool, input_signed: bool,
              last: bool, conv: ConvConfig | None = None) -> LayerConfig:
        return LayerConfig(in_features, out_features, self.tile(input_signed), relu=relu,
                           act_bits=self.output_bits if last else self.input_bits,
                           mult_bits=self.mult_bits, bias_bits=self.bias_bits, conv=conv)
