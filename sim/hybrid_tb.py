"""cocotb testbench of :class:`spinemu.hdl.hybrid.HybridCore` (run by :func:`runner.run_hybrid`).

The stimulus npz (``SPINEMU_STIMULUS``) holds the TileConfig and PBitConfig (JSON), the
``colours``, the tile's weight memory image ``weights`` ([R*K, L], J in the top-left corner of the
weights), biases ``h``, LFSR ``seeds``, initial state ``state0``, its ``energy0`` and the anneal
``schedule`` ([steps, 2]: beta code, sweeps). The bench loads them through the write streams,
runs the anneal recording the state after every sweep, and writes ``states`` [sweeps, N],
``energies`` [sweeps], ``best_state``, ``best_energy``, ``cycles`` (from the run command to the
end) and ``sim_seconds`` to ``SPINEMU_RESULT``. Comparison with the golden model is the caller's.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from spinemu.config import PBitConfig, TileConfig
from spinemu.hdl.hybrid import stream_layouts
from spinemu.link.regmap import unpack
from spinemu.numeric import to_signed
from spinemu.sim.cocotb_bench import Span, load_stimulus, save_result, start
from spinemu.sim.cocotb_streams import StreamSink, StreamSource, pack_fields


class HybridTB:
    """Sources for the write streams, a sink for sampled states."""

    def __init__(self, dut, tile: TileConfig, config: PBitConfig, colours, depth: int):
        self.dut, self.tile, self.n = dut, tile, len(colours)
        self.layouts = stream_layouts(tile, config, colours, depth)
        self.sources = {name: StreamSource(dut, name, dut.clk) for name in self.layouts
                        if name != "states"}
        self.states = StreamSink(dut, "states", dut.clk)

    def send(self, name: str, rows) -> None:
        widths = [field.width for _, field in self.layouts[name]]
        self.sources[name].send(pack_fields(list(row), widths) for row in rows)

    def send_weights(self, words) -> None:
        widths = [self.layouts["weight_wr"]["addr"].width] + [self.tile.cell_bits] * self.tile.lanes
        self.sources["weight_wr"].send(pack_fields([addr, *word], widths)
                                       for addr, word in enumerate(words.tolist()))

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


@cocotb.test()
async def hybrid_trajectory(dut):
    s = load_stimulus()
    tile = TileConfig.from_json(str(s["tile"]))
    config = PBitConfig.from_json(str(s["config"]))
    colours = s["colours"].tolist()
    n, depth, schedule = len(colours), int(s["schedule_depth"]), s["schedule"]
    tb = HybridTB(dut, tile, config, colours, depth)
    await start(dut)

    tb.send_weights(s["weights"])
    tb.send("node_wr", zip(range(n), s["h"].tolist(), s["seeds"].tolist(),
                           s["state0"].tolist(), strict=True))
    tb.send("schedule_wr", ((k, int(b), int(w)) for k, (b, w) in enumerate(schedule)))
    await tb.wait_idle()
    sweeps = int(schedule[:, 1].sum()) if len(schedule) else 0
    span = Span()
    tb.send("run", [(len(schedule), 1, int(s["energy0"]))])
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
    energy_width = tb.layouts["states"]["energy"].width
    best_word = int(dut.best_state.value)
    save_result(
        sweep_index=np.array([u[0] for u in unpacked], np.int64),
        energies=np.array([u[1] for u in unpacked], np.int64),
        states=np.array([u[2] for u in unpacked], np.uint8).reshape(len(unpacked), n),
        best_state=np.array([(best_word >> i) & 1 for i in range(n)], np.uint8),
        best_energy=to_signed(int(dut.best_energy.value), energy_width), **timing)
