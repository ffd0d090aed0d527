"""Read ports shared by fabric components and the host link.

A read-back path is a :class:`ReadSignature`: the initiator offers an address, the target takes
it when it can answer and returns one word. :func:`serve_read` answers one from a memory read
port that compute shares; :class:`ReadMux` routes one initiator to several targets;
:func:`connect_read` joins two read ports whose address and word widths differ.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ReadMux", "ReadSignature", "connect_read", "serve_read"]


class ReadSignature(wiring.Signature):
    """A memory read (initiator side): ``addr`` out, ``data`` back, one word per address.

    The target takes ``addr`` only when it can answer, and holds ``data`` valid until taken;
    a new ``addr`` is not taken while a ``data`` word waits.
    """

    def __init__(self, addr_shape, data_shape):
        super().__init__({
            "addr": Out(stream.Signature(addr_shape)),
            "data": In(stream.Signature(data_shape)),
        })


def serve_read(m: Module, ready, port, rd) -> None:
    """Answer read port ``rd`` (target side) from memory read ``port``.

    The caller drives ``port.addr`` from ``rd.addr.payload`` while ``ready`` (the owner is idle,
    so compute does not use the port) and keeps ``port.en`` high then. An address is taken only
    while ``ready`` and no word waits; the word is on ``rd.data`` the next clock and stays until
    taken. Latency 1.
    """
    issued = Signal()
    m.d.comb += rd.addr.ready.eq(ready & ~issued & ~rd.data.valid)
    m.d.sync += issued.eq(rd.addr.valid & rd.addr.ready)
    with m.If(rd.data.ready):
        m.d.sync += rd.data.valid.eq(0)
    with m.If(issued):
        m.d.sync += [rd.data.valid.eq(1), rd.data.payload.eq(port.data)]


def connect_read(m: Module, initiator, target) -> None:
    """Join ``initiator`` (a read port seen from the target side, e.g. a ``ReadMux`` output)
    to ``target`` (a component's ``In(ReadSignature)`` port): the address is truncated or
    zero-extended to the target's, the word's bits zero-extended to the initiator's."""
    m.d.comb += [
        target.addr.valid.eq(initiator.addr.valid),
        target.addr.payload.eq(initiator.addr.payload),
        initiator.addr.ready.eq(target.addr.ready),
        initiator.data.valid.eq(target.data.valid),
        initiator.data.payload.eq(Value.cast(target.data.payload)),
        target.data.ready.eq(initiator.data.ready),
    ]


class ReadMux(wiring.Component):
    """One read initiator to ``targets`` read ports, one read outstanding.

    Parameters
    ----------
    addr_shape, data_bits
        Address and word (``unsigned(data_bits)``) of every port.
    targets : int
        Number of target ports ``o[0..targets-1]``.

    Members
    -------
    i : In(ReadSignature(addr_shape, unsigned(data_bits)))
    select : In(range(targets + 1))
        The target of ``i.addr.payload``, computed by the owner from the address;
        ``targets`` means none: such a read is answered at once with 0.
    o : Out(ReadSignature(addr_shape, unsigned(data_bits))).array(targets)
        Every target sees ``i.addr.payload``; only the selected one sees ``valid``.

    Timing: the selection is latched when the address is taken and released when the word is;
    the mux adds no latency (the words pass through combinationally).
    """

    def __init__(self, addr_shape, data_bits: int, targets: int):
        self._targets = targets
        word = unsigned(data_bits)
        super().__init__({
            "i": In(ReadSignature(addr_shape, word)),
            "select": In(range(targets + 1)),
            "o": Out(ReadSignature(addr_shape, word)).array(targets),
        })

    def elaborate(self, platform):
        m = Module()
        i, n = self.i, self._targets
        pending, chosen = Signal(), Signal(range(n + 1))
        for o in self.o:
            m.d.comb += o.addr.payload.eq(i.addr.payload)
        with m.If(~pending):
            m.d.comb += i.addr.ready.eq(self.select >= n)
            for k, o in enumerate(self.o):
                with m.If(self.select == k):
                    m.d.comb += [o.addr.valid.eq(i.addr.valid), i.addr.ready.eq(o.addr.ready)]
            with m.If(i.addr.valid & i.addr.ready):
                m.d.sync += [pending.eq(1), chosen.eq(self.select)]
        with m.Else():
            m.d.comb += [i.data.valid.eq(chosen >= n), i.data.payload.eq(0)]
            for k, o in enumerate(self.o):
                with m.If(chosen == k):
                    m.d.comb += [i.data.valid.eq(o.data.valid), i.data.payload.eq(o.data.payload),
                                 o.data.ready.eq(i.data.ready)]
            with m.If(i.data.valid & i.data.ready):
                m.d.sync += pending.eq(0)
        return m
