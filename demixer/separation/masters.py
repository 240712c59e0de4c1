"""The stems' stored files: the lossless master, the browser's preview and the waveform peaks.

Arrays are float32 (2, N) at 44.1 kHz, as the engine returns them. Nothing here touches rows.
Downloads made from the masters (conversions, mixes) are :mod:`demixer.exports`'.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from demixer.engine import audio, formats

MASTER = formats.FLAC  # lossless, half the size of WAV; served as it is for FLAC downloads
MASTER_BIT_DEPTH = 24
STORED_RATE = audio.TARGET_RATE  # the stems' own rate: a download's rate unless asked otherwise
PREVIEW = formats.MP3  # what the browser player streams
PREVIEW_KBPS = 192
PEAK_POINTS = 800


def write_master(wav: np.ndarray, path: Path, rate: int, tags: dict[str, str]) -> Path:
    return audio.encode(
        wav, path, rate=rate, fmt=MASTER.name, bit_depth=MASTER_BIT_DEPTH, tags=tags
    )


def write_preview(wav: np.ndarray, path: Path, rate: int) -> Path:
    return audio.encode(wav, path, rate=rate, fmt=PREVIEW.name, bitrate_kbps=PREVIEW_KBPS)


def peaks(stems: dict[str, np.ndarray], points: int = PEAK_POINTS) -> dict[str, list[float]]:
    """Per stem, ``points`` bucket maxima of |x| over both channels, scaled by the loudest stem
    so that the waveforms compare (values in 0..1, three decimals)."""
    raw: dict[str, np.ndarray] = {}
    for name, wav in stems.items():
        envelope = np.abs(wav).max(axis=0)
        n = envelope.shape[-1]
        if n == 0:
            raw[name] = np.zeros(points, dtype=np.float32)
            continue
        edges = np.linspace(0, n, points + 1).astype(np.int64)
        edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)
        edges = np.minimum(edges, n)
        raw[name] = np.maximum.reduceat(envelope, np.minimum(edges[:-1], n - 1))
    loudest = max((float(v.max(initial=0.0)) for v in raw.values()), default=0.0)
    scale = 1.0 / loudest if loudest > 1e-9 else 0.0
    return {
        name: [round(float(min(1.0, x * scale)), 3) for x in values] for name, values in raw.items()
    }


def master_file(stem: str) -> str:
    """A stem's master file name (``vocals.flac``)."""
    return f"{stem}{MASTER.extension}"


def preview_file(stem: str) -> str:
    """A stem's preview file name (``vocals.mp3``), as stored and as its URL ends."""
    return f"{stem}{PREVIEW.extension}"
