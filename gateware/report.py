"""What a board build used and achieved: resource counts, the fit check, timing, the report.

Resources are counted after synthesis, from yosys ``stat -json`` cell counts, in the units of
:data:`spinemu.boards.RESOURCES` (LUT4 sites, flip-flops, block RAMs, multipliers, I/O pins),
and checked against the board's :class:`~spinemu.boards.Capacity` before place and route.
Place and route then adds nextpnr's own view (its ``--report`` JSON): the sites of each bel type
used and available, and the Fmax of every clock against its constraint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from spinemu.boards import RESOURCES

__all__ = ["CELL_SITES", "BuildReport", "ClockReport", "count_resources", "fit_problems",
           "parse_nextpnr_report"]

#: Family -> resource -> {yosys cell type (full-match regex): sites one cell takes}. LUT sites
#: follow nextpnr: an ECP5 CCU2C carry takes 2 LUT4s and a TRELLIS_DPR16X4 distributed RAM 6
#: (as in :mod:`spinemu.gateware.synth`), a Gowin ALU one; Gowin's MUX2_LUT5..8 take none.
#: A Gowin MULT36X36 is four 18x18 multipliers.
CELL_SITES: dict[str, dict[str, dict[str, int]]] = {
    "ice40": {
        "LUT": {"SB_LUT4": 1},
        "FF": {r"SB_DFF\w*": 1},
        "BRAM": {"SB_RAM40_4K": 1},
        "DSP": {"SB_MAC16": 1},
        "IO": {r"SB_IO|SB_GB_IO": 1},
    },
    "ecp5": {
        "LUT": {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 6},
        "FF": {"TRELLIS_FF": 1},
        "BRAM": {"DP16KD|PDPW16KD": 1},
        "DSP": {"MULT18X18D": 1},
        "IO": {r"TRELLIS_IO|[IO]B|BB|OBZ|[IO]BPU|[IO]BPD|BBP[UD]|OBZPU": 1},
    },
    "gowin": {
        "LUT": {"LUT[1-4]|ALU": 1},
        "FF": {r"DFF\w*": 1},
        "BRAM": {r"SPX?9?|SDPX?9?B?|DPX?9?B?|p?ROMX?9?": 1},
        "DSP": {"MULT9X9|MULT18X18|MULTALU18X18": 1, "MULTADDALU18X18|MULTALU36X18": 2,
                "MULT36X36": 4},
        "IO": {"IBUF|OBUF|IOBUF|TBUF": 1},
    },
}


def count_resources(cells: Mapping[str, int], family: str) -> dict[str, int]:
    """Sites of each resource (:data:`~spinemu.boards.RESOURCES`) that yosys cells take.

    Parameters
    ----------
    cells : Mapping[str, int]
        Cell type -> count, as yosys ``stat -json`` reports (``num_cells_by_type``).
    family : str
        A key of :data:`CELL_SITES`.
    """
    table = CELL_SITES[family]
    return {
        resource: sum(count * sites
                      for pattern, sites in table[resource].items()
                      for cell, count in cells.items() if re.fullmatch(pattern, cell))
        for resource in RESOURCES
    }


def fit_problems(used: Mapping[str, int], available: Mapping[str, int]) -> list[str]:
    """``"LUT 6012 used of 5280"`` for every resource used beyond what is available."""
    return [f"{name} {used[name]} used of {available[name]}"
            for name in RESOURCES if used.get(name, 0) > available[name]]


@dataclass(frozen=True)
class ClockReport:
    """Timing of one clock after place and route.

    Attributes
    ----------
    name : str
        The clock net, as nextpnr names it.
    constraint_mhz : float
        Frequency it must run at.
    achieved_mhz : float
        nextpnr's Fmax for it.
    """

    name: str
    constraint_mhz: float
    achieved_mhz: float

    @property
    def passed(self) -> bool:
        return self.achieved_mhz >= self.constraint_mhz

    @property
    def margin_mhz(self) -> float:
        """Fmax minus the constraint; negative when timing fails."""
        return self.achieved_mhz - self.constraint_mhz

    @property
    def slack_ns(self) -> float:
        """Period allowed minus the critical path; negative when timing fails."""
        return 1e3 / self.constraint_mhz - 1e3 / self.achieved_mhz

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "constraint_mhz": round(self.constraint_mhz, 3),
                "achieved_mhz": round(self.achieved_mhz, 3), "passed": self.passed,
                "margin_mhz": round(self.margin_mhz, 3), "slack_ns": round(self.slack_ns, 3)}


def parse_nextpnr_report(data: Mapping[str, Any]) -> tuple[tuple[ClockReport, ...],
                                                            dict[str, tuple[int, int]]]:
    """Clocks and bel utilisation from nextpnr's ``--report`` JSON.

    Returns
    -------
    clocks : tuple[ClockReport, ...]
        One per clock nextpnr timed, by name.
    placement : dict[str, tuple[int, int]]
        Bel type -> (used, available), for the bel types the design uses.
    """
    clocks = tuple(ClockReport(name, float(entry["constraint"]), float(entry["achieved"]))
                   for name, entry in sorted(data.get("fmax", {}).items()))
    placement = {bel: (int(entry["used"]), int(entry["available"]))
                 for bel, entry in sorted(data.get("utilization", {}).items()) if entry["used"]}
    return clocks, placement


@dataclass(frozen=True)
class BuildReport:
    """What one board build used and achieved; written as ``report.json`` beside the bitstream.

    Attributes
    ----------
    board, device, family : str
        The board (a key of :data:`spinemu.boards.BOARDS`), its device and FPGA family.
    resources : dict[str, tuple[int, int]]
        Resource of :data:`~spinemu.boards.RESOURCES` -> (used after synthesis, available).
    clocks : tuple[ClockReport, ...]
        Fmax of every clock against its constraint; empty after synthesis only.
    placement : dict[str, tuple[int, int]]
        nextpnr's bel type -> (used, available) after placement; empty after synthesis only.
    tools : dict[str, str]
        ``yosys``, ``nextpnr`` and ``packer`` -> version (the tools that ran).
    seconds : float
        Wall time of the whole build, elaboration included.
    steps : dict[str, float]
        Wall time of each tool step (``synthesis``, ``place_and_route``, ``bitstream``).
    bitstream : str or None
        Path of the bitstream; None after synthesis only.
    """

    board: str
    device: str
    family: str
    resources: dict[str, tuple[int, int]] = field(hash=False)
    clocks: tuple[ClockReport, ...]
    placement: dict[str, tuple[int, int]] = field(hash=False)
    tools: dict[str, str] = field(hash=False)
    seconds: float
    steps: dict[str, float] = field(hash=False)
    bitstream: str | None

    @property
    def fits(self) -> bool:
        return all(used <= available for used, available in self.resources.values())

    @property
    def timing_ok(self) -> bool:
        """Every clock meets its constraint (True when nothing was placed and routed)."""
        return all(clock.passed for clock in self.clocks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the content of ``report.json``."""
        return {
            "board": self.board, "device": self.device, "family": self.family,
            "resources": {name: {"used": used, "available": available}
                          for name, (used, available) in self.resources.items()},
            "fits": self.fits,
            "clocks": [clock.to_dict() for clock in self.clocks],
            "timing_ok": self.timing_ok,
            "placement": {bel: {"used": used, "available": available}
                          for bel, (used, available) in self.placement.items()},
            "tools": dict(self.tools),
            "seconds": round(self.seconds, 2),
            "steps": {name: round(seconds, 2) for name, seconds in self.steps.items()},
            "bitstream": self.bitstream,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildReport:
        """The report :meth:`to_dict` wrote (derived fields are recomputed, not read)."""
        def pairs(table):
            return {key: (entry["used"], entry["available"]) for key, entry in table.items()}

        return cls(
            board=data["board"], device=data["device"], family=data["family"],
            resources=pairs(data["resources"]),
            clocks=tuple(ClockReport(c["name"], c["constraint_mhz"], c["achieved_mhz"])
                         for c in data["clocks"]),
            placement=pairs(data["placement"]), tools=dict(data["tools"]),
            seconds=data["seconds"], steps=dict(data["steps"]), bitstream=data["bitstream"],
        )

    def table(self) -> Table:
        """A rich table: resources used/available, each clock's Fmax, tools and times."""
        table = Table(title=f"{self.board} ({self.device})", show_header=False)
        table.add_column("item")
        table.add_column("value")
        for name, (used, available) in self.resources.items():
            share = f"{100 * used / available:.1f} %" if available else "-"
            flag = "" if used <= available else "  [bold red]does not fit[/]"
            table.add_row(name, f"{used} / {available} ({share}){flag}")
        for clock in self.clocks:
            verdict = ("[green]pass[/]" if clock.passed else
                       f"[bold red]FAIL[/] by {-clock.margin_mhz:.2f} MHz "
                       f"(slack {clock.slack_ns:.2f} ns)")
            table.add_row(f"Fmax {clock.name}", f"{clock.achieved_mhz:.2f} MHz, constraint "
                                                f"{clock.constraint_mhz:.2f} MHz: {verdict}")
        for tool, version in self.tools.items():
            table.add_row(tool, version)
        table.add_row("time", f"{self.seconds:.1f} s (" + ", ".join(
            f"{name.replace('_', ' ')} {seconds:.1f} s" for name, seconds in self.steps.items())
            + ")")
        table.add_row("bitstream", self.bitstream or "none (synthesis only)")
        return table
