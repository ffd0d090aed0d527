"""Fabrics driven over a :class:`~spinemu.link.driver.Link`: program, read back, run.

Each client speaks in the fabric's own terms (images and vectors of the golden model) and turns
them into region words through the map; the same client runs over a board, the virtual board or
a simulation bridge.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import TileConfig
from spinemu.gateware.fabrics import TileFabric
from spinemu.hdl.tile import weights_from_words

from .driver import Link

__all__ = ["TileClient"]


class TileClient:
    """A :class:`~spinemu.gateware.fabrics.TileFabric` over a link."""

    def __init__(self, link: Link, config: TileConfig):
        self._link, self._config = link, config

    @property
    def config(self) -> TileConfig:
        return self._config

    def program(self, g, adc_shift=None, gain=None, offset=None) -> None:
        """Write the weight image and the calibration (defaults as the tile's)."""
        for name, values in TileFabric.images(self._config, g, adc_shift, gain, offset).items():
            self._link.write(name, values)

    def read_images(self) -> tuple[np.ndarray, ...]:
        """``(g, adc_shift, gain, offset)`` as the device holds them."""
        cfg = self._config
        words = self._link.read("weights", cfg.rows * cfg.groups)
        columns = self._link.read("columns", cfg.cols)
        return (weights_from_words(cfg, words),
                *(np.array([c[k] for c in columns], dtype=np.int64)
                  for k in ("adc_shift", "gain", "offset")))

    def run(self, x) -> np.ndarray:
        """Outputs ``z[batch, cols]`` for input codes ``x[batch, rows]``."""
        cfg = self._config
        x = cfg.check_inputs(x)
        z = np.empty((len(x), cfg.cols), dtype=np.int64)
        for b, vector in enumerate(x):
            self._link.write("x", [int(v) for v in vector])
            z[b] = self._link.read("z", cfg.cols)
        return z
