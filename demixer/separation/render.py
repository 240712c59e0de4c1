"""Audio files derived from stems: masters, previews, peaks, format conversions, mixes.

Arrays are float32 (2, N) at 44.1 kHz, as the engine returns them. Nothing here touches rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import soundfile as sf

from demixer.engine import audio

MASTER_FORMAT: tuple[audio.Format, int] = ("flac", 24)  # lossless, half the size of WAV
PREVIEW_KBPS = 192
PEAK_POINTS = 800
DOWNLOAD_FORMATS: tuple[audio.Format, ...] = ("wav", "flac", "mp3")
WAV_BIT_DEPTH = 24
MP3_KBPS = 320
BLOCK = 1 << 18  # samples per block: 2 MB of float32 stereo per stem
PEAK_SHARE = 0.2  # of a mix's progress: the first pass, which only finds the peak

Progress = Callable[[float], None]  # the fraction done, 0..1


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


def convert(master: Path, target: Path, fmt: str, progress: Progress | None = None) -> Path:
    """The master in ``fmt`` (wav: 24-bit PCM, mp3: 320 kbps), read and encoded block by block.

    A master was written below full scale (rescaled as the reference does), so it converts at
    gain 1 in one pass, as the whole-array ``encode`` would have.
    """
    return _encode(_summed({"stem": master}, {"stem": 1.0}, progress), master, target, fmt)


def mix(
    masters: dict[str, Path],
    gains: dict[str, float],
    target: Path,
    fmt: str,
    progress: Progress | None = None,
) -> Path:
    """Sum of ``gain * stem`` over the masters, written as ``fmt``; memory holds one block per
    stem (a 20-minute mix needs a few MB, not the 400 MB of the whole sum).

    A stem missing from ``gains`` counts as gain 0. Rescaled only if the sum would clip, as the
    engine's ``clip_gain`` does, which takes a first pass for the peak (FLAC decodes fast;
    the encoding is most of the time).
    """
    peak = 0.0
    for block in _summed(masters, gains, _share(progress, 0.0, PEAK_SHARE)):
        peak = max(peak, float(np.abs(block).max(initial=0.0)))
    scale = np.float32(1.0 / max(1.01 * peak, 1.0))
    rest = _share(progress, PEAK_SHARE, 1.0 - PEAK_SHARE)
    blocks = (block * scale for block in _summed(masters, gains, rest))
    return _encode(blocks, next(iter(masters.values()), None), target, fmt)


def _summed(
    masters: dict[str, Path], gains: dict[str, float], progress: Progress | None
) -> Iterator[np.ndarray]:
    """float32 (C, n) blocks of ``sum(gain * stem)``, every master read in step."""
    with ExitStack() as stack:
        handles = {name: stack.enter_context(sf.SoundFile(path)) for name, path in masters.items()}
        frames = max((fh.frames for fh in handles.values()), default=0)
        channels = max((fh.channels for fh in handles.values()), default=2)
        for start in range(0, frames, BLOCK):
            total = np.zeros((channels, min(BLOCK, frames - start)), dtype=np.float32)
            for name, fh in handles.items():
                gain = float(gains.get(name, 0.0))
                if gain != 0.0:
                    block = fh.read(total.shape[1], dtype="float32", always_2d=True)
                    total[:, : block.shape[0]] += np.float32(gain) * block.T
            if progress is not None:
                progress((start + total.shape[1]) / frames)
            yield total


def _share(progress: Progress | None, offset: float, share: float) -> Progress | None:
    """A stage's progress (0..1) as its part of the whole."""
    if progress is None:
        return None
    return lambda done: progress(offset + share * done)


def _download_format(fmt: str) -> audio.Format:
    for known in DOWNLOAD_FORMATS:
        if fmt == known:
            return known
    raise ValueError(f"unknown format {fmt!r}")


def _encode(blocks: Iterable[np.ndarray], master: Path | None, target: Path, name: str) -> Path:
    fmt = _download_format(name)
    if master is None:  # no stems at all: an empty file
        rate, channels = audio.TARGET_RATE, 2
    else:
        info = sf.info(master)
        rate, channels = info.samplerate, info.channels
    depth = WAV_BIT_DEPTH if fmt in ("wav", "flac") else 16
    return audio.encode_blocks(
        blocks, target, channels, rate, fmt, bit_depth=depth, bitrate_kbps=MP3_KBPS
    )
