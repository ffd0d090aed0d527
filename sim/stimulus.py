"""Seeded random stimuli for tiles: weights, inputs and calibration registers.

Used by ``spinemu sim``, the demo, the benches and the tests, so that a seed means the same
stimulus everywhere.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import TileConfig
from spinemu.numeric import signed_range, unsigned_range

__all__ = ["random_images"]


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
