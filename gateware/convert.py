"""Verilog and RTLIL of a component, without spelling out all-zero memory contents.

Amaranth 0.5 writes every memory's initial contents into the netlist bit by bit, zeros included:
a 2048x2048 tile of 12-bit cells (50 Mbit of weight memory) takes minutes and tens of MB of
Verilog before any simulator sees it. Memories of at least :data:`LARGE_MEMORY_BITS` whose
initial contents are all zero get no ``$meminit_v2`` cell here instead. Block RAM on iCE40 and
ECP5 powers up as zeros and Verilator zero-fills, so synthesis and Verilator keep the meaning;
under Icarus such a memory reads X until written. A large tile built without a weight image
must therefore be loaded through its ``weight_wr`` port before use, which is how large tiles
are loaded anyway (DESIGN.md 6). Smaller memories keep their explicit zeros.

Amaranth has no public way to leave a memory's contents unset (``lib.memory.Memory`` always has
an ``init``, zeros by default): amaranth-lang/amaranth#270 (open) asks for one and #1522 reports
the long Verilog. So :func:`_large_zero_memories_uninitialised` is an adapter over a private
method of Amaranth's RTLIL backend, guarded by :func:`zero_init_adapter_applies` and checked by
``tests/test_convert.py``; on an Amaranth it was not written for, conversions keep every memory's
contents (correct, only slow) and warn.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from importlib import metadata

from amaranth.back import rtlil, verilog

from spinemu.versions import installed_series

__all__ = ["AMARANTH_SERIES", "LARGE_MEMORY_BITS", "to_rtlil", "to_verilog",
           "zero_init_adapter_applies"]

LARGE_MEMORY_BITS = 1 << 20

#: The Amaranth release series (major, minor) whose RTLIL backend the adapter was written for:
#: ``rtlil.ModuleEmitter.emit_memory(self, cell_idx, cell)`` emits a memory's ``$meminit_v2``
#: and nothing else, once per memory, from ``cell.width``, ``cell.depth`` and ``cell.init``.
AMARANTH_SERIES = (0, 5)

# The emitter's method is process-wide state: one adapter at a time, acting only for the thread
# that opened it (another thread's conversion meanwhile keeps Amaranth's behaviour).
_lock = threading.Lock()


def zero_init_adapter_applies() -> bool:
    """Whether the installed Amaranth is the series :data:`AMARANTH_SERIES` whose private
    ``rtlil.ModuleEmitter.emit_memory`` the adapter replaces during a conversion."""
    emitter = getattr(rtlil, "ModuleEmitter", None)
    return (installed_series("amaranth", 2) == AMARANTH_SERIES
            and callable(getattr(emitter, "emit_memory", None)))


@contextmanager
def _large_zero_memories_uninitialised():
    """For the conversions inside the ``with``: no ``$meminit_v2`` for a memory of at least
    :data:`LARGE_MEMORY_BITS` whose contents are all zero; Amaranth's own method afterwards."""
    if not zero_init_adapter_applies():
        warnings.warn(
            f"amaranth {metadata.version('amaranth')} is not the "
            f"{'.'.join(map(str, AMARANTH_SERIES))} series spinemu.gateware.convert was written "
            f"for: large all-zero memories are written out in full (slow)", RuntimeWarning,
            stacklevel=4)
        yield
        return
    with _lock:
        emit_memory = rtlil.ModuleEmitter.emit_memory
        owner = threading.get_ident()

        def emit_nonzero_memory(self, cell_idx, cell):
            large_zero = cell.width * cell.depth >= LARGE_MEMORY_BITS and not any(cell.init)
            if not large_zero or threading.get_ident() != owner:
                emit_memory(self, cell_idx, cell)

        rtlil.ModuleEmitter.emit_memory = emit_nonzero_memory
        try:
            yield
        finally:
            rtlil.ModuleEmitter.emit_memory = emit_memory


def to_verilog(component, name: str) -> str:
    """Verilog of ``component`` as module ``name`` (no source locations)."""
    with _large_zero_memories_uninitialised():
        return verilog.convert(component, name=name, emit_src=False)


def to_rtlil(component, name: str) -> str:
    """RTLIL of ``component`` as module ``name`` (no source locations)."""
    with _large_zero_memories_uninitialised():
        return rtlil.convert(component, name=name, emit_src=False)
