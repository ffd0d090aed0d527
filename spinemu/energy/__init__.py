"""Energy, latency and area of the emulated spintronic chip from the activity the golden model
counts (docs/energy.md)."""
