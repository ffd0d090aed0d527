# amaranth: UnusedElaboratable=no
"""The p-bit core on the host link (PBitFabric behind LinkCore) in amaranth.sim, against golden.

Random graphs, formats, unit counts and images are programmed through frames and read back;
an anneal records its states; final, best and recorded states and energies, and the LFSR states
read back afterwards, equal the golden model's bit for bit, with states of one slice and of
several (a small ``slice_bits``). While the anneal runs (it waits for the host once ``states``
is full, so it is still running), every write and image read answers BUSY and changes nothing;
a full buffer holds the anneal, loses nothing, and ``result`` reads a consistent snapshot.
PBitClient runs the same over the real driver (Link) on a transport that steps the simulation.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from amaranth.hdl import Fragment, Shape, signed, unsigned
from amaranth.lib import data
from amaranth.lib.wiring import In
from amaranth.sim import Simulator

from spinemu.config import ConfigError, PBitConfig, Topology
from spinemu.gateware.core import LinkCore, link_regmap
from spinemu.gateware.pbit_fabric import (
    RESULT_FIELDS,
    SLICE_BITS,
    STATES_DEPTH,
    PBitFabric,
    RecordSlicer,
    header_layout,
    pbit_regions,
    state_slices,
)
from spinemu.hdl.link import RegionSignature
from spinemu.hdl.pbit import image_layouts, stream_layouts
from spinemu.link.driver import Link
from spinemu.link.pbit_client import ChainRun, PBitClient
from spinemu.link.protocol import MAX_PAYLOAD, Command, Status
from spinemu.link.regmap import Access, pack
from spinemu.numeric import derive_seeds, signed_range
from spinemu.sim.golden.pbit import PBitModel, dense_couplings, energy
from spinemu.sim.link_sim import SimHost, SimTransport
from spinemu.sim.testbench import random_pause, stream_get_timed, stream_put

from cases import (
    link_chain_run,
    link_ok,
    link_read,
    link_records,
    link_result,
    link_status,
    link_wait_idle,
    link_write,
)

SCHEDULE_DEPTH = 4


def random_case(seed: int, records: int, record_every: int, units: int | None = None):
    """A random graph (n 6..10), colouring, formats, units (random unless given), images, and
    a schedule of ``SCHEDULE_DEPTH`` steps (some of 0 sweeps) whose ``record_every``-th sweeps
    give ``records`` records."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 11))
    graph = nx.gnp_random_graph(n, float(rng.uniform(0.2, 0.6)), seed=seed)
    edges = tuple(sorted((min(a, b), max(a, b)) for a, b in graph.edges))
    colouring = nx.greedy_color(graph, strategy="largest_first")
    topology = Topology(n, edges, tuple(colouring[i] for i in range(n)))
    lut_bits = int(rng.integers(4, 11))
    config = PBitConfig(
        coupling_bits=int(rng.integers(2, 9)), bias_bits=int(rng.integers(2, 11)),
        beta_bits=int(rng.integers(4, 13)), beta_frac=int(rng.integers(0, 7)),
        lut_bits=lut_bits, lut_frac=int(rng.integers(0, lut_bits)),
        rng_bits=int(rng.integers(4, 17)), update_units=units or int(rng.integers(1, n + 1)))
    J = rng.integers(*signed_range(config.coupling_bits), size=len(edges), endpoint=True)
    h = rng.integers(*signed_range(config.bias_bits), size=n, endpoint=True)
    seeds = derive_seeds(seed, n)
    state = rng.integers(0, 2, size=n).astype(np.uint8)
    sweeps = records * record_every + int(rng.integers(0, record_every))
    cuts = np.sort(rng.integers(0, sweeps + 1, size=SCHEDULE_DEPTH - 1))
    lengths = np.diff(np.concatenate([[0], cuts, [sweeps]]))   # some steps of 0 sweeps
    schedule = [(int(rng.integers(0, 1 << config.beta_bits)), int(k)) for k in lengths]
    return config, topology, J, h, seeds, state, schedule, record_every


def initial_energy(topology, J, h, state) -> int:
    return int(energy(dense_couplings(topology, J), h, state))


def golden(config, topology, J, h, seeds, state, schedule, record_every):
    run = PBitModel(config, topology, J, h).run(schedule, seeds[None], state[None],
                                                record=record_every)
    return ChainRun.from_golden(run, initial_energy(topology, J, h, state), record_every)


def simulate(core, bench):
    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


# --- Frames through SimHost -------------------------------------------------------------------

