"""spinemu.versions.installed_series: the series the library adapters check."""

from __future__ import annotations

from importlib import metadata

import pytest

from spinemu.versions import installed_series


@pytest.mark.parametrize("version, parts, expected", [
    ("0.5.10", 2, (0, 5)), ("2.1.0", 1, (2,)), ("0.5", 2, (0, 5)), ("10.2.3rc1", 2, (10, 2)),
    ("0.5rc1", 2, (0, 5)), ("2", 2, None), ("dev", 1, None), ("12", 1, (12,)),
])
def test_series_of_a_version(monkeypatch, version, parts, expected):
    monkeypatch.setattr(metadata, "version", lambda package: version)
    assert installed_series("anything", parts) == expected


def test_a_package_that_is_not_installed_has_no_series():
    assert installed_series("spinemu-no-such-package", 1) is None


def test_installed_packages_match_their_metadata():
    amaranth = metadata.version("amaranth").split(".")
    assert installed_series("amaranth", 2) == (int(amaranth[0]), int(amaranth[1]))
