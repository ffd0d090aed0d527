"""Verilog and RTLIL of a component, without spelling out all-zero memory contents.

Amaranth 0.5 writes every memory's initial contents into the netlist bit by bit, zeros included:
a 2048x2048 tile of 12-bit cells (50 Mbit of weight memory) takes minutes and tens of MB of
Verilog before any simulator sees it. Memories of at least :data:`LARGE_MEMORY_BITS` whose
initial contents are all zero get no ``$meminit_v2`` cell here instead. Block RAM on iCE40 and
ECP5 powers up as zeros and Verilator zero-fills, so synthesis and Verilator keep the meaning;
under Icarus such a memory reads X until written. A large tile built without a weight image
must therefore be loaded through its ``weight_wr`` port before use, which is how large tiles
are loaded anyway (DESIGN.md 6). Smaller memories keep their explicit zeros.
"""

from __future__ import annotations

from contextlib import contextmanager

from amaranth.back import rtlil, verilog

__all__ = ["LARGE_MEMORY_BITS", "to_rtlil", "to_verilog"]

LARGE_MEMORY_BITS = 1 << 20


@contextmanager
def _zero_memories_uninitialised():
    emit_memory = rtlil.ModuleEmitter.emit_memory

    def emit_nonzero_memory(self, cell_idx, cell):
        if cell.width * cell.depth < LARGE_MEMORY_BITS or any(cell.init):
            emit_memory(self, cell_idx, cell)

    rtlil.ModuleEmitter.emit_memory = emit_nonzero_memory
    try:
        yield
    finally:
        rtlil.ModuleEmitter.emit_memory = emit_memory


def to_verilog(component, name: str) -> str:
    """Verilog of ``component`` as module ``name`` (no source locations)."""
    with _zero_memories_uninitialised():
        return verilog.convert(component, name=name, emit_src=False)


def to_rtlil(component, name: str) -> str:
    """RTLIL of ``component`` as module ``name`` (no source locations)."""
    with _zero_memories_uninitialised():
        return rtlil.convert(component, name=name, emit_src=False)
