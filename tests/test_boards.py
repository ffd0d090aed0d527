"""Board registry, BoardTop and each board's Amaranth build plan (no tools run)."""

# No `from __future__ import annotations`: wiring.Component reads its members from annotations.
import json

import amaranth
import pytest
from amaranth import Fragment, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.vendor import GowinPlatform

from spinemu.boards import BOARDS, FAMILIES, RESOURCES, UnknownBoardError, get_board
from spinemu.boards.tangnano9k import TangNano9kPlatform
from spinemu.boards.top import BoardTop
from spinemu.config import ConfigError

# Pins of UART 0 in each board's amaranth-boards platform: (rx, tx).
UART_PINS = {"icebreaker": ("6", "9"), "ulx3s-85f": ("M1", "L4"), "tangnano9k": ("18", "17")}
CONSTRAINTS = {"ice40": "top.pcf", "ecp5": "top.lpf", "gowin": "top.cst"}


class Echo(wiring.Component):
    """The smallest core of the contract: the line, registered, back out."""

    uart_rx: In(1)
    uart_tx: Out(1, init=1)

    def __init__(self, clk_freq_hz: int):
        self.clk_freq_hz = clk_freq_hz
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.uart_tx.eq(self.uart_rx)
        return m


def plan_for(board_name, core_factory=Echo):
    top = BoardTop(core_factory)
    plan = get_board(board_name).platform().build(top, name="top", do_build=False)
    return top, plan


def test_registry_names_and_families():
    assert sorted(BOARDS) == ["icebreaker", "tangnano9k", "ulx3s-85f"]
    for name, board in BOARDS.items():
        assert board.name == name
        assert board.family in FAMILIES
        assert set(board.capacity.as_dict()) == set(RESOURCES)
        assert all(n > 0 for n in board.capacity.as_dict().values())
        assert board.platform().default_clk_frequency == board.clock_hz
    assert [BOARDS[n].bitstream_suffix for n in ("icebreaker", "ulx3s-85f", "tangnano9k")] \
        == [".bin", ".bit", ".fs"]


@pytest.mark.parametrize("name", ["ulx3s", "ICEBREAKER", "", None])
def test_unknown_board_is_named_with_the_allowed_ones(name):
    message = (rf"^board = {name!r} is not supported; "
               r"allowed \['icebreaker', 'tangnano9k', 'ulx3s-85f'\]$")
    with pytest.raises(UnknownBoardError, match=message):
        get_board(name)
    assert issubclass(UnknownBoardError, ConfigError)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_plan_puts_the_core_on_clock_and_uart(name):
    board = BOARDS[name]
    top, plan = plan_for(name)
    assert top.core.clk_freq_hz == board.clock_hz
    constraints = plan.files[CONSTRAINTS[board.family]]
    rx, tx = UART_PINS[name]
    for port, pin in (("uart_0__rx__io", rx), ("uart_0__tx__io", tx)):
        assert any({port, pin} <= {t.strip('";') for t in line.split()}
                   for line in constraints.splitlines()), constraints
    commands = json.loads(plan.files["build_top.json"])["commands"]
    assert [argv[0] for argv in commands][0] == "yosys"
    assert len(commands) == 3


def test_gowin_runs_himbaechel_and_gowin_pack():
    _, plan = plan_for("tangnano9k")
    nextpnr, pack = json.loads(plan.files["build_top.json"])["commands"][1:]
    assert nextpnr[0] == "nextpnr-himbaechel"
    assert {"family=GW1N-9C", "cst=top.cst"} <= set(nextpnr)
    assert nextpnr[nextpnr.index("--freq") + 1] == "27.0"
    assert nextpnr[nextpnr.index("--json") + 1] == "top.syn.json"
    assert pack[:5] == ["gowin_pack", "-d", "GW1N-9C", "-o", "top.fs"]
    assert pack[-1] == nextpnr[nextpnr.index("--write") + 1]
    # The board's own gowin_pack options survive the override.
    assert {"--sspi_as_gpio", "--mspi_as_gpio"} <= set(pack)


def test_gowin_override_matches_amaranth():
    """TangNano9kPlatform replaces Amaranth 0.5's Apicula commands and reads the files its
    templates write. If this fails, Amaranth changed its Gowin flow: revisit the override."""
    assert amaranth.__version__.startswith("0.5."), amaranth.__version__
    platform = TangNano9kPlatform()
    assert GowinPlatform.required_tools.fget(platform) == ["yosys", "nextpnr-gowin", "gowin_pack"]
    amaranth_commands = " ".join(GowinPlatform.command_templates.fget(platform))
    for text in ("nextpnr-gowin", "{{name}}.syn.json", "{{name}}.cst", "{{name}}.pnr.json",
                 'get_override("gowin_pack_opts")'):
        assert text in amaranth_commands
    ys = platform.file_templates["{{name}}.ys"]
    assert "synth_gowin" in ys and "-json {{name}}.syn.json" in ys
    assert 'get_override("script_after_synth")' in ys
    assert "{{name}}.cst" in platform.file_templates
    assert platform._chipdb_device == TangNano9kPlatform.chipdb


class NoUart(wiring.Component):
    uart_tx: Out(1)

    def __init__(self, clk_freq_hz):
        super().__init__()

    def elaborate(self, platform):
        return Module()


class WideRx(NoUart):
    uart_rx: In(2)


def test_core_contract_is_checked():
    refused = []

    def keep(cls):
        return lambda clk_freq_hz: refused.append(cls(clk_freq_hz)) or refused[-1]

    with pytest.raises(TypeError, match=r"^core NoUart must have member uart_rx: In\(1\), "
                                        r"not missing$"):
        plan_for("icebreaker", keep(NoUart))
    with pytest.raises(TypeError, match=r"^core WideRx must have member uart_rx: In\(1\), "
                                        r"not In\(2\)$"):
        plan_for("icebreaker", keep(WideRx))
    with pytest.raises(TypeError, match=r"^core must be a wiring.Component, not 1$"):
        plan_for("icebreaker", lambda clk_freq_hz: 1)
    # Elaborate the refused cores: an elaboratable never used warns when collected.
    for core in refused:
        Fragment.get(core, None)
