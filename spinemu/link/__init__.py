"""The host link (DESIGN.md 4): protocol, register maps and the host driver."""
