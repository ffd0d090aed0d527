"""A core on a board: the board's clock and the first UART's pins (DESIGN.md 4).

The core contract: ``core_factory(clk_freq_hz)`` returns a :class:`wiring.Component` clocked by
``sync`` with at least the members

    uart_rx : In(1)     serial line into the FPGA, idle high, straight from the pin
    uart_tx : Out(1)    serial line out of the FPGA, idle high

``uart_rx`` is the raw pin, not synchronised: the core puts it through its own two-flip-flop
synchroniser (its receiver samples the line anyway and knows where the metastability margin
is needed). The core may have other members; they are left unconnected (inputs read 0).

Clock and reset: the ``sync`` domain is the platform's default domain (Amaranth's
``create_missing_domain``): the board clock (``platform.default_clk``) straight from its pin, no
PLL (the cores run at board clock; a PLL would buy speed nobody needs and cost a locked-up
clock to debug), and a reset that is released synchronously after configuration (plus the
BRAM power-up wait on iCE40). None of the three boards names a reset button
(``platform.default_rst`` is None): a host that wants a reset asks the core through the link.
"""

from __future__ import annotations

from collections.abc import Callable

from amaranth import Elaboratable, Module, Shape
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UART_MEMBERS", "BoardTop", "CoreFactory", "check_core"]

#: A callable that builds the core for a board clock of ``clk_freq_hz`` Hz.
CoreFactory = Callable[[int], wiring.Component]

#: The members every core has, as :class:`wiring.Member` objects.
UART_MEMBERS = {"uart_rx": In(1), "uart_tx": Out(1)}


def check_core(core) -> None:
    """Raise :class:`TypeError` unless ``core`` follows the core contract (module docstring)."""
    if not isinstance(core, wiring.Component):
        raise TypeError(f"core must be a wiring.Component, not {core!r}")
    members = core.signature.members
    for name, expected in UART_MEMBERS.items():
        member = members[name] if name in members else None
        # Flow and width must match; the init value is the core's business (idle high).
        if (member is None or not member.is_port or member.flow != expected.flow
                or Shape.cast(member.shape) != Shape.cast(expected.shape)):
            found = "missing" if member is None else repr(member)
            raise TypeError(f"core {type(core).__name__} must have member {name}: "
                            f"{expected!r}, not {found}")


class BoardTop(Elaboratable):
    """The top of a board build: a core on the board's ``sync`` clock and UART 0.

    Parameters
    ----------
    core_factory : CoreFactory
        Called in :meth:`elaborate` with the board clock in Hz (``platform.default_clk_frequency``
        as an int); returns the core (module docstring).

    Attributes
    ----------
    core : wiring.Component or None
        The core of the last elaboration; None before.
    """

    def __init__(self, core_factory: CoreFactory):
        self._core_factory = core_factory
        self.core = None

    def elaborate(self, platform):
        if platform is None:
            raise TypeError("BoardTop needs a platform: build it with platform.build() or "
                            "spinemu.gateware.build.build()")
        self.core = core = self._core_factory(int(platform.default_clk_frequency))
        check_core(core)
        m = Module()
        m.submodules.core = core
        # Plain buffers: no I/O registers (the core synchronises rx), and io.Buffer applies any
        # inversion a resource declares (none of the three UARTs is inverted).
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [
            core.uart_rx.eq(rx.i),
            tx.o.eq(core.uart_tx),
        ]
        return m
