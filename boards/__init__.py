"""Board platforms and pin constraints (``spinemu.boards``).

One module per board, each on an amaranth-boards platform (subclassed only where spinemu needs a
change) and describing it as a :class:`Board`; :data:`BOARDS` collects them by name and
:func:`get_board` looks one up. :mod:`spinemu.boards.top` puts a core on a board's clock and UART.
"""

from __future__ import annotations

from spinemu.config import ConfigError

from . import icebreaker, tangnano9k, ulx3s
from .board import FAMILIES, RESOURCES, Board, Capacity

__all__ = ["BOARDS", "FAMILIES", "RESOURCES", "Board", "Capacity", "UnknownBoardError",
           "get_board"]

#: Board name -> :class:`Board`.
BOARDS: dict[str, Board] = {board.name: board for board in (
    icebreaker.BOARD, ulx3s.BOARD, tangnano9k.BOARD)}


class UnknownBoardError(ConfigError):
    """A board name that is not a key of :data:`BOARDS`."""


def get_board(name: str) -> Board:
    """The :class:`Board` called ``name``.

    Raises
    ------
    UnknownBoardError
        ``name`` is not a key of :data:`BOARDS`; the message names it and the allowed names.
    """
    try:
        return BOARDS[name]
    except (KeyError, TypeError):
        raise UnknownBoardError(
            f"board = {name!r} is not supported; allowed {sorted(BOARDS)}") from None
