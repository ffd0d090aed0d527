"""The one place spinemu sets ``os.environ``: the environment of cocotb runner builds.

cocotb 2.x's ``cocotb_tools.runner.Runner.build()`` has no parameter for the environment of the
commands it runs (``verilator``, looked up on ``PATH``, then ``make``; ``iverilog``): it copies
``os.environ`` when called (``Runner._set_env_common``, whose TODO in cocotb 2.1 leaves the
runner's environment handling to "a non-trivial and API-breaking refactor"; no upstream issue
asks for a ``build(env=...)`` yet). ``test()`` has ``extra_env``, which spinemu uses for its own
variables, but there ``os.environ`` takes precedence, ``PATH`` included. So the variables a build
needs (:mod:`spinemu.sim.runner` says which) are put into ``os.environ`` by
:func:`runner_environment` for the ``build()`` call only and taken out again;
:func:`cocotb_env_adapter_applies` guards the cocotb series and ``tests/test_cocotb_env.py``
checks that a build still sees them.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from importlib import metadata

from spinemu.versions import installed_series

__all__ = ["COCOTB_SERIES", "cocotb_env_adapter_applies", "runner_environment"]

#: The cocotb major version whose runner this adapter was written for.
COCOTB_SERIES = 2

# os.environ is process-wide: one thread's build at a time sets it (re-entrant for nesting).
_lock = threading.RLock()


def cocotb_env_adapter_applies() -> bool:
    """Whether the installed cocotb is the :data:`COCOTB_SERIES` series."""
    return installed_series("cocotb", 1) == (COCOTB_SERIES,)


@contextmanager
def runner_environment(variables: Mapping[str, str]):
    """``variables`` in ``os.environ`` inside the ``with`` (for a runner's ``build()``); every
    one restored, or removed if it was unset, on the way out, exception or not."""
    if not cocotb_env_adapter_applies():
        warnings.warn(
            f"cocotb {metadata.version('cocotb')} is not the {COCOTB_SERIES}.x series "
            f"spinemu.sim.cocotb_env was written for: its runner may not pass "
            f"{', '.join(variables)} to the simulator build", RuntimeWarning, stacklevel=3)
    with _lock:
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
