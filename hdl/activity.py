"""Activity counters of a tiled layer: the RTL's own count of the events the energy estimate
prices (docs/energy.md), checked against the golden model's counts
(:func:`spinemu.energy.activity.layer_activity`).

Counters are generated only when asked for (``TiledLayer(..., counters=True)``), so designs
without them are unchanged. Each is :data:`COUNT_BITS` wide and wraps.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import LayerConfig
from spinemu.numeric import tree_adds_per_level

from .tile import input_shape

__all__ = ["COUNT_BITS", "LayerCounters", "activity_layout"]

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
