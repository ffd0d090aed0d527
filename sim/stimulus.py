"""Seeded random stimuli for tiles: configurations, weights, inputs and calibration registers.

Used by ``spinemu sim``, the demo, the benches and the tests, so that a seed means the same
stimulus everywhere.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import TileConfig
from spinemu.numeric import signed_range, unsigned_range

__all__ = ["random_images", "random_tile_config"]


def _size(rng, hi: int) -> int:
    """1..hi, with the edges and non powers of two well represented."""
    return int(rng.choice([1, hi, rng.integers(1, hi + 1), min(rng.integers(1, hi + 1) | 1, hi)]))


def random_tile_config(rng: np.random.Generator, max_rows: int, max_cols: int) -> TileConfig:
    """A tile config of 1..``max_rows`` x 1..``max_cols`` (edges and odd sizes well
    represented), every width drawn over its whole range: the RTL regressions' cases."""
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


def random_images(rng: np.random.Generator, config: TileConfig, batch: int):
    """Weights, inputs and registers drawn over the full range of each type; half of the ADC
    shifts sit near full scale so that not every column saturates."""
    g = rng.integers(*signed_range(config.cell_bits), size=(config.rows, config.cols),
                     endpoint=True)
    x = rng.integers(*config.input_range, size=(batch, config.rows), endpoint=True)
    near = config.full_scale_shift + rng.integers(-3, 2, size=config.cols)
    anywhere = rng.integers(0, config.max_adc_shift, size=config.cols, endpoint=True)
    adc_shift = np.clip(np.where(rng.integers(2, size=config.cols) == 1, near, anywhere),
                        0, config.max_adc_shift)
    gain = rng.integers(*unsigned_range(config.gain_bits), size=config.cols, endpoint=True)
    offset = rng.integers(*signed_range(config.offset_bits), size=config.cols, endpoint=True)
    return g, x, adc_shift, gain, offset
