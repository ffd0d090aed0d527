"""Activity counts of a workload, from the golden model: what the estimate multiplies energy
per event by (docs/energy.md, "Activity").

A network inference is counted layer by layer on the input codes each layer really sees
(:meth:`NetworkModel.activations`), so zero inputs cost no pulses. A p-bit run is counted from
its schedule and its recorded trajectory. Counts are totals over the batch (or the replicas);
``vectors`` and ``sweeps`` give the unit to divide by. They describe the hardware of DESIGN.md
3.1-3.4, independent of any technology.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from spinemu.config import ConfigError, LayerConfig, PBitConfig, Topology
from spinemu.numeric import tree_adds_per_level
from spinemu.sim.golden.network import LayerModel, NetworkModel

__all__ = ["LayerActivity", "NetworkActivity", "PBitActivity", "anneal_activity",
           "layer_activity", "layer_counts", "network_activity", "pbit_activity", "retiled",
           "state_changes", "tree_adds_per_level"]


@dataclass(frozen=True)
class LayerActivity:
    """What one tiled layer did for ``vectors`` inputs.

    Attributes
    ----------
    layer : LayerConfig
    vectors : int
        Layer inputs (images for a convolution).
    patches : int
        Matrix-vector products: ``vectors`` times the convolution's positions.
    pulses_by_bit : int64 [input_bits]
        Row pulses for bit ``b`` of the input magnitudes, over every tile a row reaches (each
        input row feeds ``col_tiles`` tiles through the fan-out tree).
    cell_reads : int
        Cells on a pulsed row, every pulse: ``sum(pulses_by_bit) * tile.cols``.
    adc_conversions : int
        One per column of every tile per patch (the column integrates all input bits).
    calibration_ops : int
        Gain multiply and offset add after each conversion.
    tree_adds : tuple[int, ...]
        Adder-tree adds per level (level 1 first), over every tile column and patch.
    periphery_ops : int
        Output periphery per output and patch: bias add, ReLU, multiply, rounding shift.
    pool_ops : int
        Compares (max) or adds (avg) of the pooling.
    macs : int
        Logical multiply-accumulates: ``patches * in_features * out_features``.
    buffer_bits_read, buffer_bits_written : int
        Activation bits read from the layer's input buffer (im2col patches re-read) and written
        to its output buffer.
    """

    layer: LayerConfig
    vectors: int
    patches: int
    pulses_by_bit: np.ndarray
    cell_reads: int
    adc_conversions: int
    calibration_ops: int
    tree_adds: tuple[int, ...]
    periphery_ops: int
    pool_ops: int
    macs: int
    buffer_bits_read: int
    buffer_bits_written: int

    @property
    def pulses(self) -> int:
        return int(self.pulses_by_bit.sum())

    def as_counters(self) -> dict:
        """These counts in the layout of the RTL's counters (``spinemu.hdl.activity``):
        ``pulses``, ``conversions``, ``periphery`` and, with more than one row-tile,
        ``tree_adds``."""
        counters = {"pulses": self.pulses_by_bit.tolist(), "conversions": self.adc_conversions,
                    "periphery": self.periphery_ops}
        if self.tree_adds:
            counters["tree_adds"] = list(self.tree_adds)
        return counters


def _bit_counts(x: np.ndarray, bits: int) -> np.ndarray:
    """How many of the magnitudes ``|x|`` have each of bits ``0..bits-1`` set."""
    magnitude = np.abs(x.astype(np.int64))
    return np.array([int(((magnitude >> b) & 1).sum()) for b in range(bits)], dtype=np.int64)


def layer_activity(model: LayerModel, x) -> LayerActivity:
    """Counts of layer ``model`` for its input codes ``x[vectors, inputs]``."""
    layer = model.layer
    x = np.asarray(x)
    patches = model.patches(x)
    if patches.ndim != 2 or patches.shape[1] != layer.in_features:
        raise ConfigError(f"inputs have shape {x.shape}; expected [vectors, {layer.inputs}]")
    return layer_counts(layer, len(x), len(patches),
                        _bit_counts(patches, layer.tile.input_bits))


def layer_counts(layer: LayerConfig, vectors: int, patches: int,
                 bit_counts: np.ndarray) -> LayerActivity:
    """Counts of ``layer`` for ``vectors`` inputs making ``patches`` matrix-vector products
    whose input magnitudes have ``bit_counts[b]`` bits ``b`` set in all: everything but the bit
    counts follows from the shapes, so a layer re-tiled (:func:`retiled`) keeps its inputs."""
    tile = layer.tile
    pulses = np.asarray(bit_counts, dtype=np.int64) * layer.col_tiles
    columns = layer.col_tiles * tile.cols
    conversions = patches * layer.row_tiles * columns
    pool_ops = 0
    if layer.conv is not None and layer.conv.pool != "none":
        pool_ops = vectors * layer.outputs * (layer.conv.pool_size ** 2 - 1)
    return LayerActivity(
        layer=layer, vectors=vectors, patches=patches, pulses_by_bit=pulses,
        cell_reads=int(pulses.sum()) * tile.cols, adc_conversions=conversions,
        calibration_ops=conversions,
        tree_adds=tuple(a * patches * columns for a in tree_adds_per_level(layer.row_tiles)),
        periphery_ops=patches * layer.out_features, pool_ops=pool_ops,
        macs=patches * layer.in_features * layer.out_features,
        buffer_bits_read=patches * layer.in_features * tile.input_bits,
        buffer_bits_written=vectors * layer.outputs * layer.act_bits)


def retiled(activity: LayerActivity, **tile_fields) -> LayerActivity:
    """The same inputs on tiles with other fields (``rows``, ``cols``, ``adc_bits``, ...;
    ``lanes`` is clipped to the columns). ``input_bits`` cannot change: the codes would."""
    if "input_bits" in tile_fields or "input_signed" in tile_fields:
        raise ConfigError("a re-tiled layer keeps its input codes: input_bits and input_signed "
                          "cannot change")
    layer = activity.layer
    tile = dataclasses.replace(layer.tile, **tile_fields,
                               lanes=min(layer.tile.lanes, tile_fields.get("cols",
                                                                           layer.tile.cols)))
    bit_counts = activity.pulses_by_bit // layer.col_tiles
    return layer_counts(dataclasses.replace(layer, tile=tile), activity.vectors,
                        activity.patches, bit_counts)


@dataclass(frozen=True)
class NetworkActivity:
    """Counts of every layer of a network for ``vectors`` inferences."""

    layers: tuple[LayerActivity, ...]

    @property
    def vectors(self) -> int:
        return self.layers[0].vectors

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)


def network_activity(model: NetworkModel, x) -> NetworkActivity:
    """Counts of a network (a :class:`NetworkModel`, e.g. ``Plan.model()``) for input codes
    ``x[vectors, inputs]``: every layer on the codes the layer before it produced."""
    x = model.config.check_inputs(x)
    inputs = [x, *model.activations(x)[:-1]]
    return NetworkActivity(tuple(layer_activity(layer, a)
                                 for layer, a in zip(model.layers, inputs, strict=True)))


@dataclass(frozen=True)
class PBitActivity:
    """What a p-bit core did in a run of ``sweeps`` sweeps of ``replicas`` chains.

    Attributes
    ----------
    n, edges, colours, sweeps, replicas : int
    updates : int
        p-bit updates: ``sweeps * replicas * n`` ("flips" in the p-computing literature's
        flips per second are these attempts).
    random_bits : int
        LFSR bits drawn: ``updates * rng_bits`` (an sMTJ p-bit gives one random decision per
        update instead).
    coupling_reads : int
        Couplings read and added into fields: ``sweeps * replicas * 2 * edges``.
    bias_adds : int
        One bias add per update.
    lut_reads : int
        One activation-table read per update.
    phases : int
        Colour phases: ``sweeps * replicas * colours`` (run in parallel across replicas on
        replicated cores).
    state_changes : int or None
        Updates that changed the state, counted on the recorded trajectory; None without one.
    field_bits, coupling_bits, rng_bits : int
        Widths of the field adder, the couplings and the random samples.
    """

    n: int
    edges: int
    colours: int
    sweeps: int
    replicas: int
    updates: int
    random_bits: int
    coupling_reads: int
    bias_adds: int
    lut_reads: int
    phases: int
    state_changes: int | None
    field_bits: int
    coupling_bits: int
    rng_bits: int


def state_changes(initial: np.ndarray, trajectory: np.ndarray) -> int:
    """Updates that changed a p-bit: each p-bit updates once per sweep, so the Hamming distance
    between consecutive states of a trajectory ``[sweeps, replicas, n]`` (``initial`` first)."""
    states = np.concatenate([np.asarray(initial, np.uint8)[None], trajectory], axis=0)
    return int((states[1:] != states[:-1]).sum())


def pbit_activity(config: PBitConfig, topology: Topology, sweeps: int, replicas: int,
                  initial=None, trajectory=None) -> PBitActivity:
    """Counts of ``sweeps`` sweeps of ``replicas`` chains on ``topology``; with the run's
    ``initial`` states and its ``trajectory`` recorded every sweep, the state changes too."""
    if trajectory is not None and len(trajectory) != sweeps:
        raise ConfigError(f"trajectory has {len(trajectory)} states for {sweeps} sweeps; "
                          "record every sweep (record=1)")
    n, edges = topology.n, len(topology.edges)
    updates = sweeps * replicas * n
    changes = None if trajectory is None else state_changes(initial, trajectory)
    return PBitActivity(
        n=n, edges=edges, colours=topology.num_colours, sweeps=sweeps, replicas=replicas,
        updates=updates, random_bits=updates * config.rng_bits,
        coupling_reads=sweeps * replicas * 2 * edges, bias_adds=updates, lut_reads=updates,
        phases=sweeps * replicas * topology.num_colours, state_changes=changes,
        field_bits=config.field_bits(max(topology.max_degree, 1)),
        coupling_bits=config.coupling_bits, rng_bits=config.rng_bits)


def anneal_activity(result) -> PBitActivity:
    """Counts of an :class:`~spinemu.ising.AnnealResult` (run with ``record=1`` for the state
    changes)."""
    run = result.run
    return pbit_activity(result.config, result.topology, run.sweeps, len(run.states),
                         result.initial, run.trajectory)

