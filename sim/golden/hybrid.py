"""Hybrid deterministic-stochastic sampling (DESIGN.md 3.4, hybrid mode): a crossbar tile
computes the fields ``I = J m + h`` of a dense problem and p-bits sample from them.

The tile holds the couplings as weights (``g[i, j] = J[i, j]`` for ``i, j < n``, zero
elsewhere), takes the spins ``m`` in {-1, +1} as signed input codes, and its periphery is
exact: ``adc_shift`` 0, unity ``gain`` and no ``offset``, and an ADC and output wide enough for
every field the couplings can give (``max_i sum_j |J[i, j]|``). The p-bit side adds ``h`` and
samples as the p-bit core does (same LUT, LFSRs, colour phases, energy and best state). So a
hybrid run is the p-bit core's run on the graph of the non-zero couplings with the same
colouring: :class:`HybridModel` checks that the tile is exact and runs that
:class:`~spinemu.sim.golden.pbit.PBitModel`; :func:`~spinemu.sim.golden.spec.hybrid_run` is
the literal definition through the tile's arithmetic, and ``tests/test_hybrid_golden.py``
holds the two equal on random problems.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import ConfigError, PBitConfig, TileConfig, Topology, check_image
from spinemu.numeric import signed_range

from .pbit import PBitModel, PBitRun

__all__ = ["HybridModel", "check_tile", "exact_tile_config", "field_bits", "field_bound"]


def field_bound(J: np.ndarray) -> int:
    """``max_i sum_j |J[i, j]|``: the largest ``|J m|`` over spins ``m``."""
    return int(np.abs(np.asarray(J, dtype=np.int64)).sum(axis=1).max(initial=0))


def field_bits(J: np.ndarray) -> int:
    """Signed width that holds every field ``J m`` exactly: ``field_bound(J)`` and a sign."""
    return field_bound(J).bit_length() + 1


def exact_tile_config(J, config: PBitConfig, *, lanes: int = 8) -> TileConfig:
    """The smallest exact tile for the couplings ``J[n, n]``: ``n`` rows and columns, cells of
    ``coupling_bits``, 2-bit signed inputs, an ADC and output of ``field_bound(J)`` plus sign,
    unity gain (1 bit, ``gain_frac`` 0), a 1-bit offset. Couplings whose fields need more than the
    16 ADC bits a tile has are refused, naming the bound."""
    J = np.asarray(J)
    n = len(J)
    adc_bits = max(field_bits(J), 2)
    if adc_bits > 16:
        raise ConfigError(f"couplings give fields up to {field_bound(J)} (max_i sum_j "
                          f"|J[i, j]|), which need adc_bits = {adc_bits}; allowed at most 16 "
                          "(an exact ADC path)")
    return TileConfig(rows=n, cols=n, cell_bits=max(config.coupling_bits, 2), input_bits=2,
                      input_signed=True, adc_bits=adc_bits, gain_bits=1, gain_frac=0,
                      offset_bits=1, out_bits=adc_bits, lanes=min(lanes, n))


class HybridModel:
    """A tile and a p-bit core programmed with a dense problem, checked to be exact.

    Parameters
    ----------
    tile : TileConfig
        At least ``n`` rows and columns, signed inputs of at least 2 bits (spins -1/+1), cells
        holding every coupling, and an ADC and output of more than ``field_bound(J)``.
    config : PBitConfig
        The p-bit side: biases (``bias_bits``), activation, LFSRs; couplings must also fit
        ``coupling_bits`` (energy tracking).
    J : int array [n, n]
        Symmetric couplings, zero diagonal.
    h : int array [n]
    colours : sequence of int [n]
        Update phases: a proper colouring of the non-zero couplings (bipartite for an RBM,
        ``range(n)`` for one p-bit at a time).
    """

    def __init__(self, tile: TileConfig, config: PBitConfig, J, h, colours):
        J = np.asarray(J)
        if J.ndim != 2 or J.shape[0] != J.shape[1] or len(J) == 0:
            raise ConfigError(f"couplings J have shape {J.shape}; allowed a square [n, n] "
                              "matrix, n >= 1")
        n = len(J)
        J = check_image("couplings J", J, (n, n), *signed_range(config.coupling_bits))
        if not np.array_equal(J, J.T) or np.any(np.diag(J)):
            raise ConfigError("couplings J must be symmetric with a zero diagonal")
        check_tile(tile, J)
        i, j = np.nonzero(np.triu(J, 1))
        topology = Topology(n, tuple(zip(i.tolist(), j.tolist(), strict=True)),
                            tuple(int(c) for c in colours))
        self.tile, self.config, self.J = tile, config, J
        self.model = PBitModel(config, topology, J[i, j], h)

    @property
    def n(self) -> int:
        return len(self.J)

    @property
    def topology(self) -> Topology:
        return self.model.topology

    def weights(self) -> np.ndarray:
        """The tile's weight image ``g[rows, cols]`` (J in the top-left corner)."""
        g = np.zeros((self.tile.rows, self.tile.cols), dtype=np.int64)
        g[:self.n, :self.n] = self.J
        return g

    def run(self, schedule, seeds, initial=None, *, record: int = 0, progress=None) -> PBitRun:
        """As :meth:`PBitModel.run <spinemu.sim.golden.pbit.PBitModel.run>`."""
        return self.model.run(schedule, seeds, initial, record=record, progress=progress)


def check_tile(tile: TileConfig, J: np.ndarray) -> None:
    """Refuse a tile that cannot compute ``J m`` exactly, naming the field and the limit."""
    n = len(J)
    if tile.rows < n or tile.cols < n:
        raise ConfigError(f"the tile ({tile.rows} x {tile.cols}) cannot hold a problem of "
                          f"n = {n}; allowed rows and cols >= {n}")
    if not tile.input_signed or tile.input_bits < 2:
        raise ConfigError(f"input_bits = {tile.input_bits}, input_signed = "
                          f"{tile.input_signed} cannot carry spins -1/+1; allowed signed "
                          "inputs of at least 2 bits")
    low, high = signed_range(tile.cell_bits)
    if J.min() < low or J.max() > high:
        raise ConfigError(f"couplings reach {int(J.min())}..{int(J.max())}; the tile's "
                          f"cell_bits = {tile.cell_bits} hold {low}..{high}")
    need = field_bits(J)
    for name in ("adc_bits", "out_bits"):
        if getattr(tile, name) < need:
            raise ConfigError(f"couplings give fields up to {field_bound(J)} "
                              "(max_i sum_j |J[i, j]|); "
                              f"{name} = {getattr(tile, name)} holds "
                              f"{signed_range(getattr(tile, name))[1]}, allowed >= {need} "
                              "for an exact ADC path")
