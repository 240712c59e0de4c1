"""Decode any audio file to float32 stereo at 44.1 kHz, and encode stems to wav/flac/mp3.

Decoding uses PyAV (FFmpeg's demuxers and decoders), so the content decides, never the file
name. Resampling uses soxr (VHQ). Arrays are float32 (channels, samples).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import soundfile as sf
import soxr

from demixer.engine import buffers
from demixer.engine.errors import AudioDecodeError, AudioEncodeError

TARGET_RATE = 44100
Format = Literal["wav", "flac", "mp3"]
ClipMode = Literal["rescale", "clamp", "none"]
FORMATS: tuple[str, ...] = ("wav", "flac", "mp3")
TAG_KEYS = ("title", "artist", "album", "date", "genre")


@dataclass
class DecodedAudio:
    """A decoded file: ``samples`` float32 (2, N) at ``rate``; what the source was."""

    samples: np.ndarray
    rate: int
    source_rate: int
    source_channels: int
    codec: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.samples.shape[-1] / self.rate


@dataclass(frozen=True)
class AudioInfo:
    """What probing a file tells without decoding all of it."""

    duration: float
    rate: int
    channels: int
    codec: str
    tags: dict[str, str]


def _open(path: str | os.PathLike[str]) -> av.container.InputContainer:
    p = Path(path)
    if not p.exists():
        raise AudioDecodeError(f"{p.name}: file not found")
    if p.is_dir():
        raise AudioDecodeError(f"{p.name}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioDecodeError(f"{p.name}: the file is empty")
    _check_chunk_size(p)
    try:
        container = av.open(str(p), mode="r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioDecodeError(f"{p.name}: not a recognised audio file") from exc
    if not container.streams.audio:
        container.close()
        raise AudioDecodeError(f"{p.name}: contains no audio stream")
    return container


def _check_chunk_size(path: Path) -> None:
    """WAV (RIFF) and AIFF (FORM) headers state the file's size; FFmpeg quietly decodes what is
    there, so a cut-off upload is caught here instead."""
    with path.open("rb") as fh:
        head = fh.read(12)
    if len(head) < 12:
        return
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        declared = int.from_bytes(head[4:8], "little") + 8
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        declared = int.from_bytes(head[4:8], "big") + 8
    else:
        return
    actual = path.stat().st_size
    # streaming writers leave 0 or 0xFFFFFFFF as a placeholder: nothing to check then
    if declared not in (8, 0xFFFFFFFF + 8) and actual < declared - 1:
        raise AudioDecodeError(
            f"{path.name}: the file is truncated ({actual} of {declared} bytes are there)"
        )


def _tags(container: av.container.InputContainer, stream: av.audio.AudioStream) -> dict[str, str]:
    merged = {k.lower(): v for k, v in {**stream.metadata, **container.metadata}.items()}
    return {k: merged[k] for k in TAG_KEYS if merged.get(k)}


def _declared_duration(
    container: av.container.InputContainer, stream: av.audio.AudioStream
) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def probe(path: str | os.PathLike[str]) -> AudioInfo:
    """Header facts (duration, rate, channels, codec, tags); raises :class:`AudioDecodeError`."""
    with _open(path) as container:
        stream = container.streams.audio[0]
        return AudioInfo(
            duration=_declared_duration(container, stream),
            rate=stream.codec_context.sample_rate or 0,
            channels=stream.codec_context.channels or 0,
            codec=stream.codec_context.name,
            tags=_tags(container, stream),
        )


def _decode_checked(
    path: str | os.PathLike[str], max_seconds: float | None, keep: bool
) -> tuple[AudioInfo, list[np.ndarray]]:
    """Decode every frame of the first audio stream, checking it is whole, decodable audio of
    at most ``max_seconds``; with ``keep``, also return it as float32 (1 or 2, n) blocks."""
    name = Path(path).name
    limit = None if max_seconds is None else max_seconds + 1
    with _open(path) as container:
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        rate, channels, codec = ctx.sample_rate or 0, ctx.channels or 0, ctx.name
        declared = _declared_duration(container, stream)
        if max_seconds is not None and limit is not None and declared > limit:
            raise AudioDecodeError(
                f"{name}: {declared / 60:.1f} minutes long, the limit is {max_seconds / 60:.0f}"
            )
        tags = _tags(container, stream)
        # mono stays mono here and is duplicated by the caller (FFmpeg's upmix would lower it by
        # 3 dB); more channels go through FFmpeg's standard downmix (centre and surrounds kept)
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate or None)
        blocks: list[np.ndarray] = []
        count = 0
        try:
            for frame in container.decode(stream):
                rate = rate or frame.sample_rate
                count += frame.samples
                if keep:
                    blocks.extend(out.to_ndarray() for out in resampler.resample(frame))
                if max_seconds is not None and limit is not None and rate and count > limit * rate:
                    raise AudioDecodeError(
                        f"{name}: longer than the limit of {max_seconds / 60:.0f} minutes"
                    )
            if keep:
                blocks.extend(out.to_ndarray() for out in resampler.resample(None))
        except av.FFmpegError as exc:
            raise AudioDecodeError(f"{name}: the audio data is corrupt or truncated") from exc
    if count == 0 or not rate:
        raise AudioDecodeError(f"{name}: no audio could be decoded (corrupt or not audio)")
    got = count / rate
    if declared > 2.0 and got < 0.9 * declared:
        raise AudioDecodeError(
            f"{name}: the file is truncated ({got:.1f} s of {declared:.1f} s could be decoded)"
        )
    return AudioInfo(duration=got, rate=rate, channels=channels, codec=codec, tags=tags), blocks


def decode(
    path: str | os.PathLike[str],
    rate: int | None = TARGET_RATE,
    max_seconds: float | None = None,
) -> DecodedAudio:
    """Decode the first audio stream to float32 stereo.

    Mono is duplicated to both sides, more than two channels are downmixed with FFmpeg's standard
    matrix; the result is resampled to ``rate`` with soxr (``None`` keeps the source rate).
    Raises :class:`AudioDecodeError` for anything that is not whole, decodable audio, including
    files longer than ``max_seconds``.
    """
    info, blocks = _decode_checked(path, max_seconds, keep=True)
    samples = np.concatenate(blocks, axis=-1).astype(np.float32, copy=False)
    del blocks
    if samples.shape[0] == 1:
        samples = np.repeat(samples, 2, axis=0)
    if not np.isfinite(samples).all():
        raise AudioDecodeError(f"{Path(path).name}: the decoded audio contains invalid values")
    out_rate = rate or info.rate
    samples = resample(samples, info.rate, out_rate)
    return DecodedAudio(samples, out_rate, info.rate, info.channels, info.codec, info.tags)


def validate(path: str | os.PathLike[str], max_seconds: float | None = None) -> AudioInfo:
    """Decode the whole file without keeping it: proves it is whole, decodable audio.

    Costs little memory whatever the length (frames are counted, then dropped). Returns the
    measured duration; raises :class:`AudioDecodeError` with a user-facing message.
    """
    return _decode_checked(path, max_seconds, keep=False)[0]


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """soxr VHQ resampling of float32 (C, N) -> float32 (C, M)."""
    if from_rate == to_rate:
        return np.ascontiguousarray(samples, dtype=np.float32)
    out = soxr.resample(samples.T, from_rate, to_rate, quality="VHQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)


def clip_gain(wav: np.ndarray, mode: ClipMode = "rescale") -> float:
    """The factor the reference's ``rescale`` applies: 1, or 1 / (1.01 * peak) above 1."""
    if mode != "rescale":
        return 1.0
    peak = 0.0
    for start in range(0, wav.shape[-1], BLOCK):
        block = wav[..., start : start + BLOCK]
        peak = max(peak, float(np.abs(block).max(initial=0.0)))
        buffers.release(wav, start, start + block.shape[-1])
    return 1.0 / max(1.01 * peak, 1.0)


