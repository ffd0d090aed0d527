"""The installed series of a package, for the adapters that reach inside a library
(:mod:`spinemu.gateware.convert`, :mod:`spinemu.sim.cocotb_env`): each applies only to the series
it was written for."""

from __future__ import annotations

import re
from importlib import metadata

__all__ = ["installed_series"]


def installed_series(package: str, parts: int) -> tuple[int, ...] | None:
    """The first ``parts`` numbers of ``package``'s installed version (``("amaranth", 2)`` ->
    ``(0, 5)``), or None when it is not installed or its version does not start with them."""
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
    found = re.match(r"\.".join([r"(\d+)"] * parts) + r"(?!\d)", version)
    return tuple(int(x) for x in found.groups()) if found else None
