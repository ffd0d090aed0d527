"""spinemu: generator of FPGA/RTL emulators for spintronic computing fabrics."""

__version__ = "0.1.0"
