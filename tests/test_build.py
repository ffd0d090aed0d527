"""The board flow: fit check, one real bitstream per FPGA family, reports, programming errors."""

# No `from __future__ import annotations`: wiring.Component reads its members from annotations.
import io
import json
import re
from pathlib import Path

import pytest
from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from rich.console import Console

from spinemu.boards import BOARDS, RESOURCES, UnknownBoardError, get_board
from spinemu.gateware.build import (
    FitError,
    ProgramError,
    build,
    program,
    program_error_message,
)
from spinemu.gateware.report import BuildReport, ClockReport, count_resources, fit_problems

# One board per FPGA family.
FAMILY_BOARDS = {"ice40": "icebreaker", "ecp5": "ulx3s-85f", "gowin": "tangnano9k"}


class StandIn(wiring.Component):
    """A stand-in core with logic to place: the line registered back out, XORed with the top bit
    of a free-running counter (so the counter's carry chain is kept)."""

    uart_rx: In(1)
    uart_tx: Out(1, init=1)

    def __init__(self, clk_freq_hz: int):
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        count = Signal(20)
        m.d.sync += [count.eq(count + 1), self.uart_tx.eq(self.uart_rx ^ count[-1])]
        return m


class Huge(StandIn):
    """300 20-bit counters, each stepping by its own odd constant: 6000 flip-flops (the bit 0
    toggles may merge), more than the iCE40UP5K's 5280. Not one long chain: yosys-wasm runs out of
    stack sorting a 6000-stage shift register."""

    def elaborate(self, platform):
        m = Module()
        counters = [Signal(20, name=f"counter{i}") for i in range(300)]
        m.d.sync += [c.eq(c + 2 * i + 1) for i, c in enumerate(counters)]
        m.d.sync += self.uart_tx.eq(self.uart_rx ^ Cat(c[-1] for c in counters).xor())
        return m


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """One build per family, made on first use and kept for the module."""
    cache = {}

    def get(family):
        if family not in cache:
            out = tmp_path_factory.mktemp(family)
            cache[family] = out, build(FAMILY_BOARDS[family], StandIn, out)
        return cache[family]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILY_BOARDS))
def test_stand_in_core_builds_a_bitstream(builds, family):
    out, report = builds(family)
    board = get_board(FAMILY_BOARDS[family])
    bitstream = Path(report.bitstream)
    assert bitstream == out / f"top{board.bitstream_suffix}"
    assert bitstream.stat().st_size > 0
    written = json.loads((out / "report.json").read_text())
    assert written == report.to_dict()
    assert (written["board"], written["device"], written["family"]) == (
        board.name, board.device, family)
    for name in RESOURCES:
        entry = written["resources"][name]
        assert entry["available"] == board.capacity.as_dict()[name]
        if name in ("LUT", "FF", "IO"):
            assert 0 < entry["used"] <= entry["available"], (name, entry)
        else:
            assert entry["used"] == 0, (name, entry)
    assert written["fits"] and written["timing_ok"]
    (clock,) = written["clocks"]
    assert clock["constraint_mhz"] == board.clock_hz / 1e6
    assert clock["achieved_mhz"] >= clock["constraint_mhz"]
    assert clock["passed"] and clock["margin_mhz"] > 0 and clock["slack_ns"] > 0
    assert written["placement"]
    assert set(written["tools"]) == {"yosys", "nextpnr", "packer"}
    assert set(written["steps"]) == {"synthesis", "place_and_route", "bitstream"}
    assert written["seconds"] >= sum(written["steps"].values()) - 0.1
    assert BuildReport.from_dict(written).to_dict() == written
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(report.table())
    text = console.export_text()
    assert f"{board.name} ({board.device})" in text and "pass" in text


@pytest.mark.slow
def test_design_that_does_not_fit_is_refused_before_place_and_route(tmp_path):
    with pytest.raises(FitError, match=r"^does not fit iCE40UP5K: (LUT \d+ used of 5280, )?"
                                       r"FF \d+ used of 5280$"):
        build("icebreaker", Huge, tmp_path)
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["resources"]["FF"]["used"] > 5280
    assert not written["fits"] and written["bitstream"] is None
    assert set(written["steps"]) == {"synthesis"}
    assert not (tmp_path / "top.asc").exists()


