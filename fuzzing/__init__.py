"""Fuzzers: frames at the decoder and at a live server (see docs/BENCHMARKS.md)."""
