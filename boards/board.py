"""What spinemu knows about a board: its platform, device, capacities, clock and programmer."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.build import Platform

__all__ = ["FAMILIES", "RESOURCES", "Board", "Capacity"]

#: Resources counted for a design and checked against a device, in report order.
RESOURCES = ("LUT", "FF", "BRAM", "DSP", "IO")

#: FPGA family -> suffix of the bitstream its packer writes.
FAMILIES = {"ice40": ".bin", "ecp5": ".bit", "gowin": ".fs"}


@dataclass(frozen=True)
class Capacity:
    """Sites of each resource on a device (vendor data sheets).

    Attributes
    ----------
    lut : int
        LUT4s.
    ff : int
        Flip-flops.
    bram : int
        Block RAMs (iCE40 4 kbit EBR, ECP5 18 kbit EBR, Gowin 18 kbit BSRAM).
    dsp : int
        Multiplier blocks (iCE40 SB_MAC16, ECP5 and Gowin 18x18 multipliers).
    io : int
        User I/O pins of the device's package on the board.
    """

    lut: int
    ff: int
    bram: int
    dsp: int
    io: int

    def as_dict(self) -> dict[str, int]:
        """Resource name of :data:`RESOURCES` -> sites."""
        return dict(zip(RESOURCES, (self.lut, self.ff, self.bram, self.dsp, self.io),
                        strict=True))


@dataclass(frozen=True)
class Board:
    """A board spinemu builds for.

    Attributes
    ----------
    name : str
        Key of :data:`spinemu.boards.BOARDS`.
    platform : type[Platform]
        The amaranth-boards platform class (or spinemu's subclass of it); a new instance per build.
    family : str
        FPGA family, a key of :data:`FAMILIES`: ``"ice40"``, ``"ecp5"`` or ``"gowin"``.
    device : str
        Device name as in the vendor's part number, for reports and errors.
    capacity : Capacity
        Resources of the device.
    clock_hz : int
        Frequency of the board clock the ``sync`` domain runs at.
    loader_board : str
        Board name for ``openFPGALoader -b``.
    cable : str
        The programming cable openFPGALoader drives for that board, for error messages.
    nextpnr_options : tuple of str
        Extra nextpnr arguments for this board's builds (default none).
    """

    name: str
    platform: type[Platform]
    family: str
    device: str
    capacity: Capacity
    clock_hz: int
    loader_board: str
    cable: str
    nextpnr_options: tuple[str, ...] = ()

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family = {self.family!r} is not supported; allowed "
                             f"{sorted(FAMILIES)}")

    @property
    def bitstream_suffix(self) -> str:
        """``.bin`` (iCE40), ``.bit`` (ECP5) or ``.fs`` (Gowin)."""
        return FAMILIES[self.family]
