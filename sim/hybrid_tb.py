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

from spinemu.config import PBitConfig, TileConfig
from spinemu.hdl.hybrid import stream_layouts
from spinemu.sim.cocotb_anneal import AnnealTB, record_anneal
from spinemu.sim.cocotb_bench import load_stimulus, start
from spinemu.sim.cocotb_streams import pack_fields


def send_weights(tb: AnnealTB, tile: TileConfig, words) -> None:
    """The tile's weight memory image ``words`` [R*K, L] on ``weight_wr``, word by word."""
    widths = [tb.layouts["weight_wr"]["addr"].width] + [tile.cell_bits] * tile.lanes
    tb.sources["weight_wr"].send(pack_fields([addr, *word], widths)
                                 for addr, word in enumerate(words.tolist()))


@cocotb.test()
async def hybrid_trajectory(dut):
    s = load_stimulus()
    tile = TileConfig.from_json(str(s["tile"]))
    config = PBitConfig.from_json(str(s["config"]))
    colours = s["colours"].tolist()
    n, depth, schedule = len(colours), int(s["schedule_depth"]), s["schedule"]
    tb = AnnealTB(dut, stream_layouts(tile, config, colours, depth), n)
    await start(dut)

    send_weights(tb, tile, s["weights"])
    tb.send("node_wr", zip(range(n), s["h"].tolist(), s["seeds"].tolist(),
                           s["state0"].tolist(), strict=True))
    tb.send("schedule_wr", ((k, int(b), int(w)) for k, (b, w) in enumerate(schedule)))
    await record_anneal(tb, schedule, int(s["energy0"]))
