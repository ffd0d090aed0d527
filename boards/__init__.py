"""Board platforms and pin constraints (``spinemu.boards``)."""
