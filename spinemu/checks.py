"""A fabric on a backend against the golden backend: the work behind ``spinemu sim tile``,
``spinemu sim layer`` and the demo, as functions that return results.

Every run goes through :class:`spinemu.Emulator`: the same images programmed on the backend
asked for (``"golden"``, ``"rtl"`` or ``"board"``) and on ``"golden"``, read back, and the same
inputs through both. The one exception is the stream testbench (:func:`stream_tile`,
:func:`stream_network`): the fabric alone on its streams under cocotb, without the host link, for
what only it measures (clock cycles per vector, back-pressure, load as memory init, a trace).
The Emulator has no such backend; those runs are RTL only.

Dumps (:func:`write_tile_dump`, :func:`write_network_dump`) hold everything another tool needs
to recompute the expected outputs; each has a ``keys`` entry saying what every key holds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, TileConfig

__all__ = ["TileCheck", "NetworkCheck", "check_tile", "stream_tile", "tile_stimulus",
           "check_network", "stream_network", "plan_inputs", "write_tile", "write_tile_dump",
           "write_network_dump", "save_npz", "TILE_DUMP_KEYS", "NETWORK_DUMP_KEYS"]

TILE_DUMP_KEYS = {
    "config": "TileConfig as JSON (every width named as in TileConfig)",
    "g": "int64 [rows, cols] stored cell codes",
    "x": "int64 [vectors, rows] input codes",
    "adc_shift": "int64 [cols] ADC right shift per column",
    "gain": "int64 [cols] unsigned calibration gain, gain_frac fraction bits",
    "offset": "int64 [cols] signed calibration offset",
    "z_rtl": "int64 [vectors, cols] outputs of the backend (the RTL, a board or golden)",
    "backend": "backend that produced z_rtl: golden, rtl or board",
    "simulator": "simulator that produced z_rtl (rtl backend; empty otherwise)",
    "seed": "seed of the random stimulus",
    "keys": "this table, as JSON",
}

NETWORK_DUMP_KEYS = {
    "config": "NetworkConfig as TOML (the plan's network.toml)",
    "x": "int64 [vectors, inputs] input codes of layer 0 (flat NHWC images for a convolution)",
    "a_rtl": "int64 [vectors, outputs] output codes of the last layer, backend",
    "a_golden": "int64 [vectors, outputs] output codes of the last layer, golden model",
    "inputs": "where x came from: held-out inputs of a data set, or random codes",
    "backend": "backend that produced a_rtl: golden, rtl or board",
    "simulator": "simulator that produced a_rtl (rtl backend; empty otherwise)",
    "seed": "seed of random inputs and of stream stalls",
    "cycles": "clock cycles from the first input taken to the last output taken (stream "
              "testbench; -1 otherwise)",
    "keys": "this table, as JSON",
}


def save_npz(path: str | Path, keys: dict[str, str], **arrays) -> None:
    """``arrays`` as a compressed npz with ``keys`` (what each key holds) as JSON under
    ``"keys"``; strings and numbers become 0-d arrays."""
    undocumented = set(arrays) - set(keys)
    missing = set(keys) - set(arrays) - {"keys"}
    if undocumented or missing:
        raise ValueError(f"dump keys out of step with their table: missing {sorted(missing)}, "
                         f"undocumented {sorted(undocumented)}")
    np.savez_compressed(path, keys=np.array(json.dumps(keys)),
                        **{name: np.asarray(value) for name, value in arrays.items()})


def _where(backend: str, port: str | None, simulator: str) -> str:
    if backend == "rtl":
        return simulator
    return f"board on {port}" if backend == "board" else "golden model"


def _emulate(fabric, backend: str, port, simulator: str, program: tuple, run: str, x):
    """Program ``fabric`` on a backend, read it back and run ``x``: ``(read_back, outputs)``."""
    from spinemu import Emulator

    with Emulator(fabric, backend, port=port, simulator=simulator) as emulator:
        emulator.program(*program)
        return emulator.read_back(), getattr(emulator, run)(x)


def _same(a, b) -> bool:
    if isinstance(a, list):
        return a == b
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


class _Compared:
    """What a tile check and a network check share: outputs against golden."""

    def _outputs(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def mismatches(self) -> int:
        return int((self._outputs() != self.expected).sum())

    @property
    def ok(self) -> bool:
        """No mismatch, and the images read back (when read) equal golden's."""
        return self.mismatches == 0 and self.read_back_equal is not False

    @property
    def cycles_per_second(self) -> float:
        return (self.cycles / self.sim_seconds if self.cycles is not None and self.sim_seconds
                else float("nan"))


