# amaranth: UnusedElaboratable=no
"""spinemu.Emulator: the same program on every backend gives the golden model's results.

One composite fabric (a random tile, the mapped digits network, a random p-bit core) runs the
same program on the golden model, the RTL simulation (Verilator and Icarus, one simulation per
backend kept running across every call) and the virtual board (pyserial on its pty): program,
read back, vectors, inferences, two anneals in a row (the second continues from the first's
state and LFSRs) and a Boltzmann sample. Every result must equal the golden backend's.

The board case is also the host driver over the virtual board for a tile, the digits network
and a p-bit anneal (issue 8, must-show 4).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import spinemu
from spinemu import ConfigError, Emulator, EmulatorError, PBitConfig, SpinemuError, TileConfig
from spinemu.gateware.fabrics import CompositeFabric, NetworkFabric, TileFabric
from spinemu.gateware.hybrid_fabric import HybridFabric
from spinemu.gateware.pbit_fabric import PBitFabric
from spinemu.ising import colour
from spinemu.link.pbit_client import ChainRun
from spinemu.mapper import map_model
from spinemu.models import load_dataset
from spinemu.numeric import derive_seeds, signed_range
from spinemu.sim.golden.hybrid import HybridModel, field_bound
from spinemu.sim.golden.pbit import dense_couplings
from spinemu.sim.runner import available_simulators
from spinemu.sim.vboard import fabric_board

from cases import random_hybrid_case, random_tile_case

SEED = 23


@pytest.fixture(scope="module")
def case():
    """The fabric and the program: images, inputs and schedules."""
    rng = np.random.default_rng(SEED)
    tile = random_tile_case(SEED, max_rows=16, max_cols=12, batch=5)
    data = load_dataset("digits")
    mapped = map_model("digits", data.calibration(128))
    n = 14
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
    edges = pairs[rng.random(len(pairs)) < 0.3]
    pbit = PBitConfig(update_units=int(rng.integers(1, 4)))
    topology = colour(n, edges)
    fabric = CompositeFabric({"tile": TileFabric(tile.config),
                              "net": NetworkFabric(mapped.plan.config),
                              "pbit": PBitFabric(pbit, topology)})
    program = {
        "tile": (tile.g, tile.adc_shift, tile.gain, tile.offset), "x": tile.x,
        "plan": mapped.plan, "digits": mapped.mapping.input_codes(data.test_x[:6]),
        "J": rng.integers(*signed_range(pbit.coupling_bits), size=len(edges), endpoint=True),
        "h": rng.integers(*signed_range(pbit.bias_bits), size=n, endpoint=True),
        "seeds": derive_seeds(SEED, n), "state": rng.integers(0, 2, n).astype(np.uint8),
        "schedule": [(int(b), 3) for b in rng.integers(10, 400, size=3)],
        "beta": int(rng.integers(50, 200)),
    }
    return fabric, program


def run_program(emulator: Emulator, program: dict) -> dict:
    """Everything the program reads or computes, by name."""
    tile, net, pbit = (emulator.parts[k] for k in ("tile", "net", "pbit"))
    tile.program(*program["tile"])
    net.program(program["plan"].images)
    pbit.program(program["J"], program["h"], program["seeds"], program["state"])
    out = {"tile_images": tile.read_back(), "net_writes": net.read_back(),
           "pbit_images": pbit.read_back(),
           "z": tile.vmm(program["x"]), "digits": net.infer(program["digits"])}
    out["anneal"] = pbit.anneal(program["schedule"], record_every=2)
    out["continued"] = pbit.anneal(program["schedule"][:1])
    out["lfsr_after"] = pbit.read_back()[2]
    out["sample"] = pbit.sample(program["beta"], samples=12, burn_in=3)
    return out


@pytest.fixture(scope="module")
def golden(case):
    fabric, program = case
    with Emulator(fabric) as emulator:
        return run_program(emulator, program)


@pytest.mark.parametrize("backend", ["rtl-verilator", "rtl-icarus", "board"])
def test_every_backend_equals_golden(case, golden, backend):
    fabric, program = case
    if backend.startswith("rtl-"):
        simulator = backend.removeprefix("rtl-")
        if simulator not in available_simulators():
            pytest.skip(f"{simulator} is not installed")
        with Emulator(fabric, "rtl", simulator=simulator, timeout=30.0) as emulator:
            got = run_program(emulator, program)
            check_clock_counters(emulator, program)
    else:
        with fabric_board(fabric, clocks_per_bit=4) as board, \
                Emulator(fabric, "board", port=board.port, timeout=10.0) as emulator:
            got = run_program(emulator, program)
            check_clock_counters(emulator, program)
    for name in ("tile_images", "pbit_images"):
        for mine, theirs in zip(got[name], golden[name], strict=True):
            assert np.array_equal(mine, theirs), name
    assert got["net_writes"] == golden["net_writes"]
    for name in ("z", "digits", "lfsr_after", "sample"):
        assert np.array_equal(got[name], golden[name]), name
    for name in ("anneal", "continued"):
        assert got[name].differences(golden[name]) == [], name


def test_rtl_backend_reads_states_of_several_slices_as_golden(case):
    """The p-bit part alone with 5-bit slices (its 14 p-bits in 3 slices) on the rtl backend: an
    anneal of more recorded sweeps than ``states`` holds, a continued one and a sample, against
    the golden backend."""
    fabric, program = case
    pbit = fabric.parts["pbit"]
    sliced = PBitFabric(pbit.config, pbit.topology, slice_bits=5)
    assert {r.name: r.depth for r in sliced.regions()}["result_slices"] == 6
    schedule = [(b, 7) for b, _ in program["schedule"]]   # 21 sweeps, 16 records held
    runs = {}
    for backend in ("golden", "rtl"):
        with Emulator(sliced, backend, timeout=30.0) as emulator:
            emulator.program(program["J"], program["h"], program["seeds"], program["state"])
            runs[backend] = (emulator.anneal(schedule, record_every=1),
                             emulator.anneal(schedule[:1], record_every=3),
                             emulator.sample(program["beta"], samples=5, burn_in=2))
    (first, second, sample), (rtl_first, rtl_second, rtl_sample) = runs["golden"], runs["rtl"]
    assert rtl_first.differences(first) == [] and rtl_second.differences(second) == []
    assert len(rtl_first.trajectory) == 21 and np.array_equal(rtl_sample, sample)


def check_clock_counters(emulator: Emulator, program: dict) -> None:
    """``status()`` around an anneal: the fabric was busy for at least the anneal's sweeps at
    the core's clocks per sweep, and the device clock ran at least as long."""
    pbit = emulator.parts["pbit"]
    before = emulator.status()
    pbit.anneal(program["schedule"])
    after = emulator.status()
    clocks, busy = ((after[k] - before[k]) % (1 << 32) for k in ("clocks", "busy_clocks"))
    sweeps = sum(s for _, s in program["schedule"])
    assert busy >= sweeps * pbit.fabric.cycles_per_sweep
    assert clocks > busy
    assert after["executed"] > before["executed"]