def test_unknown_board_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(UnknownBoardError, match=r"^board = 'ice40' is not supported"):
        build("ice40", StandIn, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fit_problems_name_each_resource():
    available = BOARDS["icebreaker"].capacity.as_dict()
    assert fit_problems(dict.fromkeys(RESOURCES, 0), available) == []
    assert fit_problems(available, available) == []
    used = {**available, "LUT": 6012, "DSP": 9}
    assert fit_problems(used, available) == ["LUT 6012 used of 5280", "DSP 9 used of 8"]


def test_resources_counted_from_yosys_cells():
    ice40 = {"SB_LUT4": 35, "SB_CARRY": 24, "SB_DFFE": 9, "SB_DFFSR": 21, "SB_GB_IO": 1,
             "SB_IO": 2, "SB_RAM40_4K": 3, "SB_MAC16": 1, "$scopeinfo": 5}
    assert count_resources(ice40, "ice40") == {"LUT": 35, "FF": 30, "BRAM": 3, "DSP": 1, "IO": 3}
    ecp5 = {"LUT4": 2, "CCU2C": 10, "TRELLIS_DPR16X4": 1, "TRELLIS_FF": 23, "TRELLIS_IO": 3,
            "DP16KD": 2, "MULT18X18D": 4}
    assert count_resources(ecp5, "ecp5") == {"LUT": 28, "FF": 23, "BRAM": 2, "DSP": 4, "IO": 3}
    gowin = {"ALU": 20, "LUT1": 1, "LUT4": 1, "MUX2_LUT5": 3, "DFFR": 20, "DFFS": 3, "IBUF": 2,
             "TBUF": 1, "SDPB": 2, "MULT36X36": 1}
    assert count_resources(gowin, "gowin") == {"LUT": 22, "FF": 23, "BRAM": 2, "DSP": 4, "IO": 3}


def test_clock_report_margins():
    failing = ClockReport("clk", constraint_mhz=25.0, achieved_mhz=20.0)
    assert not failing.passed
    assert failing.margin_mhz == pytest.approx(-5.0)
    assert failing.slack_ns == pytest.approx(40.0 - 50.0)
    assert ClockReport("clk", 12.0, 12.0).passed


def test_program_refuses_a_missing_or_wrong_bitstream(tmp_path):
    with pytest.raises(ProgramError, match=r"^bitstream '.*top\.bin' not found$"):
        program("icebreaker", tmp_path / "top.bin")
    (tmp_path / "top.bit").write_bytes(b"\xff")
    with pytest.raises(ProgramError, match=r"is not a \.bin file, which board 'icebreaker' needs"):
        program("icebreaker", tmp_path / "top.bit")


def test_program_without_a_cable_is_one_line(tmp_path):
    """No board is attached to a test machine: openFPGALoader finds no cable (or, without
    libusb/libftdi, cannot start); either way one line naming the board."""
    bitstream = tmp_path / "top.fs"
    bitstream.write_bytes(b"\xff" * 64)
    with pytest.raises(ProgramError) as error:
        program("tangnano9k", bitstream, timeout=60)
    message = str(error.value)
    assert "\n" not in message and "'tangnano9k'" in message


@pytest.mark.parametrize("output, expected", [
    ("unable to open ftdi device: -3 (device not found)\n"
     "JTAG init failed with: unable to open ftdi device\n",
     r"^no ft2232 cable or board found for board 'tangnano9k' \(openFPGALoader -b tangnano9k\): "
     r"JTAG init failed with: unable to open ftdi device$"),
    ("openFPGALoader: error while loading shared libraries: libusb-1.0.so.0: cannot open\n",
     r"^openFPGALoader cannot start \(.*libusb-1\.0\.so\.0.*\); it needs libusb-1\.0 and "
     r"libftdi1"),
    ("Error: bitstream has wrong IDCODE\n",
     r"^openFPGALoader -b tangnano9k failed for board 'tangnano9k': Error: bitstream has wrong "
     r"IDCODE$"),
])
def test_program_error_messages(output, expected):
    assert re.match(expected, program_error_message(BOARDS["tangnano9k"], 1, output))
