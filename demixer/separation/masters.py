"""The stems' stored files: the lossless master, the browser's preview and the waveform peaks.

Arrays are float32 (2, N) at 44.1 kHz, as the engine returns them. Nothing here touches rows.
Downloads made from the masters (conversions, mixes) are :mod:`demixer.exports`'.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from demixer.engine import audio, buffers, formats

MASTER = formats.FLAC  # lossless, half the size of WAV; served as it is for FLAC downloads
MASTER_BIT_DEPTH = 24
STORED_RATE = audio.TARGET_RATE  # the stems' own rate: a download's rate unless asked otherwise
PREVIEW = formats.MP3  # what the browser player streams
PREVIEW_KBPS = 192
PEAK_POINTS = 800
PEAK_BLOCK = 1 << 18  # samples read at a time for the peaks: 2 MB of float32 stereo


def write_master(wav: np.ndarray, path: Path, rate: int, tags: dict[str, str]) -> Path:
    return audio.encode(
        wav, path, rate=rate, fmt=MASTER.name, bit_depth=MASTER_BIT_DEPTH, tags=tags
    )


def write_preview(wav: np.ndarray, path: Path, rate: int) -> Path:
    return audio.encode(wav, path, rate=rate, fmt=PREVIEW.name, bitrate_kbps=PREVIEW_KBPS)


def peaks(stems: dict[str, np.ndarray], points: int = PEAK_POINTS) -> dict[str, list[float]]:
    """Per stem, ``points`` bucket maxima of |x| over both channels, scaled by the loudest stem
    so that the waveforms compare (values in 0..1, three decimals)."""
    raw = {name: _bucket_maxima(wav, points) for name, wav in stems.items()}
    loudest = max((float(v.max(initial=0.0)) for v in raw.values()), default=0.0)
    scale = 1.0 / loudest if loudest > 1e-9 else 0.0
    return {
        name: [round(float(min(1.0, x * scale)), 3) for x in values] for name, values in raw.items()
    }


def _bucket_maxima(wav: np.ndarray, points: int) -> np.ndarray:
    """``points`` maxima of |x| over both channels of float32 (C, n), float32; read a few
    buckets at a time (a long stem may be on disk and leaves memory as it is read)."""
    n = wav.shape[-1]
    if n == 0:
        return np.zeros(points, dtype=np.float32)
    edges = np.linspace(0, n, points + 1).astype(np.int64)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)
    starts = np.minimum(np.minimum(edges, n)[:-1], n - 1)
    if n < 2 * points:  # buckets of one sample may repeat: all at once (a short stem)
        return np.maximum.reduceat(np.abs(wav).max(axis=0), starts)
    group = max(1, PEAK_BLOCK * points // n)  # buckets per read, about PEAK_BLOCK samples
    out = np.empty(points, dtype=np.float32)
    for first in range(0, points, group):
        last = min(points, first + group)
        lo, hi = int(starts[first]), int(starts[last]) if last < points else n
        envelope = np.abs(wav[..., lo:hi]).max(axis=0)
        out[first:last] = np.maximum.reduceat(envelope, starts[first:last] - lo)
        buffers.release(wav, lo, hi)
    return out


def master_file(stem: str) -> str:
    """A stem's master file name (``vocals.flac``)."""
    return f"{stem}{MASTER.extension}"


def preview_file(stem: str) -> str:
    """A stem's preview file name (``vocals.mp3``), as stored and as its URL ends."""
    return f"{stem}{PREVIEW.extension}"
