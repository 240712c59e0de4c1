"""Decode any audio file to float32 stereo at 44.1 kHz, and encode stems in the output formats
of :mod:`demixer.engine.formats` (WAV, FLAC, MP3).

Decoding uses PyAV (FFmpeg's demuxers and decoders), so the content decides, never the file
name. Resampling uses soxr (VHQ). Arrays are float32 (channels, samples).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import soundfile as sf
import soxr

from demixer.engine import buffers, formats
from demixer.engine.errors import AudioDecodeError, AudioEncodeError, AudioTooLargeError

TARGET_RATE = 44100
ClipMode = Literal["rescale", "clamp", "none"]
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
    container: str = ""  # FFmpeg's demuxer name ("wav", "mov,mp4,m4a,3gp,3g2,mj2", ...)


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
            container=container.format.name,
        )


def _khz(rate: int) -> str:
    return f"{rate / 1000:g}"


def _check_shape(
    name: str, rate: int, channels: int, max_rate: int | None, max_channels: int | None
) -> None:
    """Refuse a sample rate or channel count over the limits (from a header or a frame)."""
    if max_rate is not None and rate > max_rate:
        raise AudioTooLargeError(
            f"{name}: sample rate {_khz(rate)} kHz, the limit is {_khz(max_rate)} kHz"
        )
    if max_channels is not None and channels > max_channels:
        raise AudioTooLargeError(f"{name}: {channels} channels, the limit is {max_channels}")


BlockSink = Callable[[np.ndarray, int], None]


def _decode_checked(
    path: str | os.PathLike[str],
    max_seconds: float | None,
    max_rate: int | None,
    max_channels: int | None,
    sink: BlockSink | None,
) -> AudioInfo:
    """Decode every frame of the first audio stream, checking it is whole, decodable audio
    within the limits; with ``sink``, hand it each float32 (1 or 2, n) block and its rate.

    The limits are checked on the header before anything is decoded, then on every frame, so a
    header that lies (or says nothing) stops the decoding at the limit, not after the file.
    """
    name = Path(path).name
    limit = None if max_seconds is None else max_seconds + 1
    with _open(path) as container:
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        rate, channels, codec = ctx.sample_rate or 0, ctx.channels or 0, ctx.name
        _check_shape(name, rate, channels, max_rate, max_channels)
        declared = _declared_duration(container, stream)
        if max_seconds is not None and limit is not None and declared > limit:
            raise AudioTooLargeError(
                f"{name}: {declared / 60:.1f} minutes long, the limit is {max_seconds / 60:.0f}"
            )
        tags = _tags(container, stream)
        demuxer = container.format.name
        # mono stays mono here and is duplicated later (FFmpeg's upmix would lower it by 3 dB);
        # more channels go through FFmpeg's standard downmix (centre and surrounds kept)
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate or None)
        # counted exactly: a sum of frame lengths in floats comes out a hair short (a 24.0 s
        # file as 23.999999999999876 s, which pages cut to 0:23)
        seconds = Fraction(0)
        try:
            for frame in container.decode(stream):
                frame_rate = frame.sample_rate or rate
                if not frame_rate:
                    raise AudioDecodeError(f"{name}: the audio data is corrupt (no sample rate)")
                _check_shape(name, frame_rate, frame.layout.nb_channels, max_rate, max_channels)
                rate = rate or frame_rate
                seconds += Fraction(frame.samples, frame_rate)
                if max_seconds is not None and limit is not None and seconds > limit:
                    raise AudioTooLargeError(
                        f"{name}: longer than the limit of {max_seconds / 60:.0f} minutes"
                    )
                if sink is not None:
                    for out in resampler.resample(frame):
                        sink(out.to_ndarray(), out.sample_rate)
            if sink is not None:
                for out in resampler.resample(None):
                    sink(out.to_ndarray(), out.sample_rate)
        except av.FFmpegError as exc:
            raise AudioDecodeError(f"{name}: the audio data is corrupt or truncated") from exc
    if seconds == 0 or not rate:
        raise AudioDecodeError(f"{name}: no audio could be decoded (corrupt or not audio)")
    if declared > 2.0 and seconds < 0.9 * declared:
        raise AudioDecodeError(
            f"{name}: the file is truncated ({seconds:.1f} s of {declared:.1f} s could be decoded)"
        )
    return AudioInfo(
        duration=float(seconds),
        rate=rate,
        channels=channels,
        codec=codec,
        tags=tags,
        container=demuxer,
    )


CHUNK = 1 << 22  # samples per chunk of decoded output: 32 MiB of stereo float32, 95 s at 44.1 kHz


class _Chunks:
    """float32 (2, N) gathered in fixed-size chunks, then joined once.

    Memory grows a chunk at a time whatever a header claims, and joining frees each chunk as it
    is copied, so the peak is the result plus one chunk. Chunks are larger than glibc's largest
    mmap threshold (32 MiB), so each freed chunk goes straight back to the system.
    """

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.used = CHUNK

    def __len__(self) -> int:
        return (len(self.chunks) - 1) * CHUNK + self.used if self.chunks else 0

    def append(self, block: np.ndarray) -> None:
        """Add float32 (1 or 2, n); one row goes to both channels."""
        done, n = 0, block.shape[-1]
        while done < n:
            if self.used == CHUNK:
                self.chunks.append(np.empty((2, CHUNK), dtype=np.float32))
                self.used = 0
            take = min(n - done, CHUNK - self.used)
            self.chunks[-1][:, self.used : self.used + take] = block[:, done : done + take]
            self.used += take
            done += take

    def join(self) -> np.ndarray:
        """Everything appended as one float32 (2, N) array; empties this."""
        length = len(self)
        out = np.empty((2, length), dtype=np.float32)
        for start in range(0, length, CHUNK):
            chunk = self.chunks.pop(0)
            stop = min(start + CHUNK, length)
            out[:, start:stop] = chunk[:, : stop - start]
            del chunk
        self.used = CHUNK
        return out


class _StreamResampler:
    """A :data:`BlockSink` that resamples float32 (1 or 2, n) blocks at the source rate to
    ``rate`` with soxr VHQ as they arrive, keeping only the float32 (2, N) result.

    Nothing at the source rate or channel count outlives its block, so memory depends on the
    duration alone. soxr's stream gives the same samples as a one-shot ``soxr.resample``.
    """

    def __init__(self, rate: int | None, name: str, on_disk: bool = False) -> None:
        self.rate = rate
        self.name = name
        self.stream: soxr.ResampleStream | None = None
        self.channels = 0
        self.out: _Chunks | buffers.DiskRows = buffers.DiskRows(2) if on_disk else _Chunks()

    def __call__(self, block: np.ndarray, rate: int) -> None:
        if not np.isfinite(block).all():
            raise AudioDecodeError(f"{self.name}: the decoded audio contains invalid values")
        block = block.astype(np.float32, copy=False)
        self.channels = block.shape[0]
        if self.rate is not None and rate != self.rate:
            if self.stream is None:
                self.stream = soxr.ResampleStream(
                    rate, self.rate, self.channels, dtype="float32", quality="VHQ"
                )
            block = self.stream.resample_chunk(np.ascontiguousarray(block.T)).T
        self.out.append(block)

    def finish(self) -> np.ndarray:
        """The whole result, float32 (2, N) at ``rate``."""
        if self.stream is not None:
            tail = np.zeros((0, self.channels), dtype=np.float32)
            self.out.append(self.stream.resample_chunk(tail, last=True).T)
            self.stream = None
        return self.out.join()


def decode(
    path: str | os.PathLike[str],
    rate: int | None = TARGET_RATE,
    max_seconds: float | None = None,
    max_rate: int | None = None,
    max_channels: int | None = None,
    on_disk: bool = False,
) -> DecodedAudio:
    """Decode the first audio stream to float32 (2, N) at ``rate`` (``None``: the source's).

    Mono is duplicated to both sides, more than two channels are downmixed with FFmpeg's standard
    matrix, and each block is resampled with soxr (VHQ) as it is decoded: memory is the result
    (10.6 MB a minute at 44.1 kHz) plus bounded buffers, whatever the source's rate or channels.
    ``on_disk``: the result is a disk array (:mod:`demixer.engine.buffers`) written block by
    block, the same samples, and memory stays bounded whatever the length too.
    Raises :class:`AudioTooLargeError` past ``max_seconds``, ``max_rate`` (Hz) or
    ``max_channels`` (``None``: no limit), :class:`AudioDecodeError` for anything that is not
    whole, decodable audio.
    """
    sink = _StreamResampler(rate, Path(path).name, on_disk)
    info = _decode_checked(path, max_seconds, max_rate, max_channels, sink)
    samples = sink.finish()
    return DecodedAudio(samples, rate or info.rate, info.rate, info.channels, info.codec, info.tags)


def validate(
    path: str | os.PathLike[str],
    max_seconds: float | None = None,
    max_rate: int | None = None,
    max_channels: int | None = None,
) -> AudioInfo:
    """Decode the whole file without keeping it: proves it is whole, decodable audio within
    the limits (see :func:`decode`).

    Costs little memory whatever the length (frames are counted, then dropped). Returns the
    measured duration; raises :class:`AudioDecodeError` with a user-facing message.
    """
    return _decode_checked(path, max_seconds, max_rate, max_channels, None)


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


BLOCK = 1 << 18  # samples per block when streaming a stem out


def resampled_blocks(
    blocks: Iterable[np.ndarray], channels: int, from_rate: int, to_rate: int
) -> Iterator[np.ndarray]:
    """float32 (C, n) blocks at ``from_rate`` -> float32 (C, m) blocks at ``to_rate``, streamed
    through one soxr VHQ resampler (the same samples as :func:`resample` on the whole)."""
    if from_rate == to_rate:
        yield from blocks
        return
    stream = soxr.ResampleStream(from_rate, to_rate, channels, dtype="float32", quality="VHQ")
    for block in blocks:
        out = stream.resample_chunk(np.ascontiguousarray(block.T, dtype=np.float32))
        if out.shape[0]:
            yield np.ascontiguousarray(out.T)
    tail = stream.resample_chunk(np.zeros((0, channels), dtype=np.float32), last=True)
    if tail.shape[0]:
        yield np.ascontiguousarray(tail.T)


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
    fmt: str = formats.WAV.name,
    bit_depth: int = 16,
    bitrate_kbps: int | None = None,
    clip: ClipMode = "rescale",
    tags: dict[str, str] | None = None,
    source_rate: int | None = None,
) -> Path:
    """Write float32 (C, N) at ``source_rate`` (default ``rate``) to ``path`` at ``rate``.

    ``fmt`` names a row of :data:`demixer.engine.formats.FORMATS`: a lossless one at
    ``bit_depth`` (one of its ``bit_depths``; 32 is float), a lossy one at ``bitrate_kbps`` CBR
    (default: its ``default_kbps``).
    Written to a temporary name and renamed, so a half-written file never has the real name.
    """
    blocks = _blocks(wav, clip, source_rate or rate, rate)
    return encode_blocks(blocks, path, wav.shape[0], rate, fmt, bit_depth, bitrate_kbps, tags=tags)


def encode_blocks(
    blocks: Iterable[np.ndarray],
    path: str | os.PathLike[str],
    channels: int,
    rate: int = TARGET_RATE,
    fmt: str = formats.WAV.name,
    bit_depth: int = 16,
    bitrate_kbps: int | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write float32 (C, n) blocks at ``rate`` to ``path`` as they come, as :func:`encode` does:
    memory holds one block whatever the length (a mix summed from files, block by block)."""
    spec = formats.get(fmt)  # an unknown name is refused before anything is written
    spec.check_rate(rate)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    try:
        if spec.writer == "soundfile":
            with sf.SoundFile(
                tmp,
                "w",
                samplerate=rate,
                channels=channels,
                subtype=spec.subtype(bit_depth),
                format=spec.container,
            ) as out:
                for key, value in (tags or {}).items():
                    if key in TAG_KEYS:
                        setattr(out, key, value)
                for block in blocks:
                    out.write(block.T)
        else:
            kbps = bitrate_kbps or spec.default_kbps
            encode_with_ffmpeg(
                blocks, channels, tmp, rate, spec.container, spec.codec, tags, bit_rate=kbps * 1000
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


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
    """``m:ss`` with the seconds cut, not rounded: the player's clock counts whole seconds
    gone, so a 25.6 s track reads 0:25 on every page. Cut after rounding to the millisecond,
    so a length measured a hair short (23.9999999 s, float sums) still reads 0:24."""
    minutes, secs = divmod(math.floor(round(max(0.0, seconds), 3)), 60)
    return f"{minutes}:{secs:02d}"