def prevent_clip(wav: np.ndarray, mode: ClipMode = "rescale") -> np.ndarray:
    """The reference's ``prevent_clip``: rescale the whole stem below 1, or clamp at ±0.99."""
    if mode == "none":
        return wav
    if mode == "rescale":
        return wav * np.float32(clip_gain(wav, mode))
    if mode == "clamp":
        return np.clip(wav, -0.99, 0.99)
    raise ValueError(f"invalid clip mode {mode!r}")


_SUBTYPES = {
    ("wav", 16): "PCM_16",
    ("wav", 24): "PCM_24",
    ("wav", 32): "FLOAT",
    ("flac", 16): "PCM_16",
    ("flac", 24): "PCM_24",
}
BLOCK = 1 << 18  # samples per block when streaming a stem out


def _blocks(wav: np.ndarray, clip: ClipMode, from_rate: int, to_rate: int) -> Iterator[np.ndarray]:
    """The stem in float32 (C, n) blocks: clip handling applied, resampled on the fly.

    Streaming keeps memory flat for long tracks and lets disk-backed stems be dropped from
    memory block by block.
    """
    if clip not in ("rescale", "clamp", "none"):
        raise AudioEncodeError(f"invalid clip mode {clip!r}")
    gain = np.float32(clip_gain(wav, clip))
    stream = (
        soxr.ResampleStream(from_rate, to_rate, wav.shape[0], dtype="float32", quality="VHQ")
        if from_rate != to_rate
        else None
    )
    length = wav.shape[-1]
    for start in range(0, length, BLOCK):
        block = np.asarray(wav[..., start : start + BLOCK], dtype=np.float32) * gain
        buffers.release(wav, start, start + block.shape[-1])
        if clip == "clamp":
            block = prevent_clip(block, "clamp")
        if stream is not None:
            last = start + BLOCK >= length
            block = stream.resample_chunk(np.ascontiguousarray(block.T), last=last).T
        if block.shape[-1]:
            yield np.ascontiguousarray(block)


