"""Benchmarks (not tests): run from the repository root as ``python -m bench.NAME``; each writes
its JSON (and PNG) under ``bench/results`` (bench/README.md)."""
