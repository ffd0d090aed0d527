"""What every cocotb testbench of spinemu does around its streams.

A bench reads its stimulus from the npz named by ``SPINEMU_STIMULUS``, starts the clock and
resets the DUT, times the clocked part of the run (simulated cycles and host seconds), writes its
results to the npz named by ``SPINEMU_RESULT`` and only then judges them, so a failing run still
reports what it saw (:mod:`spinemu.sim.runner` reads both files).
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_time

from spinemu.sim.runner import CLOCK_NS, RESET_CLOCKS

__all__ = ["load_stimulus", "start", "Span", "save_result", "check_equal"]


def load_stimulus() -> dict:
    with np.load(os.environ["SPINEMU_STIMULUS"]) as stimulus:
        return {key: stimulus[key] for key in stimulus.files}


async def start(dut) -> None:
    """Start ``dut.clk`` and hold ``dut.rst`` (active high) for two clocks.

    Create the bench's stream sources and sinks first: they drive ``valid`` and ``ready`` low,
    and an input left undriven through reset is X under Icarus.
    """
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, RESET_CLOCKS)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


class Span:
    """Simulated clock cycles and host seconds from construction to :meth:`stop`."""

    def __init__(self):
        self._ns, self._wall = get_sim_time(unit="ns"), time.perf_counter()

    def stop(self) -> dict:
        return {"cycles": round((get_sim_time(unit="ns") - self._ns) / CLOCK_NS),
                "sim_seconds": time.perf_counter() - self._wall}


def save_result(**arrays) -> None:
    np.savez(os.environ["SPINEMU_RESULT"], **arrays)


def check_equal(dut, got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Log the first differences of ``got[vector, index]`` and fail the test on any."""
    wrong = np.argwhere(got != expected)
    for b, c in wrong[:10]:
        dut._log.error(f"vector {b} {what} {c}: rtl {got[b, c]} != golden {expected[b, c]}")
    assert wrong.size == 0, f"{len(wrong)} of {got.size} {what}s differ from the golden model"
