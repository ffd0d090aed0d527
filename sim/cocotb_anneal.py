"""What the cocotb testbenches of the annealing cores share (the p-bit core, the hybrid core).

Both cores take their program on write streams and an anneal on ``run``, send a record
``{sweep, energy, state}`` on ``states`` after every sweep, and show ``busy``, ``best_state``
and ``best_energy``. :class:`AnnealTB` drives the streams; :func:`record_anneal` runs the
loaded anneal and writes what the core did to ``SPINEMU_RESULT``.
"""

from __future__ import annotations

import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from spinemu.link.regmap import unpack
from spinemu.numeric import to_signed
from spinemu.sim.cocotb_bench import Span, save_result
from spinemu.sim.cocotb_streams import StreamSink, StreamSource, pack_fields

__all__ = ["AnnealTB", "record_anneal"]


class AnnealTB:
    """Sources for a core's input streams (``layouts``: payload layouts by port name, as the
    core's ``stream_layouts``), a sink for its ``states`` of ``n`` p-bits."""

    def __init__(self, dut, layouts: dict, n: int):
        self.dut, self.layouts, self.n = dut, layouts, n
        self.sources = {name: StreamSource(dut, name, dut.clk) for name in layouts
                        if name != "states"}
        self.states = StreamSink(dut, "states", dut.clk)

    def send(self, name: str, rows) -> None:
        """Rows of field values (in the layout's order) on stream ``name``."""
        widths = [field.width for _, field in self.layouts[name]]
        self.sources[name].send(pack_fields(list(row), widths) for row in rows)

    async def wait_idle(self) -> None:
        for source in self.sources.values():
            await source.wait_idle()

    def unpack_state(self, word: int) -> tuple[int, int, np.ndarray]:
        fields = unpack(self.layouts["states"], word)
        bits = np.array([(fields["state"] >> i) & 1 for i in range(self.n)], np.uint8)
        return fields["sweep"], fields["energy"], bits

    def stop(self) -> None:
        for part in (*self.sources.values(), self.states):
            part.stop()


async def record_anneal(tb: AnnealTB, schedule, energy0: int) -> None:
    """Once the program is sent: wait for it to be taken, run ``schedule`` ([steps, 2]: beta
    code, sweeps) recording every sweep from energy ``energy0``, wait for the end of the
    anneal, and save ``states`` [sweeps, n], ``energies``, ``sweep_index``, ``best_state``,
    ``best_energy``, ``cycles`` (from the run command to the end) and ``sim_seconds``."""
    dut, n = tb.dut, tb.n
    await tb.wait_idle()
    sweeps = int(schedule[:, 1].sum()) if len(schedule) else 0
    span = Span()
    tb.send("run", [(len(schedule), 1, int(energy0))])
    await tb.wait_idle()
    records = await tb.states.receive(sweeps) if sweeps else []
    while True:  # the anneal ends when busy falls
        await FallingEdge(dut.clk)
        await ReadOnly()
        if not dut.busy.value:
            break
    timing = span.stop()
    unpacked = [tb.unpack_state(word) for word in records]
    tb.stop()
    best_word = int(dut.best_state.value)
    save_result(
        sweep_index=np.array([u[0] for u in unpacked], np.int64),
        energies=np.array([u[1] for u in unpacked], np.int64),
        states=np.array([u[2] for u in unpacked], np.uint8).reshape(len(unpacked), n),
        best_state=np.array([(best_word >> i) & 1 for i in range(n)], np.uint8),
        best_energy=to_signed(int(dut.best_energy.value),
                              tb.layouts["states"]["energy"].width), **timing)
