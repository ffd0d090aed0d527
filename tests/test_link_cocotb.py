"""A board core behind its UART pins, driven bit by bit by cocotbext-uart under cocotb.

The core is a tile and a p-bit core behind one link (as the ULX3S default carries a network and
a p-bit core). The host driver (Link, TileClient and PBitClient over a cocotb bridge
transport) programs weights, calibration, couplings, biases, seeds and the initial state,
reads everything back, runs vectors and an anneal and reads the status registers; every result
is compared with the golden model. Random tiles and graphs, on Verilator and Icarus.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import fields

import numpy as np
import pytest

from spinemu.config import PBitConfig
from spinemu.ising import colour
from spinemu.link.pbit_client import ChainRun
from spinemu.numeric import derive_seeds, signed_range
from spinemu.sim.golden import tile_forward
from spinemu.sim.golden.pbit import PBitModel, dense_couplings, energy
from spinemu.sim.runner import run_link_uart

from cases import random_tile_case


def random_pbit_case(seed: int):
    """A random graph of 5..9 p-bits, formats, units, images and a 2-step schedule."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 10))
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    edges = pairs[rng.random(len(pairs)) < 0.4]
    config = PBitConfig(coupling_bits=int(rng.integers(2, 9)), bias_bits=int(rng.integers(2, 11)),
                        rng_bits=int(rng.integers(4, 17)),
                        update_units=int(rng.integers(1, n + 1)))
    topology = colour(n, edges)
    J = rng.integers(*signed_range(config.coupling_bits), size=len(edges), endpoint=True)
    h = rng.integers(*signed_range(config.bias_bits), size=n, endpoint=True)
    state = rng.integers(0, 2, n).astype(np.uint8)
    schedule = [(int(rng.integers(1, 1 << config.beta_bits)), int(rng.integers(1, 5)))
                for _ in range(2)]
    return config, topology, J, h, derive_seeds(seed, n), state, schedule


# One random case per simulator: a Verilator build of this core takes minutes.
@pytest.mark.parametrize("seed, simulator", [(21, "verilator"), (22, "icarus"), (23, "icarus")])
def test_board_core_over_uart_pins_equals_golden(seed, simulator):
    if simulator == "icarus" and not shutil.which("iverilog"):
        pytest.skip("iverilog is not installed")
    case = random_tile_case(seed, max_rows=10, max_cols=7, batch=3)
    cfg = case.config
    pbit, topology, J, h, seeds, state, schedule = random_pbit_case(seed)
    out = run_link_uart(cfg, case.g, case.x, case.adc_shift, case.gain, case.offset,
                        pbit, topology, J, h, seeds, state, schedule, 1,
                        simulator=simulator, divisor=4 + seed % 5)
    assert (out["g"] == case.g).all(), case
    assert (out["adc_shift"] == case.adc_shift).all(), case
    assert (out["gain"] == case.gain).all() and (out["offset"] == case.offset).all(), case
    expected = tile_forward(cfg, case.g, case.x, case.adc_shift, case.gain, case.offset)
    assert (out["z"] == expected).all(), case

    assert (out["J"] == J).all() and (out["h"] == h).all()
    assert (out["seeds"] == seeds).all() and (out["state"] == state).all()
    run = PBitModel(pbit, topology, J, h).run(schedule, seeds[None], state[None], record=1)
    golden = ChainRun.from_golden(run, int(energy(dense_couplings(topology, J), h, state)), 1)
    device = ChainRun(**{f.name: out[f"anneal_{f.name}"] for f in fields(ChainRun)})
    assert device.differences(golden) == [], (pbit, topology)

    status = json.loads(str(out["status"]))
    assert status["framing_errors"] == 0 and status["bad_crc"] == 0, status
    assert status["idle"] == 1
