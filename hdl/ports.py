"""Port signatures shared by fabric components and the host link."""

from __future__ import annotations

from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ReadSignature"]


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
