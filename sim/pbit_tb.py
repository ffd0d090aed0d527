"""cocotb testbench of :class:`spinemu.hdl.pbit.PBitCore` (run by :func:`runner.run_pbit`).

The stimulus npz (``SPINEMU_STIMULUS``) holds the PBitConfig and Topology (JSON), couplings
``J_edges``, biases ``h``, LFSR ``seeds``, initial state ``state0``, its ``energy0`` and the
anneal ``schedule`` ([steps, 2]: beta code, sweeps). The bench loads them through the write
streams, runs the anneal recording the state after every sweep, and writes ``states`` [sweeps,
N], ``energies`` [sweeps], ``best_state``, ``best_energy``, ``cycles`` (from the run command to
the end) and ``sim_seconds`` to ``SPINEMU_RESULT``. Comparison with the golden model is the
caller's.
"""

from __future__ import annotations

import cocotb

from spinemu.config import PBitConfig, Topology
from spinemu.hdl.pbit import stream_layouts
from spinemu.sim.cocotb_anneal import AnnealTB, record_anneal
from spinemu.sim.cocotb_bench import load_stimulus, start


@cocotb.test()
async def pbit_trajectory(dut):
    s = load_stimulus()
    config = PBitConfig.from_json(str(s["config"]))
    topology = Topology.from_json(str(s["topology"]))
    depth, schedule = int(s["schedule_depth"]), s["schedule"]
    tb = AnnealTB(dut, stream_layouts(config, topology, depth), topology.n)
    await start(dut)

    tb.send("coupling_wr", enumerate(s["J_edges"].tolist()))
    tb.send("node_wr", zip(range(topology.n), s["h"].tolist(), s["seeds"].tolist(),
                           s["state0"].tolist(), strict=True))
    tb.send("schedule_wr", ((k, int(b), int(w)) for k, (b, w) in enumerate(schedule)))
    await record_anneal(tb, schedule, int(s["energy0"]))