def test_golden_backend_is_the_golden_model(case, golden):
    """The golden backend against the models called directly: tile and network outputs, and
    an anneal continued from a first one equals one run of both schedules' sweeps."""
    from spinemu.sim.golden import tile_forward
    from spinemu.sim.golden.pbit import PBitModel, dense_couplings, energy

    fabric, program = case
    g, *calibration = program["tile"]
    assert np.array_equal(golden["z"], tile_forward(fabric.parts["tile"].config, g,
                                                    program["x"], *calibration))
    assert np.array_equal(golden["digits"], program["plan"].model()(program["digits"]))
    pbit = fabric.parts["pbit"]
    model = PBitModel(pbit.config, pbit.topology, program["J"], program["h"])
    run = model.run(program["schedule"], program["seeds"][None], program["state"][None],
                    record=2)
    start = int(energy(dense_couplings(pbit.topology, model.J), model.h, program["state"]))
    assert golden["anneal"].differences(ChainRun.from_golden(run, start, 2)) == []
    assert golden["sample"].shape == (12, pbit.topology.n)


# --- Bad input -----------------------------------------------------------------------------------

def test_bad_use_raises_spinemu_errors_naming_what_is_allowed(case, tmp_path):
    fabric, program = case
    with Emulator(fabric) as emulator, \
            pytest.raises(EmulatorError, match=r"golden backend has none \(allowed backends"):
        emulator.status()
    with pytest.raises(EmulatorError, match=r"backend = 'fpga' is not known; allowed"):
        Emulator(fabric, "fpga")
    with pytest.raises(EmulatorError, match=r"fabric is a str; allowed: TileConfig"):
        Emulator("tile.toml")
    with pytest.raises(EmulatorError, match=r"the board backend takes a port"):
        Emulator(fabric, "board")
    with pytest.raises(EmulatorError, match=r"port '/nonexistent/tty' does not open"):
        Emulator(fabric, "board", port="/nonexistent/tty")
    not_a_port = tmp_path / "file"
    not_a_port.write_bytes(b"")
    with pytest.raises(EmulatorError, match=r"port '.*file' does not open: "):
        Emulator(fabric, "board", port=str(not_a_port))
    master, slave = os.openpty()   # a serial port with nothing behind it
    try:
        with pytest.raises(EmulatorError, match=r"does not answer as this CompositeFabric "
                                                r"\(no good reply to INFO"):
            Emulator(fabric, "board", port=os.ttyname(slave), timeout=0.05)
    finally:
        os.close(master)
        os.close(slave)
    emulator = Emulator(fabric)
    with pytest.raises(EmulatorError, match=r"vmm\(\) needs one TileFabric; this fabric has "):
        Emulator(fabric.parts["pbit"]).vmm(program["x"])
    with pytest.raises(EmulatorError, match=r"program\(\) needs a single part.*parts\[NAME\]"):
        emulator.program(*program["tile"])
    with pytest.raises(EmulatorError, match=r"not programmed; call program\(\) first"):
        emulator.parts["tile"].vmm(program["x"])
    with pytest.raises(ConfigError, match=r"weights has shape"):
        g = program["tile"][0]
        emulator.parts["tile"].program(np.zeros((g.shape[0] + 1, g.shape[1]), np.int64))
    with pytest.raises(ConfigError, match=r"inputs .* out of range|inputs\[.*allowed"):
        emulator.parts["net"].program(program["plan"].images)
        emulator.parts["net"].infer(program["digits"] + 10_000)
    emulator.close()
    with pytest.raises(EmulatorError, match=r"the emulator is closed"):
        emulator.infer(program["digits"])
    for error in (EmulatorError, ConfigError):
        assert issubclass(error, SpinemuError)
    assert spinemu.TileConfig is TileConfig


