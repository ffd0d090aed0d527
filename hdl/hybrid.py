"""The hybrid core (DESIGN.md 3.4, hybrid mode): a crossbar tile computes the fields of p-bits.

:class:`HybridCore` holds a dense Ising problem: the couplings ``J`` as the weights of a
:class:`~spinemu.hdl.tile.CrossbarTile` with an exact periphery, the biases, LFSR states and spins
of n p-bits in a :class:`HybridNodes`. Per colour phase a :class:`PhaseDriver` feeds the spins at
the phase start to the tile as -1/+1 input codes and hands the outputs ``z = J m`` of that
colour's p-bits to the :class:`~spinemu.hdl.activation.Activation` of the nodes; the
:class:`~spinemu.hdl.pbit.AnnealController` of the p-bit core runs schedule, phases, sweeps,
energy and best state. The golden model is :class:`~spinemu.sim.golden.hybrid.HybridModel`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spinemu.config import PBitConfig, TileConfig, Topology
from spinemu.numeric import LFSR_BITS, tanh_table
from spinemu.sim.golden.hybrid import HybridModel, check_tile

from . import pbit
from .activation import ACTIVATION_LATENCY, Activation
from .pbit import DEFAULT_SCHEDULE_DEPTH, AnnealController
from .pbit_unit import _bits
from .ports import ReadSignature
from .tile import CrossbarTile, input_shape, weight_write_layout

__all__ = [
    "HybridCore", "HybridNodes", "PhaseDriver", "anneal_config", "check_parameters",
    "cycles_per_sweep", "field_layout", "hybrid_topology", "node_image", "stream_layouts",
]


def hybrid_topology(colours) -> Topology:
    """Every pair of p-bits of different colours as an edge: the graph of every coupling a
    problem with this colouring may have (a proper colouring of it by construction)."""
    return _multipartite(tuple(int(c) for c in colours))


@lru_cache(maxsize=8)   # (n^2 / 2 edges: the core, its layouts and a fabric each ask)
def _multipartite(colours: tuple[int, ...]) -> Topology:
    n = len(colours)
    edges = tuple((i, j) for i in range(n) for j in range(i + 1, n) if colours[i] != colours[j])
    return Topology(n, edges, colours)


def anneal_config(config: PBitConfig) -> PBitConfig:
    """``config`` with one update unit of one lane: what the anneal controller is built with
    (the hybrid core has one :class:`~spinemu.hdl.activation.Activation`)."""
    return replace(config, update_units=1, update_lanes=1)


def field_layout(tile: TileConfig, n: int) -> wiring.Signature:
    """A tile output for the activation: ``{valid, node: unsigned(bits(n)),
    value: signed(out_bits)}``."""
    return wiring.Signature({"valid": Out(1), "node": Out(unsigned(_bits(n))),
                             "value": Out(signed(tile.out_bits))})


def check_parameters(tile: TileConfig, config: PBitConfig, colours, J=None,
                     schedule_depth: int = DEFAULT_SCHEDULE_DEPTH) -> tuple[Topology, object]:
    """Refuse a :class:`HybridCore` that cannot be built: ``TypeError`` for a tile or config
    of the wrong type; :class:`~spinemu.config.ConfigError` for a colouring that is not one
    (or, with ``J``, not proper), a tile that cannot hold n p-bits or carry spins, and with
    ``J`` everything :class:`~spinemu.sim.golden.hybrid.HybridModel` refuses (shape, range,
    symmetry, :func:`~spinemu.sim.golden.hybrid.check_tile`); ``ValueError`` for a
    ``schedule_depth`` outside 1..4096. Returns :func:`hybrid_topology` and the checked J."""
    if not isinstance(tile, TileConfig):
        raise TypeError(f"tile must be a TileConfig, not {type(tile).__name__}")
    if not isinstance(config, PBitConfig):
        raise TypeError(f"config must be a PBitConfig, not {type(config).__name__}")
    topology = hybrid_topology(colours)
    n = topology.n
    check_tile(tile, np.zeros((n, n), dtype=np.int64))
    if J is not None:   # every check of the golden model: shape, range, symmetry, tile
        J = HybridModel(tile, config, J, np.zeros(n, dtype=np.int64), colours).J
    pbit.check_parameters(anneal_config(config), topology, schedule_depth)
    return topology, J


def node_image(config: PBitConfig, n: int) -> tuple:
    """``(address shape, word layout)`` of a p-bit's node image: the p-bit core's
    (:func:`~spinemu.hdl.pbit.image_layouts`), ``{bias, seed, state}``."""
    return pbit.image_layouts(config, Topology(n, (), (0,) * n), 1)["node"]


def stream_layouts(tile: TileConfig, config: PBitConfig, colours, schedule_depth: int) -> dict:
    """Payload layouts of the core's streams by port name: the p-bit core's ``node_wr``,
    ``schedule_wr``, ``run`` and ``states`` (energy width of :func:`hybrid_topology`) and the
    tile's ``weight_wr``."""
    layouts = pbit.stream_layouts(anneal_config(config), hybrid_topology(colours), schedule_depth)
    del layouts["coupling_wr"]
    return {**layouts, "weight_wr": weight_write_layout(tile)}


