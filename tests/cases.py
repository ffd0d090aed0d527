"""Seeded random tile cases shared by the golden, Amaranth and cocotb tests.

Every case is a function of its seed only, so a failure prints the seed and config needed to
replay it: ``random_tile_case(np.random.default_rng(seed), ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spinemu.config import TileConfig
from spinemu.sim.stimulus import random_images


@dataclass
class TileCase:
    seed: int
    config: TileConfig
    g: np.ndarray
    x: np.ndarray
    adc_shift: np.ndarray
    gain: np.ndarray
    offset: np.ndarray

    @property
    def images(self):
        return self.g, self.x, self.adc_shift, self.gain, self.offset

    def __repr__(self) -> str:
        return f"TileCase(seed={self.seed}, config={self.config})"


def _size(rng, hi: int) -> int:
    """1..hi, with the edges and non powers of two well represented."""
    return int(rng.choice([1, hi, rng.integers(1, hi + 1), min(rng.integers(1, hi + 1) | 1, hi)]))


def random_config(rng, max_rows: int, max_cols: int) -> TileConfig:
    rows, cols = _size(rng, max_rows), _size(rng, max_cols)
    gain_bits = int(rng.integers(1, 17))
    return TileConfig(
        rows=rows, cols=cols,
        cell_bits=int(rng.integers(2, 13)),
        input_bits=int(rng.integers(1, 9)),
        input_signed=bool(rng.integers(2)),
        adc_bits=int(rng.integers(1, 17)),
        gain_bits=gain_bits,
        gain_frac=int(rng.integers(0, gain_bits)),
        offset_bits=int(rng.integers(1, 17)),
        out_bits=int(rng.integers(1, 33)),
        lanes=_size(rng, cols),
    )


def random_tile_case(seed: int, max_rows: int, max_cols: int, batch: int) -> TileCase:
    rng = np.random.default_rng(seed)
    config = random_config(rng, max_rows, max_cols)
    return TileCase(seed, config, *random_images(rng, config, batch))
