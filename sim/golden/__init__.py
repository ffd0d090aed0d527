"""Numpy golden models: the numeric contract of DESIGN.md section 3 in code.

These modules are the specification. The RTL, the mapper and the benchmarks import them; none of
them re-derive the arithmetic. Nothing here imports Amaranth.

- :mod:`.tile`: the crossbar MAC tile (3.1).
- :mod:`.network`: tiled layers with adder trees and requantization, and networks (3.2).
- :mod:`.window`: im2col patches and pooling of convolution layers (docs/mapper.md).
- :mod:`.pbit`: the p-bit core, chromatic Gibbs sampling over replicas (3.3, 3.4).
- :mod:`.hybrid`: a tile computing the p-bits' fields (3.4, hybrid mode).
"""

from .tile import CrossbarTileModel, adc, calibrate, column_sums, tile_forward

__all__ = ["CrossbarTileModel", "adc", "calibrate", "column_sums", "tile_forward"]