# n 10 on 4 units, one slice; n 6 on 6 units, 2 slices of 4; n 10, 4 slices of 3
@pytest.mark.parametrize("seed, units, slice_bits", [(3, None, SLICE_BITS), (37, 6, 4),
                                                     (3, None, 3)])
def test_anneal_through_link_equals_golden_and_writes_while_busy_change_nothing(seed, units,
                                                                                slice_bits):
    records = STATES_DEPTH + 1   # one more than states holds: the anneal waits for the host
    case = random_case(seed, records, record_every=1, units=units)
    config, topology, J, h, seeds, state, schedule, record_every = case
    n = topology.n
    fabric = PBitFabric(config, topology, schedule_depth=SCHEDULE_DEPTH, slice_bits=slice_bits)
    core = LinkCore(fabric, divisor=None)
    regmap = core.regmap
    images = PBitFabric.images(config, topology, J, h, seeds, state, schedule)
    run_word = {"steps": len(schedule), "record_every": record_every,
                "energy": initial_energy(topology, J, h, state)}
    seen = {}

    async def refused(host):
        """Status of every image write and read, and of a run, while the anneal runs."""
        got = {}
        for name, values in images.items():
            region = regmap[name]
            other = pack(region.layout, values[0]) ^ 1   # would change entry 0
            got[f"write {name}"] = (await host.write(region, 0, [other])).status
            got[f"read {name}"] = (await host.read(region, 0, 1))[0].status
        got["run"] = (await host.write(regmap["run"], 0, [pack(regmap["run"].layout,
                                                               run_word)])).status
        return got

    async def bench(ctx):
        host = SimHost(ctx, core)
        info = link_ok(await host.command(Command.INFO))
        seen["hash"] = int.from_bytes(info.payload[3:7], "little")
        for name, values in images.items():
            await link_write(host, regmap[name], values)
        seen["before"] = {name: await link_read(host, regmap[name], len(values))
                          for name, values in images.items()}
        await link_write(host, regmap["run"], [run_word])
        seen["refused"] = await refused(host)
        seen["idle during"] = await link_status(host, regmap, "idle")
        seen["result during"] = await link_read(host, regmap["result"], 2)
        seen["records"] = await link_records(host, regmap, records, n)
        await link_wait_idle(host, regmap)
        seen["result"] = await link_result(host, regmap, n)
        seen["after"] = {name: await link_read(host, regmap[name], len(values))
                         for name, values in images.items()}

    simulate(core, bench)
    assert seen["hash"] == regmap.hash
    assert seen["before"] == images, case
    assert set(seen["refused"].values()) == {Status.BUSY}, seen["refused"]
    assert seen["idle during"] == 0
    assert seen["result during"][0]["sweep"] <= sum(k for _, k in schedule)
    device = link_chain_run(seen["records"], seen["result"], seen["after"]["nodes"], record_every)
    expected = golden(*case)
    assert device.differences(expected) == [], case
    # nothing written while busy: the images are as programmed, but for what the anneal moves
    for name in ("couplings", "schedule"):
        assert seen["after"].get(name) == images.get(name), name
    assert [v["bias"] for v in seen["after"]["nodes"]] == h.tolist()
    assert (np.array([v["state"] for v in seen["after"]["nodes"]]) == expected.state).all()


