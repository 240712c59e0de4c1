"""Synthetic songs with known stems for tests and benchmarks: the engine's own generator
(:mod:`demixer.engine.synthetic`, which the fast mode's guard needs in production too)."""

from demixer.engine.synthetic import RATE, STEMS, mix, sdr, song

__all__ = ["RATE", "STEMS", "mix", "sdr", "song"]