def cycles_per_sweep(tile: TileConfig, colours) -> int:
    """Clock cycles of one sweep of a :class:`HybridCore`, not counting the one a recorded
    state adds.

    Per colour k: ``1 + max(Z(C-1) + 2, Z(c_k) + 2 + ACTIVATION_LATENCY)`` clocks, where c_k is
    the last p-bit of colour k and ``Z(c) = 2R + 7 + floor(c / L) * max(R + 3, L) + c mod L``
    the clock of column c's output counted from the first spin fed to the tile
    (:meth:`~spinemu.hdl.tile.CrossbarTile.output_clocks`): one clock starts the phase (PHASE),
    the spins go to the tile from the next, and the phase has drained (the last DRAIN clock) the
    clock after the tile's last output, or the clock after the last write-back of the colour;
    plus 2 per sweep (SWEEP, SWEEP_END).
    """
    z = CrossbarTile.output_clocks(tile)
    colours = [int(c) for c in colours]
    total = 2
    for k in range(max(colours) + 1):
        last = max(i for i, c in enumerate(colours) if c == k)
        total += 1 + max(z[-1] + 2, z[last] + 2 + ACTIVATION_LATENCY)
    return total


class PhaseDriver(wiring.Component):
    """Feeds the spins to the tile and hands its outputs of one colour to the activation.

    Parameters
    ----------
    tile : TileConfig
        R rows, C columns (both >= n), signed inputs of at least 2 bits, Z = ``out_bits``.
    colours : sequence of int [n]
        The colour of every p-bit (K colours).

    Members
    -------
    phase_go : In(1)
        Pulse: start colour ``colour``'s phase; ``colour`` and ``state`` are read from then on
        (``state`` does not change until the tile has its inputs).
    colour : In(range(max(K, 2))); state : In(unsigned(n))
    x : Out(stream.Signature(input_shape(tile)))
        R codes per phase, row 0 first: ``m[r]`` (+1 for state 1, -1 for 0) for r < n, 0 past.
    z : In(stream.Signature(signed(Z)))
        The tile's C outputs, column 0 first; always ready.
    field : Out(field_layout(tile, n))
        Valid on the clock of a ``z`` transfer of a column r < n of colour ``colour``: p-bit
        ``node`` = r and its ``value`` ``z``.
    idle : Out(1)
        No phase in progress: every output of the last phase taken.

    Timing
    ------
    Row r goes to ``x`` r + 1 clocks after ``phase_go`` (the tile takes one per clock);
    ``field`` has no latency of its own.
    """

    def __init__(self, tile: TileConfig, colours):
        self._tile, self._colours = tile, tuple(int(c) for c in colours)
        n = len(self._colours)
        super().__init__({
            "phase_go": In(1),
            "colour": In(range(max(max(self._colours) + 1, 2))),
            "state": In(unsigned(n)),
            "x": Out(stream.Signature(input_shape(tile))),
            "z": In(stream.Signature(signed(tile.out_bits))),
            "field": Out(field_layout(tile, n)),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        R, C, n = self._tile.rows, self._tile.cols, len(self._colours)
        m = Module()
        row, col = Signal(range(R)), Signal(range(C))
        loading, running = Signal(), Signal()
        with m.If(self.phase_go):
            m.d.sync += [loading.eq(1), running.eq(1), row.eq(0), col.eq(0)]
        spins = Signal(R)
        m.d.comb += [spins.eq(self.state), self.x.valid.eq(loading),
                     self.x.payload.eq(Mux(spins.bit_select(row, 1), 1,
                                           Mux(row < n, -1, 0))),
                     self.z.ready.eq(1), self.idle.eq(~running)]
        with m.If(self.x.valid & self.x.ready):
            m.d.sync += row.eq(row + 1)
            with m.If(row == R - 1):
                m.d.sync += [loading.eq(0), row.eq(0)]
        with m.If(self.z.valid):
            m.d.sync += col.eq(col + 1)
            with m.If(col == C - 1):
                m.d.sync += [running.eq(0), col.eq(0)]
        # per colour, the columns of its p-bits as a C-bit mask
        masks = Array(Const(sum(1 << i for i, c in enumerate(self._colours) if c == k), C)
                      for k in range(max(self._colours) + 1))
        m.d.comb += [self.field.valid.eq(self.z.valid & masks[self.colour].bit_select(col, 1)),
                     self.field.node.eq(col), self.field.value.eq(self.z.payload)]
        return m


class HybridNodes(wiring.Component):
    """The p-bit side of a :class:`HybridCore`: spins, biases, LFSR states and the activation.

    Parameters
    ----------
    tile : TileConfig
        Z = ``out_bits`` (the width of a field from the tile).
    config : PBitConfig
        Number formats of the p-bits.
    n : int
        Number of p-bits, >= 1.

    Members
    -------
    field : In(field_layout(tile, n))
        While ``valid``: update p-bit ``node`` from the tile output ``value`` (``J m``).
    beta : In(unsigned(beta_bits))
        Inverse-temperature code; held while ``busy``.
    node_wr : In(Signature({en: 1, node: unsigned(bits(n)), bias: signed(bias_bits),
        seed: unsigned(32), state: 1}))
        On a clock ``en`` is high (only while not ``busy``): p-bit ``node``'s bias, LFSR seed
        (0 becomes 1) and state bit (a ``node`` of n or more writes nothing).
    read_enable : In(1)
        ``node_rd`` takes addresses only while high (no update in flight or coming).
    node_rd : In(ReadSignature(unsigned(bits(n)), {bias: signed(bias_bits), seed: unsigned(32),
        state: unsigned(1)}))
        Read-back of a p-bit: bias, LFSR state (the seed until it updates) and state bit, on
        ``data`` the clock after its address is taken, held until taken.
    state : Out(unsigned(n))
        The spins (bit i: p-bit i is +1).
    delta : Out(signed(F + 2))
        The energy change of the write-back of the clock before (F = ``field_bits``).
    busy : Out(1)
        An update is in flight.

    Latency
    -------
    The field ``I = value + h`` (F = ``max(out_bits, bias_bits) + 1`` bits, exact) goes through
    the activation: the state bit and the LFSR state are written
    :data:`~spinemu.hdl.activation.ACTIVATION_LATENCY` (5) clocks after ``field`` is valid,
    ``delta`` a clock later. One update per clock.
    """

    def __init__(self, tile: TileConfig, config: PBitConfig, n: int):
        if n < 1:
            raise ValueError(f"n = {n} is out of range; allowed >= 1")
        self._config, self._n = config, n
        self._field_bits = max(tile.out_bits, config.bias_bits) + 1
        super().__init__({
            "field": In(field_layout(tile, n)),
            "beta": In(unsigned(config.beta_bits)),
            "node_wr": In(wiring.Signature({
                "en": Out(1), "node": Out(unsigned(_bits(n))),
                "bias": Out(signed(config.bias_bits)), "seed": Out(unsigned(LFSR_BITS)),
                "state": Out(1)})),
            "read_enable": In(1),
            "node_rd": In(ReadSignature(*node_image(config, n))),
            "state": Out(unsigned(n)),
            "delta": Out(signed(self._field_bits + 2)),
            "busy": Out(1),
        })

    @property
    def field_bits(self) -> int:
        return self._field_bits

    def elaborate(self, platform):
        cfg, n = self._config, self._n
        m = Module()
        table = tanh_table(cfg.lut_bits, cfg.lut_frac, cfg.rng_bits)
        m.submodules.lut = lut = memory.Memory(shape=signed(cfg.rng_bits), depth=len(table),
                                                init=[int(v) for v in table])
        m.submodules.biases = biases = memory.Memory(shape=signed(cfg.bias_bits), depth=n,
                                                      init=[])
        m.submodules.lfsrs = lfsrs = memory.Memory(shape=unsigned(LFSR_BITS), depth=n,
                                                    init=[1] * n)
        m.submodules.activation = act = Activation(cfg, field_bits=self._field_bits,
                                                   tag_bits=_bits(n))
        lut_rd, h_rd, h_wr = lut.read_port(), biases.read_port(), biases.write_port()
        r_rd, r_wr = lfsrs.read_port(), lfsrs.write_port()
        field, wr, back, rd = self.field, self.node_wr, act.write_back, self.node_rd
        loading = wr.en & (wr.node < n)
        address = Mux(self.read_enable, rd.addr.payload, field.node)
        m.d.comb += [
            h_rd.addr.eq(address), r_rd.addr.eq(address),
            act.start.valid.eq(field.valid), act.start.tag.eq(field.node),
            act.start.sum.eq(field.value), act.h.eq(h_rd.data), act.lfsr.eq(r_rd.data),
            act.beta.eq(self.beta),
            lut_rd.addr.eq(act.lut_addr), act.lut_data.eq(lut_rd.data),
            act.old.eq(self.state.bit_select(back.tag, 1)),
            h_wr.addr.eq(wr.node), h_wr.data.eq(wr.bias), h_wr.en.eq(loading),
            r_wr.addr.eq(Mux(loading, wr.node, back.tag)),
            r_wr.data.eq(Mux(loading, wr.seed | (wr.seed == 0), back.lfsr)),
            r_wr.en.eq(loading | back.valid),
            self.delta.eq(act.delta), self.busy.eq(act.busy),
        ]
        # the spins: node writes (only while idle) and the activation's write-backs
        with m.If(loading):
            m.d.sync += self.state.bit_select(wr.node, 1).eq(wr.state)
        with m.If(back.valid):
            m.d.sync += self.state.bit_select(back.tag, 1).eq(back.up)
        # read-back (while read_enable): the memories at the address, then the word
        issued, node = Signal(), Signal.like(rd.addr.payload)
        m.d.comb += rd.addr.ready.eq(self.read_enable & ~issued & ~rd.data.valid)
        m.d.sync += issued.eq(rd.addr.valid & rd.addr.ready)
        with m.If(rd.addr.valid & rd.addr.ready):
            m.d.sync += node.eq(rd.addr.payload)
        with m.If(rd.data.ready):
            m.d.sync += rd.data.valid.eq(0)
        with m.If(issued):
            m.d.sync += [rd.data.valid.eq(1), rd.data.payload.bias.eq(h_rd.data),
                         rd.data.payload.seed.eq(r_rd.data),
                         rd.data.payload.state.eq(self.state.bit_select(node, 1))]
        return m


class HybridCore(wiring.Component):
    """A dense Ising problem of n p-bits whose fields ``J m`` a crossbar tile computes.

    Parameters
    ----------
    tile : TileConfig
        R >= n rows, C >= n columns, L lanes, signed inputs of at least 2 bits, cells of
        ``cell_bits``; the periphery is built exact (``adc_shift`` 0, unity gain, no offset), and
        ``adc_bits`` and ``out_bits`` must exceed every field the couplings give
        (:func:`~spinemu.sim.golden.hybrid.exact_tile_config` makes the smallest such tile).
    config : PBitConfig
        Number formats of the p-bits (``update_units`` and ``update_lanes`` are not used).
    colours : sequence of int [n]
        Update phases, K colours: a proper colouring of the non-zero couplings (bipartite for an
        RBM, ``range(n)`` for one p-bit at a time).
    J : int array [n, n], optional
        Couplings checked against the tile (:func:`~spinemu.sim.golden.hybrid.check_tile`:
        the tile must hold the problem and compute every field exactly) and loaded as the
        initial weights; zero when omitted (write them on ``weight_wr``). Couplings written
        at run time must keep the tile exact, fit ``coupling_bits`` and respect the colouring.
    schedule_depth : int
        Anneal steps the schedule memory holds (default 16).

    Members
    -------
    weight_wr : In(stream.Signature(weight_write_layout(tile)))
        The tile's weight words (:func:`~spinemu.hdl.tile.weight_words` of the image with J in
        its top-left corner): one per clock, while idle.
    weight_rd : In(ReadSignature(addr, ArrayLayout(signed(cell_bits), L)))
        The tile's weight read-back: latency 1, taken while idle and no write or ``run`` is
        offered.
    node_wr : In(stream.Signature({node, bias: signed(bias_bits), seed: unsigned(32),
        state: unsigned(1)}))
        h, LFSR seed (0 becomes 1) and initial state of a p-bit; one clock per write, while
        idle.
    node_rd, schedule_rd : In(ReadSignature(address, word of node_wr / schedule_wr))
        Read-back of a p-bit (``seed``: its LFSR state, the seed until it updates; ``state``:
        its state bit) and of an anneal step, taken while idle and no write or ``run`` is
        offered; the word is on ``data`` the next clock and stays until taken.
    schedule_wr, run, states
        As :class:`~spinemu.hdl.pbit.PBitCore` 's (E = :func:`~spinemu.hdl.pbit.energy_bits`
        of :func:`hybrid_topology`); ``run`` is not taken while a write is offered.
    state, best_state : Out(unsigned(n)); energy, best_energy : Out(signed(E))
    sweep, best_sweep : Out(unsigned(32)); busy : Out(1)
        As :class:`~spinemu.hdl.pbit.PBitCore` 's: energies tracked by the exact flip deltas.

    Architecture and timing
    -----------------------
    Per colour phase the :class:`PhaseDriver` feeds the spins at the phase start to the tile
    (R clocks), the tile computes ``z = J m`` for every column (exact: ``out_bits`` wide) and
    the driver hands the outputs of the colour's p-bits, one per clock as they leave the tile,
    to the :class:`HybridNodes`, whose activation adds ``h`` (``max(out_bits, bias_bits) + 1``
    bits) and writes state and LFSR back 5 clocks later. A phase ends when the tile is idle and
    the activation has drained. A sweep takes exactly :func:`cycles_per_sweep` clocks (plus
    one per recorded state): per colour ``2R + 9 + (K_t - 1) * max(R + 3, L) + L_last`` clocks
    (``K_t = ceil(C / L)`` column groups, ``L_last`` columns in the last), up to 5 more when
    the colour's last p-bit leaves the tile less than 5 clocks before the last column, whatever
    the colour's size.
    """

    def __init__(self, tile: TileConfig, config: PBitConfig, colours, *, J=None,
                 schedule_depth: int = DEFAULT_SCHEDULE_DEPTH):
        topology, J = check_parameters(tile, config, colours, J, schedule_depth)
        n = topology.n
        self._tile, self._config, self._topology = tile, config, topology
        self._depth, self._J = schedule_depth, J
        layouts = stream_layouts(tile, config, topology.colours, schedule_depth)
        words = weight_write_layout(tile)
        super().__init__({
            **{name: In(stream.Signature(layouts[name]))
               for name in ("weight_wr", "node_wr", "schedule_wr", "run")},
            "weight_rd": In(ReadSignature(words["addr"].shape, words["data"].shape)),
            "node_rd": In(ReadSignature(*node_image(config, n))),
            "schedule_rd": In(ReadSignature(*pbit.image_layouts(
                config, topology, schedule_depth)["schedule"])),
            "states": Out(stream.Signature(layouts["states"])),
            "state": Out(unsigned(n)), "best_state": Out(unsigned(n)),
            "energy": Out(signed(self.energy_bits)),
            "best_energy": Out(signed(self.energy_bits)),
            "sweep": Out(unsigned(32)), "best_sweep": Out(unsigned(32)),
            "busy": Out(1),
        })

    @property
    def tile(self) -> TileConfig:
        return self._tile

    @property
    def config(self) -> PBitConfig:
        return self._config

    @property
    def colours(self) -> tuple[int, ...]:
        return self._topology.colours

    @property
    def n(self) -> int:
        return self._topology.n

    @property
    def schedule_depth(self) -> int:
        return self._depth

    @property
    def energy_bits(self) -> int:
        return pbit.energy_bits(self._config, self._topology)

    def cycles_per_sweep(self) -> int:
        """Clock cycles of one sweep (:func:`cycles_per_sweep`)."""
        return cycles_per_sweep(self._tile, self.colours)

    def _tile_part(self) -> CrossbarTile:
        """The tile: J in the top-left corner of its weights, an exact periphery."""
        cols, n = self._tile.cols, self.n
        weights = None
        if self._J is not None:
            weights = np.zeros((self._tile.rows, cols), dtype=np.int64)
            weights[:n, :n] = self._J
        return CrossbarTile(self._tile, weights, adc_shift=np.zeros(cols, np.int64),
                            gain=np.full(cols, 1 << self._tile.gain_frac, np.int64),
                            offset=np.zeros(cols, np.int64))

    def elaborate(self, platform):
        m = Module()
        m.submodules.tile = tile = self._tile_part()
        m.submodules.driver = driver = PhaseDriver(self._tile, self.colours)
        m.submodules.nodes = nodes = HybridNodes(self._tile, self._config, self.n)
        m.submodules.control = control = AnnealController(
            anneal_config(self._config), self._topology, self._depth)
        for name in ("schedule_wr", "run", "states"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(control, name))
        wiring.connect(m, driver.x, tile.x)
        wiring.connect(m, tile.z, driver.z)
        wiring.connect(m, driver.field, nodes.field)

        idle, weights, node = control.idle, self.weight_wr, self.node_wr
        offered = weights.valid | node.valid | self.schedule_wr.valid | self.run.valid
        wiring.connect(m, wiring.flipped(self.node_rd), nodes.node_rd)
        _serve_schedule(m, control, self.schedule_rd, idle & ~offered)
        _gate_read(m, self.weight_rd, tile.weight_rd, idle & ~offered)
        m.d.comb += [
            nodes.read_enable.eq(idle & ~offered),
            # writes only while no anneal runs; run waits while a write is offered
            tile.weight_wr.valid.eq(weights.valid & idle),
            tile.weight_wr.payload.eq(weights.payload),
            weights.ready.eq(tile.weight_wr.ready & idle),
            node.ready.eq(idle),
            nodes.node_wr.en.eq(node.valid & idle), nodes.node_wr.node.eq(node.payload.node),
            nodes.node_wr.bias.eq(node.payload.bias), nodes.node_wr.seed.eq(node.payload.seed),
            nodes.node_wr.state.eq(node.payload.state),
            control.enable.eq(~weights.valid & ~node.valid),
            driver.phase_go.eq(control.phase_go), driver.colour.eq(control.colour),
            driver.state.eq(nodes.state), nodes.beta.eq(control.beta),
            control.units_idle.eq(driver.idle & ~tile.busy & ~nodes.busy),
            control.delta.eq(nodes.delta), control.state.eq(nodes.state),
            self.state.eq(nodes.state), self.best_state.eq(control.best_state),
            self.energy.eq(control.energy), self.best_energy.eq(control.best_energy),
            self.sweep.eq(control.sweep), self.best_sweep.eq(control.best_sweep),
            self.busy.eq(~idle),
        ]
        return m


def _serve_schedule(m, control, rd, enable) -> None:
    """Answer ``rd`` (an anneal step's read-back) from the controller's schedule registers: an
    address is taken while ``enable`` and no word waits; its word is on ``data`` the next clock,
    held until taken."""
    m.d.comb += rd.addr.ready.eq(enable & ~rd.data.valid)
    with m.If(rd.data.ready):
        m.d.sync += rd.data.valid.eq(0)
    index = rd.addr.payload
    with m.If(rd.addr.valid & rd.addr.ready):
        m.d.sync += [rd.data.valid.eq(1), rd.data.payload.beta.eq(control.betas[index]),
                     rd.data.payload.sweeps.eq(control.sweeps[index])]


def _gate_read(m, rd, target, enable) -> None:
    """Pass read port ``rd`` (target side) on to ``target`` (a component's read port), its
    addresses only while ``enable``."""
    m.d.comb += [
        target.addr.valid.eq(rd.addr.valid & enable), target.addr.payload.eq(rd.addr.payload),
        rd.addr.ready.eq(target.addr.ready & enable),
        rd.data.valid.eq(target.data.valid), rd.data.payload.eq(target.data.payload),
        target.data.ready.eq(rd.data.ready),
    ]
