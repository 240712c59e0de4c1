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


# bench/engine_speed.py --zoo --seconds 12 (2026-12-06, the 2-core AVX-512 VNNI host, quiet):
# each model's separation time per graph run over the audio a run moves on by (its long-song
# RTF) divided by htdemucs' RTF at 60 s on the same host (0.61, as REFERENCE_RTF)
MEASURED: tuple[Measured, ...] = (
    Measured("mel_band_roformer", "Kim's vocals (384 x 6, 60 bands)", graph_mb=347.2, speed=9.2),
    Measured("bs_roformer", "viperx 1297 (512 x 12, 62 bands)", graph_mb=640.3, speed=25.9),
    Measured("mdx23c", "DrumSep, 6 stems", graph_mb=437.4, speed=7.2),
    Measured("scnet", "SCNet-large", graph_mb=174.5, speed=10.1),
    Measured("mdx", "UVR Inst HQ 3's shape (n_fft 6144, dim_f 3072)", graph_mb=66.7, speed=1.6),
)


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
