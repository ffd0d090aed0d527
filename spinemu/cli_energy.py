"""``spinemu estimate``: energy, latency and area of a plan's inference or a p-bit run on the
chip a tech file describes, beside a digital baseline and the FPGA emulation (docs/energy.md).

The command only parses and prints; the work is :mod:`spinemu.energy`.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from spinemu.cli_common import console, out, rows_table
from spinemu.config import ConfigError
from spinemu.energy.estimate import PBIT_KINDS, Estimate
from spinemu.energy.tech import bundled_tech, load_tech
from spinemu.energy.units import format_quantity

__all__ = ["estimate_command", "ADC_BITS", "TILE_SIZES"]

#: The values the plots sweep.
ADC_BITS = tuple(range(3, 13))
TILE_SIZES = (16, 32, 64, 128, 256, 512)


def _energy(joules: float) -> str:
    return format_quantity(joules, "energy")


def components_table(estimate: Estimate) -> Table:
    table = Table(title=f"{estimate.title}: energy per {estimate.unit} by component")
    table.add_column("component")
    table.add_column("energy", justify="right")
    table.add_column("share", justify="right")
    for name, joules in estimate.components.items():
        table.add_row(name, _energy(joules), f"{100 * joules / estimate.energy:.1f} %")
    table.add_row("total", _energy(estimate.energy), "100 %", style="bold")
    return table


def network_activity_table(activity) -> Table:
    """Counts per inference of every layer (golden model)."""
    table = Table(title=f"activity per inference (golden, mean of {activity.vectors} inputs)")
    for column in ("layer", "tiles", "pulses by bit (b0..)", "cell reads", "ADC conv.",
                   "tree adds", "periphery ops", "MACs"):
        table.add_column(column, justify="right")
    for index, a in enumerate(activity.layers):
        per = a.vectors
        layer = a.layer
        table.add_row(
            str(index), f"{layer.row_tiles}x{layer.col_tiles} of {layer.tile.rows}x"
                        f"{layer.tile.cols}",
            " ".join(f"{p / per:.1f}" for p in a.pulses_by_bit), f"{a.cell_reads / per:,.0f}",
            f"{a.adc_conversions / per:,.0f}", f"{sum(a.tree_adds) / per:,.0f}",
            f"{a.periphery_ops / per:,.0f}", f"{a.macs / per:,.0f}")
    return table


def pbit_activity_rows(a) -> list[tuple[str, str]]:
    """Counts per sweep of one chain (golden model)."""
    chains = a.sweeps * a.replicas
    rows = [("p-bits, edges, colours", f"{a.n}, {a.edges}, {a.colours}"),
            ("updates", f"{a.updates / chains:,.0f}"),
            ("LFSR random bits", f"{a.random_bits / chains:,.0f}"),
            ("coupling reads and adds", f"{a.coupling_reads / chains:,.0f}")]
    if a.state_changes is not None:
        rows.append(("state changes (flips taken)", f"{a.state_changes / chains:,.1f}"))
    return rows


def summary_rows(estimate: Estimate, fpga: tuple[str, float] | None,
                 bounds: tuple[Estimate, Estimate]) -> list[tuple[str, str]]:
    """Latency, area, efficiency (with its range: every ranged energy constant at its high,
    then its low end); the FPGA emulation's time when a build report was given."""
    worst, best = bounds
    rows = [(f"latency per {estimate.unit}", format_quantity(estimate.latency, "time")),
            ("area", f"{estimate.area * 1e6:.4g} mm2 ({estimate.notes['area']})")]
    if estimate.unit == "inference":
        rows += [("TOPS/W", f"{estimate.tops_per_watt:.3g} (range {worst.tops_per_watt:.3g}"
                            f"-{best.tops_per_watt:.3g}; {estimate.notes['ops']})"),
                 ("TOPS", f"{estimate.ops_per_second / 1e12:.3g}")]
    else:
        rows += [("energy per flip (update)", _energy(estimate.energy / estimate.ops)),
                 ("flips per joule", f"{estimate.ops_per_joule:.3g} (range "
                                     f"{worst.ops_per_joule:.3g}-{best.ops_per_joule:.3g})"),
                 ("flips per second (one chain)", f"{estimate.ops_per_second:.3g}")]
    for name, joules in estimate.baseline.items():
        rows.append((name, f"{_energy(joules)} per {estimate.unit}: "
                           f"{estimate.baseline_ratio(name):.3g} x the chip"))
    if fpga is not None:
        board, seconds = fpga
        rate = (f"{estimate.ops / seconds:.3g} flips/s" if estimate.unit == "sweep"
                else f"{1 / seconds:.3g} inferences/s")
        rows.append((f"FPGA emulation ({board})",
                     f"{format_quantity(seconds, 'time')} per {estimate.unit}, {rate}"))
    return rows


