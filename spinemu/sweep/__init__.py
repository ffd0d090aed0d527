"""Design-space sweeps and RTL regressions on dask.distributed (docs/sweeps.md).

- :mod:`~spinemu.sweep.spec`: the TOML spec, checked whole before anything runs
  (:func:`load_spec`);
- :mod:`~spinemu.sweep.tasks`: what a point runs (``map``, ``anneal``, ``sample``, ``rtl``);
- :mod:`~spinemu.sweep.runner`: serial, LocalCluster or a scheduler, every point persisted as it
  finishes (:func:`run_sweep`);
- :mod:`~spinemu.sweep.results`: the tidy table (Parquet and CSV) and the plots.
"""

from .results import TIMING_COLUMNS, results_table
from .runner import SweepRun, execute, run_sweep
from .spec import SweepSpec, load_spec, parse_spec
from .tasks import TASKS

__all__ = ["TASKS", "TIMING_COLUMNS", "SweepRun", "SweepSpec", "execute", "load_spec",
           "parse_spec", "results_table", "run_sweep"]
