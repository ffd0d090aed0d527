"""Accuracy of the mapped bundled models against weight bits and device variation: the sweep spec
``bench/sweeps/accuracy.toml`` run by ``spinemu sweep``.

Run as ``python -m bench.accuracy [-o DIR] [--workers N | --serial] [--scheduler ADDRESS]``,
which is ``spinemu sweep bench/sweeps/accuracy.toml -o DIR ...`` (default ``DIR``:
``bench/results/accuracy``). It writes, into ``DIR``,

- ``results.parquet`` and ``results.csv``: every point (model, grid, weight bits, sigma,
  compensation, device seed) with the held-out accuracy, the relative error of the network's
  outputs and the float model's accuracy, versions and wall time;
- ``plot_weight_bits.png``: against weight bits 2..8 (device: sigma 5 %, stuck 0.1 %, gain spread
  5 %; with and without compensation; and the ideal device);
- ``plot_sigma.png``: against the programming error sigma 0..20 % of a level spacing;
- ``points/``: one file per point; a rerun computes only the points missing there.

Each plot has one column of panels per model, mean over 5 device seeds with a min..max band.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "bench" / "sweeps" / "accuracy.toml"
OUTPUT = REPO / "bench" / "results" / "accuracy"


def arguments(argv: list[str]) -> list[str]:
    """``spinemu sweep``'s arguments for this bench's: the spec, ``-o`` defaulted."""
    given = set(argv)
    return ["sweep", str(SPEC), *([] if given & {"-o", "--output"} else ["-o", str(OUTPUT)]),
            *argv]


def main(argv: list[str] | None = None) -> None:
    from spinemu.cli import main as cli

    cli(arguments(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
