"""The zero-memory adapter of spinemu.gateware.convert: its guard, its effect and its scope."""

# No `from __future__ import annotations`: wiring.Component reads its members from annotations.
import threading

import pytest
from amaranth import Module
from amaranth.back import rtlil
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from spinemu.gateware import convert
from spinemu.gateware.convert import to_rtlil, to_verilog, zero_init_adapter_applies

# Memories of 16 x 16 bits; the tests lower the threshold to that size.
BITS = 16 * 16


class OneMemory(wiring.Component):
    """A 16 x 16-bit memory with a synchronous read port."""

    addr: In(4)
    data: Out(16)

    def __init__(self, init=(), fail=False):
        self._init, self._fail = list(init), fail
        super().__init__()

    def elaborate(self, platform):
        if self._fail:
            raise RuntimeError("elaboration fails")
        m = Module()
        m.submodules.mem = mem = memory.Memory(shape=16, depth=16, init=self._init)
        port = mem.read_port()
        m.d.comb += [port.addr.eq(self.addr), self.data.eq(port.data)]
        return m


@pytest.fixture
def threshold(monkeypatch):
    monkeypatch.setattr(convert, "LARGE_MEMORY_BITS", BITS)


def test_the_adapter_applies_to_the_installed_amaranth():
    """Fails when Amaranth leaves the series the adapter was written for, or renames the private
    method it replaces: recheck rtlil.ModuleEmitter (amaranth-lang/amaranth#270 may have given a
    public way to leave memories uninitialised) and update AMARANTH_SERIES."""
    assert zero_init_adapter_applies()


def test_large_zero_memory_gets_no_meminit(threshold):
    assert "$meminit_v2" not in to_rtlil(OneMemory(), "top")
    assert "$meminit_v2" in rtlil.convert(OneMemory(), name="top", emit_src=False)


def test_nonzero_and_small_memories_keep_their_contents(threshold, monkeypatch):
    assert "$meminit_v2" in to_rtlil(OneMemory(init=[0] * 15 + [1]), "top")
    monkeypatch.setattr(convert, "LARGE_MEMORY_BITS", BITS + 1)
    assert "$meminit_v2" in to_rtlil(OneMemory(), "top")


def test_verilog_of_a_large_zero_memory_has_no_initial_block(threshold):
    assert "initial" not in to_verilog(OneMemory(), "top").split("reg [15:0] mem", 1)[1]


def test_amaranth_is_restored_after_a_conversion_and_after_a_failure(threshold):
    original = rtlil.ModuleEmitter.emit_memory
    to_rtlil(OneMemory(), "top")
    assert rtlil.ModuleEmitter.emit_memory is original
    with pytest.raises(RuntimeError, match=r"^elaboration fails$"):
        to_rtlil(OneMemory(fail=True), "top")
    assert rtlil.ModuleEmitter.emit_memory is original


def test_other_threads_keep_amaranths_behaviour(threshold):
    """While one thread converts through the adapter, another's plain conversion is unchanged."""
    seen = []

    def convert_plainly():
        seen.append(rtlil.convert(OneMemory(), name="top", emit_src=False))

    with convert._large_zero_memories_uninitialised():
        other = threading.Thread(target=convert_plainly)
        other.start()
        other.join()
    assert "$meminit_v2" in seen[0]


def test_an_unknown_amaranth_converts_in_full_with_a_warning(threshold, monkeypatch):
    monkeypatch.setattr(convert.metadata, "version", lambda name: "0.6.0")
    assert not zero_init_adapter_applies()
    with pytest.warns(RuntimeWarning, match=r"^amaranth 0\.6\.0 is not the 0\.5 series "):
        assert "$meminit_v2" in to_rtlil(OneMemory(), "top")