def encode(
    wav: np.ndarray,
    path: str | os.PathLike[str],
    rate: int = TARGET_RATE,
    fmt: Format = "wav",
    bit_depth: int = 16,
    bitrate_kbps: int = 320,
    clip: ClipMode = "rescale",
    tags: dict[str, str] | None = None,
    source_rate: int | None = None,
) -> Path:
    """Write float32 (C, N) at ``source_rate`` (default ``rate``) to ``path`` at ``rate``.

    wav: 16/24-bit PCM or 32 (float); flac: 16/24-bit; mp3: ``bitrate_kbps`` CBR (LAME).
    Written to a temporary name and renamed, so a half-written file never has the real name.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    blocks = _blocks(wav, clip, source_rate or rate, rate)
    channels = wav.shape[0]
    try:
        if fmt in ("wav", "flac"):
            subtype = _SUBTYPES.get((fmt, bit_depth))
            if subtype is None:
                raise AudioEncodeError(f"{fmt} does not support {bit_depth}-bit output")
            with sf.SoundFile(
                tmp,
                "w",
                samplerate=rate,
                channels=channels,
                subtype=subtype,
                format="WAV" if fmt == "wav" else "FLAC",
            ) as out:
                for key, value in (tags or {}).items():
                    if key in TAG_KEYS:
                        setattr(out, key, value)
                for block in blocks:
                    out.write(block.T)
        elif fmt == "mp3":
            _encode_mp3(blocks, channels, tmp, rate, bitrate_kbps, tags or {})
        else:
            raise AudioEncodeError(f"unknown output format {fmt!r}; use wav, flac or mp3")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _encode_mp3(
    blocks: Iterable[np.ndarray],
    channels: int,
    path: Path,
    rate: int,
    bitrate_kbps: int,
    tags: dict[str, str],
) -> None:
    encode_with_ffmpeg(
        blocks, channels, path, rate, "mp3", "libmp3lame", tags, bit_rate=bitrate_kbps * 1000
    )


def encode_with_ffmpeg(
    blocks: Iterable[np.ndarray],
    channels: int,
    path: Path,
    rate: int,
    container_format: str,
    codec: str,
    tags: dict[str, str] | None = None,
    bit_rate: int | None = None,
    options: dict[str, str] | None = None,
) -> None:
    """Encode float32 (C, n) blocks with one of FFmpeg's encoders into ``container_format``."""
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), mode="w", format=container_format) as container:
        for key, value in (tags or {}).items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.audio.AudioStream)
        if bit_rate:
            stream.bit_rate = bit_rate
        if options:
            stream.codec_context.options = options
        stream.time_base = Fraction(1, rate)
        sample = stream.codec_context.format
        planar = sample is not None and sample.is_planar
        sample_format = "fltp" if planar else "flt"
        pts = 0
        for block in blocks:
            data = block if planar else np.ascontiguousarray(block.T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=layout)
            frame.sample_rate = rate
            frame.pts = pts
            pts += block.shape[-1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def duration_text(seconds: float) -> str:
    minutes, secs = divmod(math.floor(seconds + 0.5), 60)
    return f"{minutes}:{secs:02d}"