def test_a_board_of_another_fabric_is_refused(case):
    """The board backend compares the device's map with the fabric's before any command."""
    fabric, _ = case
    with fabric_board(TileFabric(TileConfig(rows=4, cols=4, lanes=1)), clocks_per_bit=4) as board, \
            pytest.raises(EmulatorError, match=r"does not answer as this CompositeFabric"):
        Emulator(fabric, "board", port=board.port, timeout=2.0)


@pytest.mark.parametrize("seed, kind, simulator", [(46, "rbm", "verilator"),
                                                   (41, "sequential", "icarus")])
def test_hybrid_fabric_on_every_backend_equals_golden(seed, kind, simulator):
    """A HybridFabric on the golden and rtl backends: the same program (couplings over its
    topology, written as the tile's weights) reads back, two anneals in a row and a sample
    equal golden, and the golden backend equals HybridModel; couplings whose fields the tile
    cannot hold exactly are refused by name on both backends, changing nothing."""
    case = random_hybrid_case(seed, kind, n=7)
    fabric = HybridFabric(case.tile, case.config, case.colours, schedule_depth=4)
    J_edges = np.array([case.J[i, j] for i, j in fabric.topology.edges])
    results = {}
    for backend in ("golden", "rtl"):
        options = {"simulator": simulator, "timeout": 30.0} if backend == "rtl" else {}
        with Emulator(fabric, backend, **options) as emulator:
            emulator.program(J_edges, case.h, case.seeds, case.state0)
            before = emulator.read_back()
            # every coupling at its largest: fields past the exact tile's ADC (these seeds)
            too_big = np.full_like(J_edges, signed_range(case.config.coupling_bits)[1])
            bound = field_bound(dense_couplings(fabric.topology, too_big))
            assert bound >= 1 << (case.tile.adc_bits - 1)
            with pytest.raises(ConfigError, match=rf"^couplings give fields up to {bound} "):
                emulator.program(too_big, case.h, case.seeds, case.state0)
            after = emulator.read_back()
            assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
            results[backend] = (before, after,
                                emulator.anneal(case.schedule, record_every=1),
                                emulator.anneal(case.schedule[:1], record_every=2),
                                emulator.sample(case.schedule[0][0], samples=4, burn_in=1))
    golden, rtl = results["golden"], results["rtl"]
    for mine, theirs in zip(golden[:2], rtl[:2], strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))
    assert np.array_equal(rtl[0][0], J_edges)
    assert rtl[2].differences(golden[2]) == [] and rtl[3].differences(golden[3]) == []
    assert np.array_equal(rtl[4], golden[4])
    model = HybridModel(case.tile, case.config, case.J, case.h, case.colours)
    run = model.run(case.schedule, case.seeds[None], case.state0[None], record=1)
    assert np.array_equal(golden[2].trajectory, run.trajectory[:, 0])
