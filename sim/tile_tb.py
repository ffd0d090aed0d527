"""cocotb testbench of :class:`spinemu.hdl.tile.CrossbarTile` (run by :func:`runner.run_tile`).

The stimulus arrives as an npz file named by ``SPINEMU_STIMULUS``: the config (JSON), the weight
image ``g``, calibration registers, input codes ``x``, the load mode, a seed, a stall probability
and ``expected``, the golden model's outputs (computed by the host, so that the simulator process
need not load the model's compiled kernels). The bench loads the tile (through its write streams
unless the images were baked into the memories), streams every vector in, and checks each output
against ``expected``. It writes ``z`` (outputs, signed), ``cycles`` and ``sim_seconds`` to
``SPINEMU_RESULT`` before the checker's verdict, so a failing run still reports what it saw.
"""

from __future__ import annotations

import cocotb
import numpy as np

from spinemu.config import TileConfig
from spinemu.hdl.tile import column_write_layout, weight_words, weight_write_layout
from spinemu.numeric import to_signed
from spinemu.sim.cocotb_bench import Span, check_equal, load_stimulus, save_result, start
from spinemu.sim.cocotb_streams import StreamSink, StreamSource, pack_fields
from spinemu.sim.testbench import random_pause


class TileTB:
    """Drivers for the four streams of the tile, a scoreboard against the golden model."""

    def __init__(self, dut, config: TileConfig, rng, stall: float):
        self.dut, self.config = dut, config
        pause = random_pause(rng, stall) if stall > 0 else None
        self.x = StreamSource(dut, "x", dut.clk, pause)
        self.weights = StreamSource(dut, "weight_wr", dut.clk, pause)
        self.columns = StreamSource(dut, "column_wr", dut.clk, pause)
        self.z = StreamSink(dut, "z", dut.clk, pause)
        self._addr_bits = weight_write_layout(config)["addr"].shape.width
        self._col_bits = column_write_layout(config)["col"].shape.width

    def write_weights(self, g) -> None:
        cfg = self.config
        widths = [self._addr_bits] + [cfg.cell_bits] * cfg.lanes
        self.weights.send(pack_fields([addr, *word], widths)
                          for addr, word in enumerate(weight_words(cfg, g).tolist()))

    def write_columns(self, adc_shift, gain, offset) -> None:
        cfg = self.config
        widths = [self._col_bits, cfg.shift_bits, cfg.gain_bits, cfg.offset_bits]
        self.columns.send(pack_fields(fields, widths)
                          for fields in zip(range(cfg.cols), adc_shift, gain, offset, strict=True))

    def send_inputs(self, x) -> None:
        self.x.send(pack_fields([v], [self.config.input_bits]) for v in x.reshape(-1).tolist())

    async def receive(self, batch: int) -> np.ndarray:
        raw = await self.z.receive(batch * self.config.cols)
        codes = to_signed(np.array(raw, dtype=np.int64), self.config.out_bits)
        return codes.reshape(batch, self.config.cols)

    def stop(self) -> None:
        for part in (self.x, self.weights, self.columns, self.z):
            part.stop()


@cocotb.test()
async def tile_matches_golden(dut):
    stimulus = load_stimulus()
    config = TileConfig.from_json(str(stimulus["config"]))
    g, x = stimulus["g"], stimulus["x"]
    calibration = (stimulus["adc_shift"], stimulus["gain"], stimulus["offset"])
    expected = stimulus["expected"]  # golden's outputs, computed by the host (run_tile)

    tb = TileTB(dut, config, np.random.default_rng(int(stimulus["seed"])),
                float(stimulus["stall"]))
    await start(dut)
    if str(stimulus["load"]) == "runtime":
        tb.write_weights(g)
        tb.write_columns(*calibration)
        await tb.weights.wait_idle()
        await tb.columns.wait_idle()
    span = Span()
    tb.send_inputs(x)
    z = await tb.receive(len(x))
    timing = span.stop()
    tb.stop()
    save_result(z=z, **timing)
    check_equal(dut, z, expected, "column")