# --- Tile ------------------------------------------------------------------------------------

@dataclass
class TileCheck(_Compared):
    """One tile program and its inputs on a backend, against golden."""

    config: TileConfig
    backend: str
    where: str                   # the simulator, the board's port, or "golden model"
    images: tuple                # (g, adc_shift, gain, offset) as programmed
    x: np.ndarray                # [vectors, rows] input codes
    z: np.ndarray                # [vectors, cols] outputs of the backend
    expected: np.ndarray         # [vectors, cols] outputs of the golden backend
    read_back_equal: bool | None  # images read back equal to the golden's; None: not read
    wall_seconds: float          # host time on the backend (build, when not cached, included)
    simulator: str = ""
    seed: int = 0
    cycles: int | None = None    # stream testbench only: first input to last output
    sim_seconds: float | None = None

    def _outputs(self) -> np.ndarray:
        return self.z


def tile_stimulus(config: TileConfig, vectors: int, seed: int):
    """Random images and inputs from ``seed`` (:func:`spinemu.sim.stimulus.random_images`):
    ``((g, adc_shift, gain, offset), x)``."""
    from spinemu.sim.stimulus import random_images

    if vectors < 1:
        raise ConfigError(f"vectors = {vectors} is out of range; allowed >= 1")
    g, x, adc_shift, gain, offset = random_images(np.random.default_rng(seed), config, vectors)
    return (g, adc_shift, gain, offset), x


def check_tile(config: TileConfig, *, vectors: int, seed: int, backend: str = "rtl",
               port: str | None = None, simulator: str = "verilator", fabric=None) -> TileCheck:
    """Random images and inputs from ``seed`` programmed, read back and run on ``backend``
    and on golden. ``fabric`` (default: ``config``) is what the :class:`~spinemu.Emulator`
    opens, e.g. a board's default tile fabric."""
    images, x = tile_stimulus(config, vectors, seed)
    fabric = config if fabric is None else fabric
    started = time.perf_counter()
    images_back, z = _emulate(fabric, backend, port, simulator, images, "vmm", x)
    wall = time.perf_counter() - started
    golden_back, expected = _emulate(fabric, "golden", None, simulator, images, "vmm", x)
    return TileCheck(config, backend, _where(backend, port, simulator), images, x, z, expected,
                     _same(images_back, golden_back), wall,
                     simulator if backend == "rtl" else "", seed)


def stream_tile(config: TileConfig, *, vectors: int, seed: int, simulator: str = "verilator",
                load: str = "runtime", stall: float = 0.0, waves=None) -> TileCheck:
    """The tile's stream testbench (:func:`spinemu.sim.runner.run_tile`, no host link) on
    random images and inputs from ``seed``, against the golden backend: clock cycles, stalls
    (``stall``), images as memory init (``load="init"``), a trace (``waves``)."""
    from spinemu.sim.runner import run_tile

    images, x = tile_stimulus(config, vectors, seed)
    g, adc_shift, gain, offset = images
    run = run_tile(config, g, x, adc_shift, gain, offset, simulator=simulator, load=load,
                   seed=seed, stall=stall, waves=waves)
    _, expected = _emulate(config, "golden", None, simulator, images, "vmm", x)
    return TileCheck(config, "rtl", simulator, images, x, run.z, expected, None,
                     run.wall_seconds, simulator, seed, run.cycles, run.sim_seconds)


def write_tile_dump(path: str | Path, check: TileCheck) -> None:
    """A tile check's images, inputs and outputs (keys: :data:`TILE_DUMP_KEYS`)."""
    g, adc_shift, gain, offset = check.images
    save_npz(path, TILE_DUMP_KEYS, config=check.config.to_json(), g=g, x=check.x,
             adc_shift=adc_shift, gain=gain, offset=offset, z_rtl=check.z,
             backend=check.backend, simulator=check.simulator, seed=check.seed)


