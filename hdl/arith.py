"""Amaranth expressions for the integer helpers of :mod:`spinemu.numeric` (DESIGN.md 3).

Each function builds combinational logic. Saturation and rounding equal, bit for bit, their
numpy twins (the unit tests compare them exhaustively on small widths); :func:`tree_sum` is an
exact sum, tested against Python's; :func:`mux_tree` picks one bit, tested against indexing.
"""

from __future__ import annotations

from amaranth.hdl import Const, Mux, Value, signed, unsigned

from spinemu.numeric import signed_range, unsigned_range

__all__ = ["sat", "usat", "rshift_round", "rshift_round_var", "tree_sum", "mux_tree"]


def sat(v: Value, bits: int) -> Value:
    """``v`` clamped to the signed ``bits``-bit range; shape ``signed(bits)``."""
    lo, hi = signed_range(bits)
    return Mux(v > hi, Const(hi, signed(bits)), Mux(v < lo, Const(lo, signed(bits)), v))[
        :bits
    ].as_signed()


def usat(v: Value, bits: int) -> Value:
    """``v`` clamped to the unsigned ``bits``-bit range; shape ``unsigned(bits)``."""
    lo, hi = unsigned_range(bits)
    return Mux(v > hi, Const(hi, unsigned(bits)), Mux(v < lo, Const(lo, unsigned(bits)), v))[
        :bits
    ]


def rshift_round(v: Value, s: int) -> Value:
    """Round-half-up right shift by a constant ``s >= 0``; one bit wider than ``v`` for s > 0."""
    if s == 0:
        return v
    return (v + (1 << (s - 1))) >> s


def rshift_round_var(v: Value, s: Value, max_shift: int) -> Value:
    """Round-half-up right shift by a run-time amount ``s`` in ``0..max_shift``.

    The half, ``2**(s-1)`` (0 for s = 0), is taken as bits ``1..max_shift`` of ``1 << s``, so
    the adder is ``max(len(v), max_shift) + 1`` bits wide. Values of ``s`` above ``max_shift``
    give an unspecified result; the tile refuses to store them.
    """
    half = (Const(1, 1) << s)[1 : max_shift + 1]
    return (v + half) >> s


def tree_sum(values) -> Value:
    """The sum of one or more values as a balanced tree of adders: ``ceil(log2(len))`` adders
    deep, each level one bit wider (a chain of thousands of adders would also overflow the
    recursion of Amaranth's transforms). Combinational."""
    values = list(values)
    if not values:
        raise ValueError("tree_sum needs at least one value")
    while len(values) > 1:
        paired = [a + b for a, b in zip(values[0::2], values[1::2], strict=False)]
        values = paired + values[len(paired) * 2:]
    return values[0]


def mux_tree(bits, index: Value) -> Value:
    """Bit ``index`` of ``bits`` (one or more 1-bit values, or a value: its bits) as a balanced
    tree of 2:1 multiplexers, level k selected by ``index[k]``: ``ceil(log2(len))`` deep.
    Combinational.

    The same circuit as ``Cat(bits).bit_select(index, 1)`` after synthesis (which turns the
    shift into such a tree), but Verilator compiles the tree to nested conditionals that follow
    the selected path only, where the shift gathers every bit of the ``Cat`` on every clock
    whose inputs changed (as the multiplexers of a p-bit core, G14 at U = 16: 1.9x the clocks
    a second). An ``index`` of ``len(bits)`` or more gives an unspecified bit.
    """
    level = list(bits)
    if not level:
        raise ValueError("mux_tree needs at least one bit")
    depth = (len(level) - 1).bit_length()
    if len(index) < depth:
        raise ValueError(f"index of {len(index)} bits cannot select one of {len(level)} bits")
    for k in range(depth):
        level = [Mux(index[k], level[i + 1], level[i]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]