def test_a_full_states_buffer_holds_the_anneal_loses_nothing_and_result_is_a_snapshot():
    """Nothing popped until long after both FIFOs are full: the anneal waits in the record of
    sweep ``STATES_DEPTH + 1``, which ``result`` then shows (header and state of that record);
    a pop of more headers than wait is BUSY and takes nothing; every record comes out whole."""
    records = STATES_DEPTH + 3
    case = random_case(11, records, record_every=1)
    config, topology, J, h, seeds, state, schedule, record_every = case
    n = topology.n
    fabric = PBitFabric(config, topology, schedule_depth=SCHEDULE_DEPTH, slice_bits=3)
    core = LinkCore(fabric, divisor=None)
    regmap = core.regmap
    images = PBitFabric.images(config, topology, J, h, seeds, state, schedule)
    seen = {}

    async def bench(ctx):
        host = SimHost(ctx, core)
        for name, values in images.items():
            await link_write(host, regmap[name], values)
        await link_write(host, regmap["run"], [{"steps": len(schedule), "record_every": 1,
                                           "energy": initial_energy(topology, J, h, state)}])
        _, k = state_slices(n, 3)   # a sweep, its record and the schedule steps, twice over
        await ctx.tick().repeat(2 * (records + SCHEDULE_DEPTH) * (fabric.cycles_per_sweep + k + 3))
        seen["idle"] = await link_status(host, regmap, "idle")
        seen["too many"] = (await host.read(regmap["states"], 0, STATES_DEPTH + 1))[0].status
        seen["result"] = await link_result(host, regmap, n)
        seen["records"] = await link_records(host, regmap, records, n)
        await link_wait_idle(host, regmap)
        seen["final"] = await link_result(host, regmap, n)

    simulate(core, bench)
    expected = golden(*case)
    assert seen["idle"] == 0
    assert seen["too many"] == Status.BUSY
    (current, _), (snapshot, _) = seen["result"]
    waiting = STATES_DEPTH   # the record of sweep STATES_DEPTH + 1 waits for room
    assert current["sweep"] == waiting + 1, case
    assert current["energy"] == expected.energies[waiting], case
    assert (snapshot == expected.trajectory[waiting]).all(), case
    headers, trajectory = seen["records"]
    assert [r["sweep"] for r in headers] == list(range(1, records + 1))
    nodes = [{"seed": 0}] * n   # LFSRs not read here
    device = link_chain_run(seen["records"], seen["final"], nodes, 1)
    assert device.differences(expected) == ["lfsr"], case


# --- The driver and PBitClient over a simulation that runs while the driver waits ------------

def test_client_over_link_equals_golden_and_continues_an_anneal():
    case = random_case(5, records=4, record_every=3)   # n 9 on 3 units
    config, topology, J, h, seeds, state, schedule, record_every = case
    fabric = PBitFabric(config, topology, schedule_depth=SCHEDULE_DEPTH)
    link = Link(SimTransport(LinkCore(fabric, divisor=None)), link_regmap(fabric),
                timeout=600.0, busy_timeout=600.0, first_seq=0)
    link.check()
    client = PBitClient(link, config, topology)
    client.program(J, h, seeds, state)
    J_back, h_back, seeds_back, state_back = client.read_images()
    assert (J_back == J).all() and (h_back == h).all()
    assert (seeds_back == seeds).all() and (state_back == state).all(), case

    first = client.anneal(schedule, record_every)
    model = PBitModel(config, topology, J, h)
    run = model.run(schedule, seeds[None], state[None], record=record_every)
    assert first.differences(ChainRun.from_golden(
        run, initial_energy(topology, J, h, state), record_every)) == [], case

    # a second anneal starts where the first ended: the LFSRs and the state carry on
    more = [(int(schedule[-1][0]), 2)]
    second = client.anneal(more, 0, timeout=600.0)
    again = model.run(more, run.lfsr, run.states)
    assert second.differences(ChainRun.from_golden(again, int(run.energy[0]))) == []
    assert link.status()["idle"] == 1


# --- The slicer alone -------------------------------------------------------------------------

