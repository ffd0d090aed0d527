"""Activity counters of a tiled layer and of a p-bit core: the RTL's own count of the events
the energy estimate prices (docs/energy.md), checked against the golden model's counts
(:mod:`spinemu.energy.activity`).

Counters are generated only when asked for (``TiledLayer(..., counters=True)``,
``PBitCore(..., counters=True)``), so designs without them are unchanged. Each is
:data:`COUNT_BITS` wide and wraps.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import LayerConfig, NetworkConfig
from spinemu.numeric import tree_adds_per_level

from .tile import input_shape

__all__ = ["COUNT_BITS", "LayerCounters", "PBitCounters", "activity_layout",
           "network_activity_layout", "pbit_activity_layout"]

COUNT_BITS = 32


def activity_layout(layer: LayerConfig) -> data.StructLayout:
    """``pulses`` (one counter per input bit), ``conversions``, ``tree_adds`` (one per adder
    level; a layer of one row-tile has none) and ``periphery`` counters."""
    levels = len(tree_adds_per_level(layer.row_tiles))
    fields = {"pulses": data.ArrayLayout(COUNT_BITS, layer.tile.input_bits),
              "conversions": COUNT_BITS, "periphery": COUNT_BITS}
    if levels:
        fields["tree_adds"] = data.ArrayLayout(COUNT_BITS, levels)
    return data.StructLayout(fields)


class LayerCounters(wiring.Component):
    """Counts a tiled layer's events from its hand-shakes.

    Parameters
    ----------
    layer : LayerConfig
        P = ``row_tiles``, Q = ``col_tiles``, I = ``tile.input_bits``.

    Members
    -------
    x_taken : In(P * Q)
        Tile ``(p, q)`` (bit ``p*Q + q``) takes an input code this clock.
    x : In(input_shape).array(P)
        The code the tiles of row-tile ``p`` take.
    z_taken : In(P * Q)
        Tile ``(p, q)`` emits one column's output (one ADC conversion) this clock.
    tree_taken : In(Q)
        The adder tree of column of tiles ``q`` takes one column's ``P`` outputs this clock.
    o_taken : In(1)
        The output periphery emits one output code this clock.
    counts : Out(activity_layout(layer))
        ``pulses[b]``: taken codes whose magnitude has bit ``b`` set; ``conversions``;
        ``tree_adds[l]``: adds of tree level ``l + 1`` (``floor(n/2)`` per taken column);
        ``periphery``: output codes.
    """

    def __init__(self, layer: LayerConfig):
        self._layer = layer
        P, Q = layer.row_tiles, layer.col_tiles
        super().__init__({
            "x_taken": In(P * Q), "x": In(input_shape(layer.tile)).array(P),
            "z_taken": In(P * Q), "tree_taken": In(Q), "o_taken": In(1),
            "counts": Out(activity_layout(layer)),
        })

    def elaborate(self, platform):
        layer, m = self._layer, Module()
        P, Q, bits = layer.row_tiles, layer.col_tiles, layer.tile.input_bits
        counts = self.counts
        for b in range(bits):
            hits = []
            for p in range(P):
                magnitude = Signal(bits, name=f"magnitude_{p}_{b}")
                code = self.x[p]
                m.d.comb += magnitude.eq(Mux(code < 0, -code, code) if layer.tile.input_signed
                                         else code)
                hits += [self.x_taken[p * Q + q] & magnitude[b] for q in range(Q)]
            m.d.sync += counts.pulses[b].eq(counts.pulses[b] + sum(hits))
        m.d.sync += [
            counts.conversions.eq(counts.conversions + sum(self.z_taken[i] for i in range(P * Q))),
            counts.periphery.eq(counts.periphery + self.o_taken),
        ]
        taken = sum(self.tree_taken[q] for q in range(Q))
        for level, adds in enumerate(tree_adds_per_level(P)):
            m.d.sync += counts.tree_adds[level].eq(counts.tree_adds[level] + taken * adds)
        return m


def network_activity_layout(config: NetworkConfig) -> data.StructLayout:
    """``layer{i}``: :func:`activity_layout` of every layer of a network."""
    return data.StructLayout({f"layer{i}": activity_layout(layer)
                              for i, layer in enumerate(config.layers)})


def pbit_activity_layout() -> data.StructLayout:
    """``updates`` (p-bit updates), ``random_bits`` (LFSR bits drawn: ``rng_bits`` per update)
    and ``state_changes`` (updates that flipped their p-bit)."""
    return data.StructLayout({"updates": COUNT_BITS, "random_bits": COUNT_BITS,
                              "state_changes": COUNT_BITS})


class PBitCounters(wiring.Component):
    """Counts a p-bit core's updates from its units' write-backs.

    Parameters
    ----------
    units : int
        U update units.
    rng_bits : int
        Bits each update draws from its p-bit's LFSR (one leap).

    Members
    -------
    updated : In(U)
        Unit ``u`` writes a p-bit's new state back this clock.
    changed : In(U)
        ... and that state differs from the p-bit's state before.
    counts : Out(pbit_activity_layout())
    """

    def __init__(self, *, units: int, rng_bits: int):
        self._units, self._rng_bits = units, rng_bits
        super().__init__({"updated": In(units), "changed": In(units),
                          "counts": Out(pbit_activity_layout())})

    def elaborate(self, platform):
        m, counts = Module(), self.counts
        updates = sum(self.updated[u] for u in range(self._units))
        m.d.sync += [
            counts.updates.eq(counts.updates + updates),
            counts.random_bits.eq(counts.random_bits + updates * self._rng_bits),
            counts.state_changes.eq(counts.state_changes
                                    + sum(self.changed[u] for u in range(self._units))),
        ]
        return m
