"""hdl/regions.py: the region adapters' structure (their behaviour is tested through the link:
tests/test_link.py, tests/test_pbit_fabric.py)."""

from __future__ import annotations

import pytest
from amaranth.back import rtlil

from spinemu.hdl.regions import RegisterRegion


@pytest.mark.parametrize("width, count", [(32, 6), (850, 2), (7, 1)])
def test_register_region_selects_without_a_shifter(width, count):
    """A read selects the register by case. Indexing the values with the 24-bit region index
    became a ``$shiftx`` as wide as all registers with 24 stages: 20,375 cells for the p-bit
    core's two 850-bit ``result`` words on ECP5."""
    text = rtlil.convert(RegisterRegion(width, count))
    assert "$shiftx" not in text and "$shift " not in text
    assert text.count("cell $eq") <= count
