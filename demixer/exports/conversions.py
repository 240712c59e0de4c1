"""Downloads made from the stems' masters: format conversions and mixes (the instrumental is a
mix), encoded block by block, and the sample rates a download may be asked for.

Blocks are float32 (C, n) at the masters' rate. Nothing here touches rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import soundfile as sf

from demixer.engine import audio, formats
from demixer.exports import tempo as tempo_
from demixer.separation.masters import MASTER as MASTER  # a download in it needs no render
from demixer.separation.masters import MASTER_BIT_DEPTH, STORED_RATE

DOWNLOAD_BIT_DEPTH = MASTER_BIT_DEPTH  # lossless downloads; lossy ones: the default bitrate
# The rates a download may be asked for besides the stored one: those of a DAW session (44.1 and
# 48 kHz, and their doubles, which studios and video work use). A musician drops stems into a
# session and wants them at its rate; resampling adds nothing to 44.1 kHz stems, but saves the
# DAW a conversion (some do it badly, some refuse). The track's own rate is offered as well
# when it is none of these (see ``download_rates``).
SESSION_RATES = (44100, 48000, 88200, 96000)
BLOCK = 1 << 18  # samples per block: 2 MB of float32 stereo per stem
PEAK_SHARE = 0.2  # of a mix's progress: the first pass, which only finds the peak
STRETCH_SHARE = 0.8  # of a stretched mix's: the pass through the stretcher

Progress = Callable[[float], None]  # the fraction done, 0..1


def download_rates(source_rate: int, fmt: str | None = None) -> tuple[int, ...]:
    """The sample rates (Hz) a download of a track recorded at ``source_rate`` may be asked
    for: the stored rate first (the default), the DAW session rates, and the track's own rate
    when it is none of those (a 32 kHz or 22.05 kHz original gets its stems back at its rate);
    in format ``fmt``, only those its encoder takes."""
    rates = (STORED_RATE, *(rate for rate in SESSION_RATES if rate != STORED_RATE))
    if source_rate > 0 and source_rate not in rates:
        rates = (*rates, source_rate)
    if fmt is not None:
        rates = tuple(rate for rate in rates if formats.get(fmt).takes_rate(rate))
    return rates


def convert(
    master: Path,
    target: Path,
    fmt: str,
    progress: Progress | None = None,
    rate: int | None = None,
    bit_depth: int = DOWNLOAD_BIT_DEPTH,
) -> Path:
    """The master in ``fmt`` (lossless: ``bit_depth``, lossy: the format's default bitrate) at
    ``rate`` Hz (None: the master's), read, resampled and encoded block by block.

    A master was written below full scale (rescaled as the reference does), so it converts at
    gain 1 in one pass, as the whole-array ``encode`` would have.
    """
    blocks = _summed({"stem": master}, {"stem": 1.0}, progress)
    return _encode(blocks, master, target, fmt, rate, bit_depth)


def mix(
    masters: dict[str, Path],
    gains: dict[str, float],
    target: Path,
    fmt: str,
    progress: Progress | None = None,
    tempo: float = 1.0,
    pitch: float = 0.0,
    rate: int | None = None,
    bit_depth: int = DOWNLOAD_BIT_DEPTH,
    pans: dict[str, float] | None = None,
) -> Path:
    """Sum of ``gain * stem`` over the masters, each panned by ``pans`` (-1..1, missing: centre)
    as the player pans it, written as ``fmt`` (at ``rate`` and
    ``bit_depth``, as ``convert``); memory holds one block per stem (a 20-minute mix needs a
    few MB, not the 400 MB of the whole sum).

    A stem missing from ``gains`` counts as gain 0. Rescaled only if the sum would clip, as the
    engine's ``clip_gain`` does, which takes a first pass for the peak (FLAC decodes fast;
    the encoding is most of the time). ``tempo`` (0.5: twice as long) and ``pitch``
    (semitones) are applied as the player applies them (``tempo.stretched``).
    """
    if not tempo_.is_identity(tempo, pitch):
        stretch = (tempo, pitch)
        return _stretched_mix(masters, gains, target, fmt, progress, stretch, rate, bit_depth, pans)
    peak = 0.0
    for block in _summed(masters, gains, _share(progress, 0.0, PEAK_SHARE), pans):
        peak = max(peak, float(np.abs(block).max(initial=0.0)))
    scale = np.float32(1.0 / max(1.01 * peak, 1.0))
    rest = _share(progress, PEAK_SHARE, 1.0 - PEAK_SHARE)
    blocks = (block * scale for block in _summed(masters, gains, rest, pans))
    return _encode(blocks, next(iter(masters.values()), None), target, fmt, rate, bit_depth)


def _stretched_mix(
    masters: dict[str, Path],
    gains: dict[str, float],
    target: Path,
    fmt: str,
    progress: Progress | None,
    stretch: tuple[float, float],
    rate: int | None,
    bit_depth: int,
    pans: dict[str, float] | None = None,
) -> Path:
    """``mix`` through the stretcher. Stretching costs more than decoding and encoding
    together, so it runs once: its output goes to a float file beside ``target`` (the render's
    temporary folder) while the peak is found, then that file is scaled and encoded."""
    tempo, pitch = stretch
    first = next(iter(masters.values()), None)
    source_rate = sf.info(first).samplerate if first is not None else audio.TARGET_RATE
    channels = sf.info(first).channels if first is not None else 2
    scratch = target.with_name(target.name + ".stretched.rf64")  # float, any length
    peak = 0.0
    summed = _summed(masters, gains, _share(progress, 0.0, STRETCH_SHARE), pans)
    with sf.SoundFile(scratch, "w", source_rate, channels, "FLOAT", format="RF64") as out:
        for block in tempo_.stretched(summed, source_rate, channels, tempo, pitch):
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
        return _encode(scaled(), first, target, fmt, rate, bit_depth)
    finally:
        scratch.unlink(missing_ok=True)


def mono_mix(
    masters: dict[str, Path], gains: dict[str, float], progress: Progress | None = None
) -> tuple[np.ndarray, int]:
    """The masters summed with ``gains`` as float32 mono (N,) at their rate, and that rate: what
    the analyses (notes, chords) read; one channel of the whole track in memory, not the
    stems'."""
    first = next(iter(masters.values()), None)
    rate = sf.info(first).samplerate if first is not None else STORED_RATE
    blocks = [block.mean(axis=0) for block in _summed(masters, gains, progress)]
    return np.concatenate(blocks or [np.zeros(0)]).astype(np.float32), rate


def pan_stereo(block: np.ndarray, pan: float) -> np.ndarray:
    """A stereo (2, n) block panned as the player's Web Audio ``StereoPannerNode`` pans a stereo
    input (equal power; -1 left .. 1 right): a pan to one side keeps that side and folds the
    other side into it, so what the mix download holds is what was heard."""
    if pan == 0.0 or block.shape[0] != 2:
        return block
    x = (pan + 1.0 if pan < 0 else pan) * np.pi / 2
    to_left, to_right = np.float32(np.cos(x)), np.float32(np.sin(x))
    left, right = block
    if pan < 0:
        return np.stack([left + right * to_left, right * to_right])
    return np.stack([left * to_left, right + left * to_right])


def _summed(
    masters: dict[str, Path],
    gains: dict[str, float],
    progress: Progress | None,
    pans: dict[str, float] | None = None,
) -> Iterator[np.ndarray]:
    """float32 (C, n) blocks of ``sum(pan(gain * stem))``, every master read in step."""
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
                    pan = float((pans or {}).get(name, 0.0))
                    total[:, : block.shape[0]] += pan_stereo(np.float32(gain) * block.T, pan)
            if progress is not None:
                progress((start + total.shape[1]) / frames)
            yield total


def _share(progress: Progress | None, offset: float, share: float) -> Progress | None:
    """A stage's progress (0..1) as its part of the whole."""
    if progress is None:
        return None
    return lambda done: progress(offset + share * done)


def _encode(
    blocks: Iterable[np.ndarray],
    master: Path | None,
    target: Path,
    name: str,
    rate: int | None = None,
    bit_depth: int = DOWNLOAD_BIT_DEPTH,
) -> Path:
    """float32 (C, n) blocks at the master's rate into ``target``: resampled to ``rate`` (None:
    kept), at ``bit_depth`` if the format has one (a lossy one has a bitrate instead)."""
    fmt = formats.get(name)
    if master is None:  # no stems at all: an empty file
        source_rate, channels = audio.TARGET_RATE, 2
    else:
        info = sf.info(master)
        source_rate, channels = info.samplerate, info.channels
    rate = rate or source_rate
    if rate != source_rate:
        blocks = _resampled(blocks, channels, source_rate, rate)
    return audio.encode_blocks(blocks, target, channels, rate, fmt.name, bit_depth)


def _resampled(
    blocks: Iterable[np.ndarray], channels: int, from_rate: int, to_rate: int
) -> Iterator[np.ndarray]:
    """The engine's streamed resampling, clamped at full scale: a resampled peak may overshoot
    the master's by a hair, which PCM would wrap or clip."""
    for block in audio.resampled_blocks(blocks, channels, from_rate, to_rate):
        yield np.clip(block, -1.0, 1.0)
