"""ULX3S with an ECP5 LFE5U-85F (CABGA381), 25 MHz clock, FT231X USB serial.

The amaranth-boards platform is used as it is. Its UART resource (``role="dce"``) is plain pins:
``rx`` M1 in (from the FT231X TXD), ``tx`` L4 out; ``rts``/``dtr`` come with it but spinemu does
not use them. ``uart_tx_enable`` (L3) is not requested: unrequested pins stay unused.
"""

from __future__ import annotations

from amaranth_boards.ulx3s import ULX3S_85F_Platform

from .board import Board, Capacity

__all__ = ["BOARD", "ULX3S_85F_Platform"]

BOARD = Board(
    name="ulx3s-85f",
    platform=ULX3S_85F_Platform,
    family="ecp5",
    device="LFE5U-85F",
    # ECP5 family data sheet: 84K LUTs, 208 EBR, 156 18x18 multipliers, 205 I/O on CABGA381.
    capacity=Capacity(lut=83640, ff=83640, bram=208, dsp=156, io=205),
    clock_hz=25_000_000,
    loader_board="ulx3s",
    cable="ft231X",
    # router2 (nextpnr's congestion-negotiating router): router1 had routed 8 % of the default
    # fabric's 131,916 arcs after 30 minutes on this kind of machine (docs/boards.md).
    nextpnr_options=("--router", "router2"),
)
