"""Audio files derived from stems: masters, previews, peaks, format conversions, mixes.

Arrays are float32 (2, N) at 44.1 kHz, as the engine returns them. Nothing here touches rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import soundfile as sf

from demixer.engine import audio, formats
from demixer.separation import tempo as tempo_

MASTER = formats.FLAC  # lossless, half the size of WAV; served as it is for FLAC downloads
MASTER_BIT_DEPTH = 24
PREVIEW = formats.MP3  # what the browser player streams
PREVIEW_KBPS = 192
PEAK_POINTS = 800
DOWNLOAD_BIT_DEPTH = 24  # lossless downloads (the master's depth); lossy ones: default bitrate
BLOCK = 1 << 18  # samples per block: 2 MB of float32 stereo per stem
PEAK_SHARE = 0.2  # of a mix's progress: the first pass, which only finds the peak
STRETCH_SHARE = 0.8  # of a stretched mix's: the pass through the stretcher

Progress = Callable[[float], None]  # the fraction done, 0..1


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


def convert(master: Path, target: Path, fmt: str, progress: Progress | None = None) -> Path:
    """The master in ``fmt`` (lossless: 24-bit, lossy: the format's default bitrate), read and
    encoded block by block.

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
    tempo: float = 1.0,
    pitch: float = 0.0,
) -> Path:
    """Sum of ``gain * stem`` over the masters, written as ``fmt``; memory holds one block per
    stem (a 20-minute mix needs a few MB, not the 400 MB of the whole sum).

    A stem missing from ``gains`` counts as gain 0. Rescaled only if the sum would clip, as the
    engine's ``clip_gain`` does, which takes a first pass for the peak (FLAC decodes fast;
    the encoding is most of the time). ``tempo`` (0.5: twice as long) and ``pitch``
    (semitones) are applied as the player applies them (``tempo.stretched``).
    """
    if not tempo_.is_identity(tempo, pitch):
        return _stretched_mix(masters, gains, target, fmt, progress, tempo, pitch)
    peak = 0.0
    for block in _summed(masters, gains, _share(progress, 0.0, PEAK_SHARE)):
        peak = max(peak, float(np.abs(block).max(initial=0.0)))
    scale = np.float32(1.0 / max(1.01 * peak, 1.0))
    rest = _share(progress, PEAK_SHARE, 1.0 - PEAK_SHARE)
    blocks = (block * scale for block in _summed(masters, gains, rest))
    return _encode(blocks, next(iter(masters.values()), None), target, fmt)


def _stretched_mix(
    masters: dict[str, Path],
    gains: dict[str, float],
    target: Path,
    fmt: str,
    progress: Progress | None,
    tempo: float,
    pitch: float,
) -> Path:
    """``mix`` through the stretcher. Stretching costs more than decoding and encoding
    together, so it runs once: its output goes to a float file beside ``target`` (the render's
    temporary folder) while the peak is found, then that file is scaled and encoded."""
    first = next(iter(masters.values()), None)
    rate = sf.info(first).samplerate if first is not None else audio.TARGET_RATE
    channels = sf.info(first).channels if first is not None else 2
    scratch = target.with_name(target.name + ".stretched.rf64")  # float, any length
    peak = 0.0
    summed = _summed(masters, gains, _share(progress, 0.0, STRETCH_SHARE))
    with sf.SoundFile(scratch, "w", rate, channels, "FLOAT", format="RF64") as out:
        for block in tempo_.stretched(summed, rate, channels, tempo, pitch):
            peak = max(peak, float(np.abs(block).max(initial=0.0)))
            out.write(block.T)
    scale = np.float32(1.0 / max(1.01 * peak, 1.0))
    rest = _share(progress, STRETCH_SHARE, 1.0 - STRETCH_SHARE)

    def scaled() -> Iterator[np.ndarray]:
        with sf.SoundFile(scratch) as fh:
            for start in range(0, fh.frames, BLOCK):
                block = fh.read(BLOCK, dtype="float32", always_2d=True)
                if rest is not None:
                    rest((start + block.shape[0]) / max(1, fh.frames))
                yield block.T * scale

    try:
        return _encode(scaled(), first, target, fmt)
    finally:
        scratch.unlink(missing_ok=True)


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


def _encode(blocks: Iterable[np.ndarray], master: Path | None, target: Path, name: str) -> Path:
    fmt = formats.get(name)
    if master is None:  # no stems at all: an empty file
        rate, channels = audio.TARGET_RATE, 2
    else:
        info = sf.info(master)
        rate, channels = info.samplerate, info.channels
    return audio.encode_blocks(blocks, target, channels, rate, fmt.name, DOWNLOAD_BIT_DEPTH)


def master_file(stem: str) -> str:
    """A stem's master file name (``vocals.flac``)."""
    return f"{stem}{MASTER.extension}"


def preview_file(stem: str) -> str:
    """A stem's preview file name (``vocals.mp3``), as stored and as its URL ends."""
    return f"{stem}{PREVIEW.extension}"