def write_tile(config: TileConfig, directory: Path) -> list[Path]:
    """Write ``crossbar_tile.v``, ``crossbar_tile.il`` and ``tile.toml`` into ``directory``."""
    from spinemu.gateware.convert import to_rtlil, to_verilog
    from spinemu.hdl.tile import CrossbarTile

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "crossbar_tile.v": to_verilog(CrossbarTile(config), "crossbar_tile"),
        "crossbar_tile.il": to_rtlil(CrossbarTile(config), "crossbar_tile"),
        "tile.toml": config.to_toml(),
    }
    for name, text in files.items():
        (directory / name).write_text(text)
    return [directory / name for name in files]


# --- Network ---------------------------------------------------------------------------------

@dataclass
class NetworkCheck(_Compared):
    """A plan's images and inputs on a backend, against golden."""

    plan: object                 # spinemu.plan.Plan
    backend: str
    where: str
    x: np.ndarray                # [vectors, inputs] input codes
    source: str                  # where x came from
    a: np.ndarray                # [vectors, outputs] last-layer codes of the backend
    expected: np.ndarray         # the same on golden
    read_back_equal: bool | None
    wall_seconds: float
    simulator: str = ""
    seed: int = 0
    cycles: int | None = None    # stream testbench only
    sim_seconds: float | None = None

    def _outputs(self) -> np.ndarray:
        return self.a


def plan_inputs(plan, directory: Path, vectors: int, seed: int) -> tuple[np.ndarray, str]:
    """``vectors`` input codes for ``plan`` and a note of where they came from: when the plan
    folder's mapping names a bundled model, the first held-out inputs of its data set quantized
    as the mapping says; otherwise random codes over the input range from ``seed``."""
    from spinemu.mapper import Mapping
    from spinemu.mapper.mapping import MAPPING_FILE
    from spinemu.models import BUNDLED, load_dataset

    if vectors < 1:
        raise ConfigError(f"vectors = {vectors} is out of range; allowed >= 1")
    directory = Path(directory)
    if (directory / MAPPING_FILE).is_file():
        mapping = Mapping.load(directory)
        if mapping.model_name in BUNDLED:
            data = load_dataset(BUNDLED[mapping.model_name])
            if vectors > len(data.test_x):
                raise ConfigError(f"vectors = {vectors} is out of range; allowed "
                                  f"1..{len(data.test_x)} (the held-out inputs of {data.name})")
            return (mapping.input_codes(data.test_x[:vectors]),
                    f"first {vectors} held-out inputs of {data.name}")
    first = plan.config.layers[0]
    x = np.random.default_rng(seed).integers(*first.tile.input_range,
                                             size=(vectors, first.inputs), endpoint=True)
    return x, f"random codes (seed {seed})"


def check_network(plan, x, *, backend: str = "rtl", port: str | None = None,
                  simulator: str = "verilator", source: str = "", seed: int = 0
                  ) -> NetworkCheck:
    """``plan``'s images programmed, read back and ``x`` inferred on ``backend`` and on
    golden."""
    started = time.perf_counter()
    writes_back, a = _emulate(plan, backend, port, simulator, (), "infer", x)
    wall = time.perf_counter() - started
    golden_writes, expected = _emulate(plan, "golden", None, simulator, (), "infer", x)
    return NetworkCheck(plan, backend, _where(backend, port, simulator), np.asarray(x), source,
                        a, expected, _same(writes_back, golden_writes), wall,
                        simulator if backend == "rtl" else "", seed)


def stream_network(plan, x, *, simulator: str = "verilator", seed: int = 0, source: str = ""
                   ) -> NetworkCheck:
    """The network's stream testbench (:func:`spinemu.sim.network_runner.run_network`, no host
    link), against the golden backend: clock cycles per inference."""
    from spinemu.sim.network_runner import run_network

    run = run_network(plan, x, simulator=simulator, seed=seed)
    _, expected = _emulate(plan, "golden", None, simulator, (), "infer", x)
    return NetworkCheck(plan, "rtl", simulator, np.asarray(x), source, run.a, expected, None,
                        run.wall_seconds, simulator, seed, run.cycles, run.sim_seconds)


def write_network_dump(path: str | Path, check: NetworkCheck) -> None:
    """A network check's inputs and outputs (keys: :data:`NETWORK_DUMP_KEYS`)."""
    save_npz(path, NETWORK_DUMP_KEYS, config=check.plan.config.to_toml(), x=check.x,
             a_rtl=check.a, a_golden=check.expected, inputs=check.source,
             backend=check.backend, simulator=check.simulator, seed=check.seed,
             cycles=-1 if check.cycles is None else check.cycles)
