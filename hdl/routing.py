"""Binary routing trees between crossbar tiles (DESIGN.md 3.2).

Both trees are built level by level. With ``d = ceil(log2 leaves)`` levels, level ``k`` of the
tree (1..d, counted from the root of the fan-out tree, from the leaves of the adder tree) holds
``ceil(leaves / 2**(d-k))`` or ``ceil(leaves / 2**k)`` registers, and every register feeds, or is
fed by, at most two of the next level. Every leaf is therefore exactly ``d`` registers from the
root, whatever the number of leaves: ``leaves`` need not be a power of two.
"""

from __future__ import annotations

from amaranth.hdl import Module, Shape, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.numeric import clog2

__all__ = ["FanOutTree", "AdderTree"]


def _check_leaves(leaves) -> int:
    if isinstance(leaves, bool) or not isinstance(leaves, int) or leaves < 1:
        raise ValueError(f"leaves must be an integer >= 1, not {leaves!r}")
    return leaves


class FanOutTree(wiring.Component):
    """Registered binary fan-out tree: every payload of one stream reaches ``leaves`` outputs.

    Parameters
    ----------
    leaves : int
        Number of outputs, >= 1.
    shape : ShapeLike
        Payload shape (any width; a :class:`~amaranth.lib.data.ArrayLayout` of codes in the
        tiled layer).

    Members
    -------
    i : In(stream.Signature(shape, always_ready=True))
        Taken on every cycle ``i.valid`` is high.
    o : Out(stream.Signature(shape, always_ready=True)).array(leaves)
        ``o[l]`` repeats every transfer of ``i`` exactly :attr:`latency` cycles later, on every
        leaf in the same cycle.

    Contract and timing
    -------------------
    The tree has no back-pressure (``always_ready`` on both sides): a payload enters on every
    cycle ``i.valid`` is high and leaves ``latency = ceil(log2 leaves)`` cycles later, one per
    clock; the consumers of ``o`` must take every valid payload (in the tiled layer they are the
    write ports of the row banks, which always can). Each register drives at most
    two registers of the next level, which is the point of the tree: no net fans out to all
    leaves. ``leaves = 1`` is a wire (latency 0). Payload registers are not reset; valid
    registers are.
    """

    def __init__(self, *, leaves: int, shape):
        self._leaves = _check_leaves(leaves)
        self._shape = shape
        Shape.cast(shape)
        super().__init__({
            "i": In(stream.Signature(shape, always_ready=True)),
            "o": Out(stream.Signature(shape, always_ready=True)).array(leaves),
        })

    @property
    def leaves(self) -> int:
        return self._leaves

    @property
    def latency(self) -> int:
        """Registers between ``i`` and every leaf: ``ceil(log2 leaves)``."""
        return clog2(self._leaves)

    def elaborate(self, platform):
        m = Module()
        depth = self.latency
        level = [(self.i.valid, self.i.payload)]
        for k in range(1, depth + 1):
            nodes = []
            for j in range(-(-self._leaves // (1 << (depth - k)))):
                valid = Signal(name=f"valid_{k}_{j}")
                payload = Signal(self._shape, name=f"payload_{k}_{j}", reset_less=True)
                parent_valid, parent_payload = level[j // 2]
                m.d.sync += [valid.eq(parent_valid), payload.eq(parent_payload)]
                nodes.append((valid, payload))
            level = nodes
        for leaf, (valid, payload) in zip(self.o, level, strict=True):
            m.d.comb += [leaf.valid.eq(valid), leaf.payload.eq(payload)]
        return m


class AdderTree(wiring.Component):
    """Pipelined binary adder tree: the exact sum of ``leaves`` signed inputs.

    Parameters
    ----------
    leaves : int
        Number of signed inputs, >= 1.
    width : int
        Width of each input, >= 1.

    Members
    -------
    i : In(stream.Signature(ArrayLayout(signed(width), leaves)))
        All ``leaves`` addends of one sum in one transfer.
    o : Out(stream.Signature(signed(width + ceil(log2 leaves))))
        The sum, :attr:`latency` transfers of ``i`` later. Level ``k`` adds pairs of level
        ``k - 1`` into ``width + k`` bits (an unpaired node is passed on sign-extended), so the
        sum is exact: no saturation, no wrap.

    Timing
    ------
    One register level per tree level: latency ``ceil(log2 leaves)`` cycles, one sum per clock.
    Back-pressure stalls the whole pipeline at once: every level advances on the cycles where
    ``o`` is empty or taken, and ``i.ready`` is exactly that condition, so nothing is dropped
    and ``i.ready`` does not depend on ``i.valid``. ``leaves = 1`` is a wire (latency 0).
    """

    def __init__(self, *, leaves: int, width: int):
        self._leaves = _check_leaves(leaves)
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be an integer >= 1, not {width!r}")
        self._width = width
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(signed(width), leaves))),
            "o": Out(stream.Signature(signed(width + clog2(leaves)))),
        })

    @property
    def leaves(self) -> int:
        return self._leaves

    @property
    def width(self) -> int:
        return self._width

    @property
    def latency(self) -> int:
        """Register levels between ``i`` and ``o``: ``ceil(log2 leaves)``."""
        return clog2(self._leaves)

    def elaborate(self, platform):
        m = Module()
        depth = self.latency
        if depth == 0:
            m.d.comb += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload[0]),
                         self.i.ready.eq(self.o.ready)]
            return m

        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)
        valid = self.i.valid
        level = [self.i.payload[leaf] for leaf in range(self._leaves)]
        for k in range(1, depth + 1):
            nodes = []
            for j in range(-(-len(level) // 2)):
                node = Signal(signed(self._width + k), name=f"sum_{k}_{j}", reset_less=True)
                pair = level[2 * j:2 * j + 2]
                with m.If(advance):
                    m.d.sync += node.eq(pair[0] + pair[1] if len(pair) == 2 else pair[0])
                nodes.append(node)
            level_valid = Signal(name=f"valid_{k}")
            with m.If(advance):
                m.d.sync += level_valid.eq(valid)
            level, valid = nodes, level_valid
        m.d.comb += [self.o.valid.eq(valid), self.o.payload.eq(level[0])]
        return m
