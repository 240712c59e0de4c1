"""How fast each imported architecture separates, relative to htdemucs: measured, per size.

The figures come from ``bench/engine_speed.py --zoo`` (docs/performance.md, "Every
architecture at its flagship size", which gives the date, the clip, the host and its load): each
architecture at one published configuration with random weights, separating the same clip as
htdemucs through the same command line; ``speed`` is its separation time (decoding and
separation, ``separate_file``) over htdemucs'. An imported model gets the figure of its
architecture's measured configuration nearest to it in graph size (the graph's bytes stand for
its parameter count); one of another size is slower or quicker in proportion, roughly, so the
nearest measured size is the best figure there is.

Light (no numpy, no onnxruntime): the registry reads it in every process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MEASURED_ON = "2026-12-06"
# htdemucs' real-time factor (wall / audio) where a server has not measured its own yet: the
# README's "Speed and memory" run (demixer CLI, 60 s clip, 2-core AVX-512 host, 2026-11-29)
REFERENCE_RTF = 0.61


@dataclass(frozen=True)
class Measured:
    """One architecture at one configuration, as measured."""

    architecture: str  # the registry's architecture key
    size: str  # the configuration, for people
    graph_mb: float  # its graph's size (MB, 10**6 bytes): what an import is matched by
    speed: float  # separation time relative to htdemucs on the same clip


MEASURED: tuple[Measured, ...] = ()


def relative_speed(architecture: str, graph_bytes: int | None = None) -> float | None:
    """The measured speed of ``architecture`` at the size nearest ``graph_bytes`` (on a log
    scale; the first measured size when the graph's size is unknown); None when the
    architecture was never measured."""
    rows = [row for row in MEASURED if row.architecture == architecture]
    if not rows:
        return None
    if not graph_bytes:
        return rows[0].speed
    wanted = math.log(graph_bytes / 1e6)
    return min(rows, key=lambda row: abs(math.log(row.graph_mb) - wanted)).speed