@pytest.mark.parametrize("n, width", [(13, 4), (8, 8), (9, 1)])
def test_slicer_sends_every_slice_then_the_header_under_back_pressure(n, width):
    """Random records into a RecordSlicer, both outputs stalled at random: the slices of each
    record in order (the last zero-padded), its header taken after its last slice, and the record
    taken with its header."""
    rng = np.random.default_rng(n * 100 + width)
    record = data.StructLayout({"sweep": unsigned(32), "energy": signed(9), "state": unsigned(n)})
    dut = RecordSlicer(record, width)
    count = 6
    records = [{"sweep": int(rng.integers(0, 1 << 32)), "energy": int(rng.integers(-256, 256)),
                "state": int(rng.integers(0, 1 << n))} for _ in range(count)]
    k = -(-n // width)
    expected = [r["state"] >> (j * width) & ((1 << width) - 1) for r in records for j in range(k)]
    got = {}

    async def put(ctx):
        await stream_put(ctx, dut.i, records, random_pause(rng, 0.3))

    async def slices(ctx):
        got["slices"] = await stream_get_timed(ctx, dut.slices, count * k, random_pause(rng, 0.4))

    async def headers(ctx):
        got["headers"] = await stream_get_timed(ctx, dut.header, count, random_pause(rng, 0.4))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for bench in (put, slices, headers):
        sim.add_testbench(bench)
    sim.run()
    values, slice_ticks = got["slices"]
    assert [int(v) for v in values] == expected
    headers, header_ticks = got["headers"]
    assert [{"sweep": h.sweep, "energy": h.energy} for h in headers] == \
        [{"sweep": r["sweep"], "energy": r["energy"]} for r in records]
    assert all(header_ticks[r] > slice_ticks[r * k + k - 1] for r in range(count))
    assert all(slice_ticks[(r + 1) * k] > header_ticks[r] for r in range(count - 1))


# --- Regions, map and errors (no simulation) ---------------------------------------------------

def _topology(n: int, edges: int, seed: int) -> Topology:
    graph = nx.gnm_random_graph(n, edges, seed=seed)
    colouring = nx.greedy_color(graph, strategy="largest_first")
    return Topology(n, tuple(sorted((min(a, b), max(a, b)) for a, b in graph.edges)),
                    tuple(colouring[i] for i in range(n)))


def _fields(layout) -> list[tuple[str, int, int]]:
    """(name, offset, width) of every field, nested struct fields by their own name."""
    out = []
    for name, field in layout:
        if isinstance(field.shape, data.StructLayout):
            out += [(sub, field.offset + off, w) for sub, off, w in _fields(field.shape)]
        else:
            out.append((name, field.offset, Shape.cast(field.shape).width))
    return out


@pytest.mark.parametrize("n, edges, depth, slice_bits",
                         [(9, 14, 4, SLICE_BITS), (5, 0, 1, SLICE_BITS), (9, 14, 4, 4),
                          (800, 19176, 16, SLICE_BITS)])
def test_regions_and_map_match_the_core(n, edges, depth, slice_bits):
    config, topology = PBitConfig(update_units=1), _topology(n, edges, seed=n)
    fabric = PBitFabric(config, topology, schedule_depth=depth, slice_bits=slice_bits)
    regions = {r.name: r for r in fabric.regions()}
    width, k = state_slices(n, slice_bits)
    assert (width, k) == (min(slice_bits, n), -(-n // min(slice_bits, n)))
    expected = [("couplings", 1, Access.RW, edges), ("nodes", 2, Access.RW, n),
                ("schedule", 3, Access.RW, depth), ("run", 4, Access.PUSH, 1),
                ("states", 5, Access.POP, STATES_DEPTH), ("result", 6, Access.RO, 2),
                ("states_slices", 7, Access.POP, STATES_DEPTH * k),
                ("result_slices", 8, Access.RO, 2 * k)]
    assert [(r.name, r.id, r.access, r.depth) for r in fabric.regions()] == \
        [row for row in expected if row[3]]                # no couplings without edges
    assert regions["result"].fields == RESULT_FIELDS

    images = image_layouts(config, topology, depth)
    streams = stream_layouts(config, topology, depth)
    for name, image, write in [("couplings", "coupling", "coupling_wr"),
                               ("nodes", "node", "node_wr"),
                               ("schedule", "schedule", "schedule_wr")]:
        if name not in regions:
            continue
        address, word = images[image]
        assert regions[name].layout == word
        # the region's {addr, data} write is the core's flat write stream, bit for bit
        flat = _fields(streams[write])
        assert flat[0][1:] == (0, Shape.cast(address).width)
        if isinstance(word, data.StructLayout):
            assert [(f, o - flat[0][2], w) for f, o, w in flat[1:]] == _fields(word)
        else:
            assert flat[1][1:] == (flat[0][2], Shape.cast(word).width)
    assert regions["run"].layout == streams["run"]
    # a header is the core's record without its state; a slice is W bits
    record = _fields(streams["states"])
    assert record[-1] == ("state", Shape.cast(header_layout(config, topology)).width, n)
    for name in ("states", "result"):
        assert regions[name].layout == header_layout(config, topology)
        assert _fields(regions[name].layout) == record[:-1]
    for name in ("states_slices", "result_slices"):
        assert regions[name].layout == unsigned(width)

    regmap = link_regmap(fabric)
    assert [r.name for r in regmap.regions] == ["status", *regions]
    for region in fabric.regions():
        port = fabric.signature.members[region.name]
        assert port.flow == In
        assert port.signature.members == RegionSignature(region.word_bits).flip().members
        assert region.word_bytes <= (MAX_PAYLOAD - 6 if region.access.writable else 255)
    assert regmap.data_bits == 8 * max(r.word_bytes for r in fabric.regions())
    # the bus is as wide as a slice (or the widest header, image or status word), not a state
    assert regmap.data_bits == 8 * max((width + 7) // 8, 4, *(
        r.word_bytes for r in fabric.regions() if not r.name.endswith("_slices")))
    if n >= SLICE_BITS == slice_bits:
        assert regmap.data_bits == SLICE_BITS


def _torus(rows: int, cols: int) -> Topology:
    """A rows x cols toroidal grid (both even: two colours, a checkerboard), as G48."""
    def node(r, c):
        return (r % rows) * cols + c % cols
    edges = {tuple(sorted((node(r, c), node(r + dr, c + dc))))
             for r in range(rows) for c in range(cols) for dr, dc in ((0, 1), (1, 0))}
    return Topology(rows * cols, tuple(sorted(edges)),
                    tuple((r + c) % 2 for r in range(rows) for c in range(cols)))


def test_a_core_of_3000_p_bits_has_a_fabric_on_the_link():
    """G48's shape (a 50 x 60 torus, 2 colours): 12 slices of 256 bits, elaborated (not
    simulated) behind the link."""
    topology = _torus(50, 60)
    assert (topology.n, len(topology.edges), topology.num_colours) == (3000, 6000, 2)
    fabric = PBitFabric(PBitConfig(update_units=4), topology)
    regions = {r.name: r for r in fabric.regions()}
    assert (regions["states_slices"].depth, regions["result_slices"].depth) == \
        (STATES_DEPTH * 12, 2 * 12)
    core = LinkCore(fabric, divisor=None)
    assert core.regmap.data_bits == SLICE_BITS
    Fragment.get(core, None)


def test_a_state_of_more_slices_than_states_slices_counts_is_refused():
    topology = Topology(4096, ((0, 1),), (0, 1) + (0,) * 4094)
    pbit_regions(PBitConfig(), topology, slice_bits=2)     # 2048 slices: 32768 words
    with pytest.raises(ConfigError, match=r"^n = 4096 is out of range for slices of 1 bits; "
                                          r"allowed at most 4095 \(16 records of 4096 slices "
                                          r"must fit the 65535 words of 'states_slices'\)$"):
        pbit_regions(PBitConfig(), topology, slice_bits=1)
    for slice_bits in (0, 2041):
        with pytest.raises(ConfigError, match=rf"^slice_bits = {slice_bits} is out of range; "
                                              r"allowed 1\.\.2040$"):
            PBitFabric(PBitConfig(), topology, slice_bits=slice_bits)


def test_images_name_the_value_out_of_range():
    config, topology = PBitConfig(coupling_bits=4), _topology(4, 3, seed=1)
    with pytest.raises(ConfigError, match=r"^couplings\[1\]: value = 8 is out of range; "
                                          r"allowed -8\.\.7$"):
        PBitFabric.images(config, topology, J_edges=[0, 8, 0])
    with pytest.raises(ConfigError, match=r"^seeds\[2\] = 0 is out of range; allowed "
                                          r"1\.\.4294967295 \(an LFSR state is never 0; "
                                          r"1 element\(s\) outside\)$"):
        PBitFabric.images(config, topology, h=[0] * 4, seeds=[1, 2, 0, 3], state=[0] * 4)
    with pytest.raises(ConfigError, match=r"^nodes\[3\]: state = 2 is out of range; "
                                          r"allowed 0\.\.1$"):
        PBitFabric.images(config, topology, h=[0] * 4, seeds=[1] * 4, state=[0, 1, 0, 2])
    with pytest.raises(ConfigError, match=r"^h, seeds and state are written together"):
        PBitFabric.images(config, topology, h=[0] * 4)
    with pytest.raises(ConfigError, match=r"^J_edges has shape \(2,\); expected \(3,\)$"):
        PBitFabric.images(config, topology, J_edges=[0, 0])


class _NoTransport:
    def send(self, data):
        raise AssertionError("nothing should be sent")

    def receive(self, timeout):
        return b""

    def close(self):
        pass


def test_client_refuses_a_schedule_the_fabric_cannot_hold():
    config, topology = PBitConfig(), _topology(4, 3, seed=2)
    fabric = PBitFabric(config, topology, schedule_depth=2)
    client = PBitClient(Link(_NoTransport(), link_regmap(fabric)), config, topology)
    with pytest.raises(ConfigError, match=r"^schedule has 3 steps; allowed at most 2 "):
        client.anneal([(1, 1)] * 3)
    with pytest.raises(ConfigError, match=r"^record_every = 65536 is out of range; allowed "
                                          r"0\.\.65535$"):
        client.anneal([(1, 1)], record_every=65536)
    with pytest.raises(ConfigError, match=r"^schedule step 0: B = 4096 is out of range"):
        client.anneal([(4096, 1)])
