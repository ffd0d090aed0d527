"""Top-level designs and FPGA synthesis flows (``spinemu.gateware``)."""
