"""A seeded model of programming multilevel SOT-MRAM cells: what the array stores when the mapper
asks for weight codes.

The mapper asks for ``g0 = w * 2**f`` (weight code ``w``, ``f`` fraction bits kept below the
level spacing ``2**f``). The array stores, for the cell at input row ``r`` of layer output
``o`` (physical row-tile ``p = r // tile rows``)::

    g = clip(round(k[p, o] * g0 + sigma * 2**f * n[r, o]), Gmin, Gmax)

- ``k[p, o] = 1 + gain_spread * m[p, o]``: the conductance gain of one tile column;
- ``sigma * 2**f * n``: the programming error, ``sigma`` in level spacings, kept in the
  fraction bits;
- a fraction ``stuck`` of the cells ignores all that and sits at ``Gmin`` (the lowest code,
  ``-2**(G-1)``) or ``Gmax`` (the highest, ``2**(G-1) - 1``), half each: the signed code spans
  the conductance range, weight 0 being mid-range (a reference-column read-out).

``n``, ``m`` are standard normal, drawn with ``u`` (uniform, picks stuck cells and their level)
from ``numpy.random.default_rng([seed, layer])`` in the order ``m``, ``n``, ``u``, whatever
the parameters, so one seed gives the same device at every ``sigma`` and ``stuck``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from spinemu.config import ConfigError, check_float
from spinemu.numeric import round_half_up, signed_range

__all__ = ["DeviceModel"]


@dataclass(frozen=True)
class DeviceModel:
    """Device non-idealities, seeded.

    Fields
    ------
    sigma : 0..10
        Programming error standard deviation, in level spacings (0.05 is 5 %).
    stuck : 0..1
        Fraction of cells stuck at Gmin or Gmax (half each).
    gain_spread : 0..1
        Standard deviation of the relative conductance gain of each tile column.
    seed : 0..2**63-1
    """

    sigma: float = 0.0
    stuck: float = 0.0
    gain_spread: float = 0.0
    seed: int = 0

    def __post_init__(self):
        check_float("sigma", self.sigma, 0.0, 10.0)
        check_float("stuck", self.stuck, 0.0, 1.0)
        check_float("gain_spread", self.gain_spread, 0.0, 1.0)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not (
                0 <= self.seed < 1 << 63):
            raise ConfigError(f"seed = {self.seed!r} is out of range; allowed 0..2**63-1")

    @property
    def ideal(self) -> bool:
        return self.sigma == 0 and self.stuck == 0 and self.gain_spread == 0

    def to_dict(self) -> dict:
        return asdict(self)

    def program(self, codes: np.ndarray, frac_bits: int, cell_bits: int, tile_rows: int,
                layer: int) -> np.ndarray:
        """Stored cell codes ``g[In, Out]`` (signed ``cell_bits``) for weight codes
        ``codes[In, Out]`` of layer number ``layer`` on tiles of ``tile_rows`` rows."""
        rows, cols = codes.shape
        lo, hi = signed_range(cell_bits)
        rng = np.random.default_rng([self.seed, layer])
        row_tiles = -(-rows // tile_rows)
        gain = 1.0 + self.gain_spread * rng.standard_normal((row_tiles, cols))
        noise = rng.standard_normal((rows, cols))
        pick = rng.random((rows, cols))
        level = float(1 << frac_bits)
        ideal = codes.astype(np.float64) * level
        g = gain[np.arange(rows) // tile_rows] * ideal + self.sigma * level * noise
        g = np.clip(round_half_up(g), lo, hi).astype(np.int64)
        g[pick < self.stuck / 2] = lo
        g[(pick >= self.stuck / 2) & (pick < self.stuck)] = hi
        return g
