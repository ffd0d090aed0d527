"""Fabrics driven over a :class:`~spinemu.link.driver.Link`: program, read back, run.

Each client speaks in the fabric's own terms (images and vectors of the golden model) and turns
them into region words through the map; the same client runs over a board, the virtual board or
a simulation bridge.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import NetworkConfig, TileConfig
from spinemu.gateware.fabrics import TileFabric
from spinemu.hdl.tile import weights_from_words
from spinemu.hdl.writes import network_addresses, network_writes

from .driver import Link

__all__ = ["NetworkClient", "TileClient", "runs"]


def runs(addresses) -> list[tuple[int, int]]:
    """``(start, count)`` of each run of consecutive addresses, in order."""
    spans: list[list[int]] = []
    for addr in addresses:
        if spans and addr == spans[-1][0] + spans[-1][1]:
            spans[-1][1] += 1
        else:
            spans.append([addr, 1])
    return [(start, count) for start, count in spans]


class TileClient:
    """A :class:`~spinemu.gateware.fabrics.TileFabric` over a link; ``prefix`` names its
    regions inside a :class:`~spinemu.gateware.fabrics.CompositeFabric`."""

    def __init__(self, link: Link, config: TileConfig, prefix: str = ""):
        self._link, self._config, self._prefix = link, config, prefix

    @property
    def config(self) -> TileConfig:
        return self._config

    def program(self, g, adc_shift=None, gain=None, offset=None) -> None:
        """Write the weight image and the calibration (defaults as the tile's)."""
        for name, values in TileFabric.images(self._config, g, adc_shift, gain, offset).items():
            self._link.write(self._prefix + name, values)

    def read_images(self) -> tuple[np.ndarray, ...]:
        """``(g, adc_shift, gain, offset)`` as the device holds them."""
        cfg = self._config
        words = self._link.read(self._prefix + "weights", cfg.rows * cfg.groups)
        columns = self._link.read(self._prefix + "columns", cfg.cols)
        return (weights_from_words(cfg, words),
                *(np.array([c[k] for c in columns], dtype=np.int64)
                  for k in ("adc_shift", "gain", "offset")))

    def run(self, x) -> np.ndarray:
        """Outputs ``z[batch, cols]`` for input codes ``x[batch, rows]``."""
        cfg = self._config
        x = cfg.check_inputs(x)
        z = np.empty((len(x), cfg.cols), dtype=np.int64)
        for b, vector in enumerate(x):
            self._link.write(self._prefix + "x", [int(v) for v in vector])
            z[b] = self._link.read(self._prefix + "z", cfg.cols)
        return z


class NetworkClient:
    """A :class:`~spinemu.gateware.fabrics.NetworkFabric` over a link; ``prefix`` names its
    regions inside a :class:`~spinemu.gateware.fabrics.CompositeFabric`."""

    def __init__(self, link: Link, config: NetworkConfig, prefix: str = ""):
        self._link, self._config, self._prefix = link, config, prefix
        self._images = link.regmap[prefix + "images"]

    @property
    def config(self) -> NetworkConfig:
        return self._config

    def program(self, images) -> None:
        """Write every layer's images (``LayerImages`` per layer, as a plan holds them), in
        bursts of consecutive addresses."""
        writes = network_writes(self._config, images)
        at = 0
        for start, count in runs(addr for addr, _ in writes):
            self._link.write_words(self._images, start, [w for _, w in writes[at:at + count]])
            at += count

    def read_writes(self) -> list[tuple[int, int]]:
        """The ``(addr, word)`` pairs the device holds, at the addresses and in the order of
        :func:`~spinemu.hdl.writes.network_writes` (so equal to it after :meth:`program`)."""
        addresses = network_addresses(self._config)
        words: list[int] = []
        for start, count in runs(addresses):
            words += self._link.read_words(self._images, start, count)
        return list(zip(addresses, words, strict=True))

    def run(self, x) -> np.ndarray:
        """Output codes ``a[batch, out]`` of the last layer for input codes ``x[batch, in]``."""
        last = self._config.layers[-1]
        x = self._config.check_inputs(x)
        a = np.empty((len(x), last.outputs), dtype=np.int64)
        for b, vector in enumerate(x):
            self._link.write(self._prefix + "x", [int(v) for v in vector])
            a[b] = self._link.read(self._prefix + "z", last.outputs)
        return a
