"""Audio files derived from stems: masters, previews, peaks, format conversions, mixes.

Arrays are float32 (2, N) at 44.1 kHz, as the engine returns them. Nothing here touches rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from demixer.engine import audio

MASTER_FORMAT = ("flac", 24)  # lossless, half the size of WAV
PREVIEW_KBPS = 192
PEAK_POINTS = 800
DOWNLOAD_FORMATS = ("wav", "flac", "mp3")
WAV_BIT_DEPTH = 24
MP3_KBPS = 320
BLOCK = 1 << 18


def write_master(wav: np.ndarray, path: Path, rate: int, tags: dict[str, str]) -> Path:
    fmt, depth = MASTER_FORMAT
    return audio.encode(wav, path, rate=rate, fmt=fmt, bit_depth=depth, tags=tags)


def write_preview(wav: np.ndarray, path: Path, rate: int) -> Path:
    return audio.encode(wav, path, rate=rate, fmt="mp3", bitrate_kbps=PREVIEW_KBPS)


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


def convert(master: Path, target: Path, fmt: str) -> Path:
    """The master in ``fmt`` (wav: 24-bit PCM, mp3: 320 kbps); flac is the master itself."""
    samples, rate = sf.read(master, dtype="float32", always_2d=True)
    return _encode(samples.T, target, rate, fmt)


def mix(masters: dict[str, Path], gains: dict[str, float], target: Path, fmt: str) -> Path:
    """Sum of ``gain * stem`` over the masters, read block by block, written as ``fmt``.

    A stem missing from ``gains`` counts as gain 0. Rescaled only if the sum would clip.
    """
    total: np.ndarray | None = None
    rate = audio.TARGET_RATE
    for name, path in masters.items():
        gain = float(gains.get(name, 0.0))
        with sf.SoundFile(path) as fh:
            rate = fh.samplerate
            if total is None:
                total = np.zeros((fh.channels, fh.frames), dtype=np.float32)
            if gain == 0.0:
                continue
            offset = 0
            for block in fh.blocks(blocksize=BLOCK, dtype="float32", always_2d=True):
                total[:, offset : offset + block.shape[0]] += gain * block.T
                offset += block.shape[0]
    if total is None:
        total = np.zeros((2, 0), dtype=np.float32)
    return _encode(total, target, rate, fmt)


def _encode(wav: np.ndarray, target: Path, rate: int, fmt: str) -> Path:
    if fmt not in DOWNLOAD_FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    depth = WAV_BIT_DEPTH if fmt in ("wav", "flac") else 16
    return audio.encode(
        wav, target, rate=rate, fmt=fmt, bit_depth=depth, bitrate_kbps=MP3_KBPS, clip="rescale"
    )
