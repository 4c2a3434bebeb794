"""Benchmarks that print figures against a naive baseline (see docs/BENCHMARKS.md)."""
