"""Helpers shared by the tests and the benchmarks (synthetic music with known stems)."""
