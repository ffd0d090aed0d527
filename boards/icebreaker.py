"""iCEBreaker: Lattice iCE40UP5K-SG48, 12 MHz clock, FT2232H (UART on channel B, SPI flash on A).

The amaranth-boards platform is used as it is. Its UART resource is plain (not inverted) pins:
``rx`` pin 6 in, ``tx`` pin 9 out, LVTTL with a pull-up on ``rx``. openFPGALoader 1.1 has no
``icebreaker`` board; ``ice40_generic`` drives the same FT2232H and writes the SPI flash.
"""

from __future__ import annotations

from amaranth_boards.icebreaker import ICEBreakerPlatform

from .board import Board, Capacity

__all__ = ["BOARD", "ICEBreakerPlatform"]

BOARD = Board(
    name="icebreaker",
    platform=ICEBreakerPlatform,
    family="ice40",
    device="iCE40UP5K",
    # iCE40 UltraPlus data sheet; the 4 SPRAMs are not counted (yosys uses them only when asked).
    capacity=Capacity(lut=5280, ff=5280, bram=30, dsp=8, io=39),
    clock_hz=12_000_000,
    loader_board="ice40_generic",
    cable="ft2232",
)