@click.command("estimate")
@click.argument("target", type=click.Path(exists=True))
@click.option("--tech", "tech_file", default=None,
              help="Tech file (TOML), or a bundled one: sot28 (default), cai_isscc2023, "
                   "natelec2025.")
@click.option("--vectors", type=int, default=64, show_default=True,
              help="Plan: inputs counted (held-out inputs of a bundled model, else random).")
@click.option("--data", type=click.Path(dir_okay=False),
              help="Plan: an .npz whose array x holds the input codes.")
@click.option("--sweeps", type=int, default=100, show_default=True, help="p-bit run: sweeps.")
@click.option("--replicas", type=int, default=4, show_default=True, help="p-bit run: chains.")
@click.option("--pbit", type=click.Choice(PBIT_KINDS), default="smtj", show_default=True,
              help="p-bit run: sMTJ p-bits or the emulated LFSR + LUT p-bits as CMOS.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--report", "report_file", type=click.Path(dir_okay=False),
              help="A build report (report.json of spinemu build): the FPGA emulation's time.")
@click.option("--plots", "plot_dir", type=click.Path(file_okay=False),
              help="Write the PNG plots into this folder.")
def estimate_command(target, tech_file, vectors, data, sweeps, replicas, pbit, seed,
                     report_file, plot_dir):
    """Energy, latency and area of TARGET on the spintronic chip: a plan folder (energy per
    inference) or an Ising/Max-Cut file (energy per sweep and per flip), with the digital
    baseline and, given --report, the FPGA emulation's own speed."""
    from spinemu.energy import plots, workloads

    tech = bundled_tech() if tech_file is None else load_tech(tech_file)
    clock = None if report_file is None else workloads.read_fpga_clock(report_file)
    if vectors < 1:
        raise ConfigError(f"vectors = {vectors} is out of range; allowed >= 1")
    what = "the plan's inferences" if Path(target).is_dir() else f"an anneal of {target}"
    with console.status(f"counting the activity of {what} (golden)"):
        priced = workloads.price_target(target, tech, vectors=vectors, data=data,
                                        sweeps=sweeps, replicas=replicas, pbit=pbit, seed=seed,
                                        clock=clock)
    work, estimate, fpga = priced.work, priced.estimate, priced.fpga
    if estimate.unit == "inference":
        out.print(network_activity_table(work.activity))
    else:
        out.print(rows_table("activity per sweep of one chain (golden)",
                             pbit_activity_rows(work.activity)))
    out.print(components_table(estimate))
    out.print(rows_table(f"workload: {work.source}", summary_rows(estimate, fpga, priced.bounds)))
    if plot_dir:
        written = _plots(plots, workloads, tech, estimate, work, Path(plot_dir))
        out.print("wrote " + ", ".join(str(p) for p in written))


def _plots(plots, workloads, tech, estimate, work, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = [plots.plot_components(estimate, directory / "components.png")]
    if estimate.unit == "inference":
        written.append(plots.plot_sweep(
            ADC_BITS, workloads.adc_bits_sweep(tech, work.activity, ADC_BITS), "ADC bits",
            f"TOPS/W against ADC bits ({tech.choices['adc.model']} ADC)",
            directory / "tops_vs_adc_bits.png"))
        written.append(plots.plot_sweep(
            TILE_SIZES, workloads.tile_size_sweep(tech, work.activity, TILE_SIZES),
            "tile rows = columns", "TOPS/W against tile size", directory / "tops_vs_tile.png"))
    return written
