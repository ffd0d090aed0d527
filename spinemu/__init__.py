"""spinemu: generator of FPGA/RTL emulators for spintronic computing fabrics.

The public API (DESIGN.md 7): :class:`Emulator` runs a fabric on the golden model, the RTL
simulation or a board; the configs describe fabrics; every error spinemu raises is a
:class:`SpinemuError`. ``Emulator`` loads on first use (PEP 562), so ``import spinemu`` stays
light for the simulators' testbenches, which import the package too.
"""

from spinemu.config import (
    ConfigError,
    LayerConfig,
    NetworkConfig,
    PBitConfig,
    SpinemuError,
    TileConfig,
    Topology,
)

__version__ = "0.1.0"

__all__ = ["ConfigError", "Emulator", "EmulatorError", "LayerConfig", "NetworkConfig",
           "PBitConfig", "SpinemuError", "TileConfig", "Topology", "__version__"]


def __getattr__(name: str):
    if name in ("Emulator", "EmulatorError"):
        from spinemu import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module 'spinemu' has no attribute {name!r}")
