"""The numeric contract (DESIGN.md 3.1 and 3.4) written out literally, with Python ints.

These are the specification, one output or one p-bit update at a time, in the order the
design text gives; they are slow on purpose. The engines the project runs
(:func:`~spinemu.sim.golden.tile.tile_forward`, :class:`~spinemu.sim.golden.pbit.PBitModel`)
are tested against them on random formats, images and inputs (``tests/test_golden.py``,
``tests/test_pbit_golden.py``), and the RTL against the engines.
"""

from __future__ import annotations

import numpy as np

from spinemu.config import PBitConfig, TileConfig, Topology
from spinemu.numeric import lfsr_sample, rshift_round, sat, tanh_table, to_unsigned

from .pbit import PBitRun, dense_couplings

__all__ = ["hybrid_run", "pbit_run", "tile_outputs"]


def tile_outputs(config: TileConfig, g, x, adc_shift, gain, offset) -> np.ndarray:
    """DESIGN 3.1: ``z[b, c] = sat(rshift_round(sat(rshift_round(sum_r x[b, r] g[r, c],
    adc_shift[c]), adc_bits) * gain[c], gain_frac) + offset[c], out_bits)``."""
    out = np.zeros((len(x), config.cols), dtype=np.int64)
    for b in range(len(x)):
        for c in range(config.cols):
            acc = sum(int(x[b, r]) * int(g[r, c]) for r in range(config.rows))
            q = sat(rshift_round(acc, int(adc_shift[c])), config.adc_bits)
            scaled = rshift_round(q * int(gain[c]), config.gain_frac)
            out[b, c] = sat(scaled + int(offset[c]), config.out_bits)
    return out


def pbit_run(config: PBitConfig, topology: Topology, J_edges, h, schedule, seeds,
             initial) -> PBitRun:
    """DESIGN 3.4: replicas ``r`` annealed one p-bit at a time, colour class by colour class
    (every p-bit of a class sees the states at the start of its phase), from ``initial[r]``
    with LFSR states ``seeds[r]``, through ``(B, sweeps)`` steps; every sweep recorded."""
    n = topology.n
    J = dense_couplings(topology, J_edges).tolist()
    h = [int(v) for v in h]

    def field(i, m):
        return sum(J[i][j] * m[j] for j in range(n)) + h[i]

    return _gibbs_run(config, J, h, topology.colours, schedule, seeds, initial, field)


def hybrid_run(tile: TileConfig, config: PBitConfig, g, h, colours, schedule, seeds,
               initial) -> PBitRun:
    """DESIGN 3.4, hybrid mode: as :func:`pbit_run` for the couplings ``J = g[:n, :n]`` of a
    tile's weights, but every field comes from the tile: ``I[i] = z[i] + h[i]`` with ``z``
    the tile's output (:func:`tile_outputs`, ``adc_shift`` 0, unity ``gain``, no ``offset``)
    for the input ``x = m`` (spins -1/+1 as input codes, 0 on rows past n) at the start of the
    phase."""
    n = len(h)
    J = [[int(g[i][j]) for j in range(n)] for i in range(n)]
    h = [int(v) for v in h]
    unity = ([0] * tile.cols, [1 << tile.gain_frac] * tile.cols, [0] * tile.cols)

    def field(i, m):
        x = np.array([list(m) + [0] * (tile.rows - n)], dtype=np.int64)
        return int(tile_outputs(tile, g, x, *unity)[0, i]) + h[i]

    return _gibbs_run(config, J, h, colours, schedule, seeds, initial, field)


def _gibbs_run(config: PBitConfig, J, h, colours, schedule, seeds, initial, field) -> PBitRun:
    """The chains of :func:`pbit_run`, the field of p-bit ``i`` at spins ``m`` (a list of -1/+1,
    the states at the start of the phase) given by ``field(i, m)``; ``J`` (lists, symmetric)
    and ``h`` give the energy."""
    n = len(h)
    table = tanh_table(config.lut_bits, config.lut_frac, config.rng_bits).tolist()
    classes = [[i for i in range(n) if colours[i] == c] for c in range(max(colours) + 1)]
    sweeps = sum(k for _, k in schedule)
    chains = []
    for r in range(len(seeds)):
        s = [int(v) for v in initial[r]]
        lfsr = [int(v) for v in seeds[r]]
        m = [2 * v - 1 for v in s]
        e = (-sum(J[i][j] * m[i] * m[j] for i in range(n) for j in range(i + 1, n))
             - sum(h[i] * m[i] for i in range(n)))
        best, best_state, states, energies = e, list(s), [], []
        for code, count in schedule:
            for _ in range(count):
                for members in classes:
                    start = [2 * v - 1 for v in s]  # the states at the start of the phase
                    for i in members:
                        f = field(i, start)
                        a = sat(rshift_round(f * code, config.beta_frac), config.lut_bits)
                        lfsr[i], sample = lfsr_sample(lfsr[i], config.rng_bits)
                        new = 1 if table[to_unsigned(a, config.lut_bits)] > sample else 0
                        e -= ((2 * new - 1) - start[i]) * f
                        s[i] = new
                states.append(list(s))
                energies.append(e)
                if e < best:
                    best, best_state = e, list(s)
        chains.append((s, lfsr, e, best, best_state, states, energies))
    final, lfsrs, energy, bests, best_states, states, energies = zip(*chains, strict=True)
    return PBitRun(
        states=np.array(final, np.uint8).reshape(len(seeds), n),
        lfsr=np.array(lfsrs, np.uint32).reshape(len(seeds), n),
        energy=np.array(energy, np.int64), best_energy=np.array(bests, np.int64),
        best_state=np.array(best_states, np.uint8).reshape(len(seeds), n),
        energies=np.array(energies, np.int64).reshape(len(seeds), sweeps).T,
        trajectory=np.array(states, np.uint8).reshape(len(seeds), sweeps, n).transpose(1, 0, 2))
