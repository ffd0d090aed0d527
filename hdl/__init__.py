"""Amaranth components of the fabric (``spinemu.hdl``): tiles, routing trees, LFSRs, p-bit cores."""
