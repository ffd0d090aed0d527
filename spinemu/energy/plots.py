"""PNG plots of estimates (matplotlib, Agg): energy by component against the digital baseline,
and TOPS/W against a swept parameter."""

from __future__ import annotations

from pathlib import Path

from .estimate import Estimate

__all__ = ["plot_components", "plot_sweep"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def plot_components(estimate: Estimate, path: str | Path) -> Path:
    """A stacked bar of the chip's energy per unit by component, beside one bar per baseline
    variant; log scale, pJ."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    bottom = 0.0
    for name, joules in estimate.components.items():
        axes.bar(0, joules * 1e12, bottom=bottom, label=name)
        bottom += joules * 1e12
    for index, joules in enumerate(estimate.baseline.values(), start=1):
        axes.bar(index, joules * 1e12, color="grey", alpha=0.4 + 0.3 * (index % 2))
    axes.set_xticks(range(len(estimate.baseline) + 1),
                    ["spintronic chip", *(n.replace(", ", "\n") for n in estimate.baseline)],
                    fontsize=8)
    axes.set_ylabel(f"energy per {estimate.unit} (pJ)")
    axes.set_title(estimate.title, fontsize=9)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def plot_sweep(values, estimates: list[Estimate], xlabel: str, title: str,
               path: str | Path) -> Path:
    """TOPS/W of ``estimates`` against the swept ``values``."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(5.5, 4))
    axes.plot(list(values), [e.tops_per_watt for e in estimates], marker="o")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("TOPS/W")
    axes.set_title(title, fontsize=9)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
