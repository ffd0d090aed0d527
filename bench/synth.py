"""Synthesis figures of square crossbar tiles for iCE40 UP5K and ECP5 LFE5U-25F.

Run ``python -m bench.synth [--sizes 16 32 64 128 256] [-o bench/results/synth.json]``: yosys
(yowasp) synthesises each tile (default widths, 8 lanes) for both targets; the table shows
resource use against each device's capacity and the JSON keeps every report, with the wall time
of each synthesis.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.progress import track

from bench.machine import machine_info
from spinemu.config import TileConfig
from spinemu.gateware.synth import format_reports, synthesize

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("-o", "--output", type=Path, default=REPO / "bench/results/synth.json")
    args = parser.parse_args()
    jobs = [(target, size) for target in ("ice40", "ecp5") for size in args.sizes]
    reports, results = [], []
    for target, size in track(jobs, description="synthesising"):
        config = TileConfig(rows=size, cols=size, lanes=min(args.lanes, size))
        started = time.perf_counter()
        report = synthesize(config, target)
        seconds = time.perf_counter() - started
        reports.append(report)
        results.append({**report.to_dict(), "seconds": round(seconds, 2),
                        "weights_in_bram": "w_mem" in report.bram_memories})
    print(format_reports(reports))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "bench": "synth", "machine": machine_info(),
        "results": results}, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
