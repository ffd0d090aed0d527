"""What ``pip install .`` ships: every package of the source tree (a package missing from
pyproject.toml's list imports in an editable install and fails in a real one)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed_in_pyproject():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    dirs = {name: ROOT / folder for name, folder in setuptools["package-dir"].items()}
    found = set()
    for name, folder in dirs.items():
        for init in folder.rglob("__init__.py"):
            rel = init.parent.relative_to(folder).parts
            found.add(".".join((name, *rel)))
    missing = sorted(found - listed)
    assert not missing, f"missing from pyproject.toml [tool.setuptools] packages: {missing}"
    stale = sorted(listed - found)
    assert not stale, f"listed packages without a folder: {stale}"


def test_package_data_globs_match_files():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = setuptools["package-dir"]
    for package, globs in setuptools["package-data"].items():
        folder = ROOT / dirs.get(package, package.replace(".", "/"))
        for glob in globs:
            assert list(folder.glob(glob)), f"{package}: package-data {glob!r} matches no file"
