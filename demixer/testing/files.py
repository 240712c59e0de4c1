"""Write generated audio in every input format the product accepts (for tests and benches)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

# name -> (file suffix, how it is written)
INPUT_FORMATS: dict[str, str] = {
    "wav16": ".wav",
    "wav24": ".wav",
    "wavfloat": ".wav",
    "flac": ".flac",
    "aiff": ".aiff",
    "mp3": ".mp3",
    "ogg": ".ogg",  # vorbis
    "opus": ".opus",
    "m4a": ".m4a",  # aac
    "webm": ".webm",  # opus in webm
}

_SOUNDFILE = {
    "wav16": ("WAV", "PCM_16"),
    "wav24": ("WAV", "PCM_24"),
    "wavfloat": ("WAV", "FLOAT"),
    "flac": ("FLAC", "PCM_16"),
    "aiff": ("AIFF", "PCM_16"),
}
_PYAV = {  # container, codec, sample format, forced rate
    "mp3": ("mp3", "libmp3lame", "fltp", None),
    "ogg": ("ogg", "libvorbis", "fltp", None),
    "opus": ("ogg", "libopus", "flt", 48000),
    "m4a": ("mp4", "aac", "fltp", None),
    "webm": ("webm", "libopus", "flt", 48000),
}


def write_audio(
    path: Path, samples: np.ndarray, rate: int, kind: str, tags: dict[str, str] | None = None
) -> Path:
    """Write float32 (C, N) as ``kind`` (a key of :data:`INPUT_FORMATS`) to ``path``."""
    if kind in _SOUNDFILE:
        fmt, subtype = _SOUNDFILE[kind]
        with sf.SoundFile(
            path, "w", samplerate=rate, channels=samples.shape[0], format=fmt, subtype=subtype
        ) as out:
            for key, value in (tags or {}).items():
                setattr(out, key, value)
            out.write(samples.T)
        return path
    container_fmt, codec, sample_fmt, forced_rate = _PYAV[kind]
    if forced_rate and forced_rate != rate:
        import soxr

        samples = soxr.resample(samples.T, rate, forced_rate).T.astype(np.float32)
        rate = forced_rate
    layout = "stereo" if samples.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=container_fmt) as container:
        for key, value in (tags or {}).items():
            container.metadata[key] = value
        if codec == "libvorbis" and codec not in av.codecs_available:
            codec = "vorbis"
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        stream.time_base = Fraction(1, rate)
        block = 4096
        pts = 0
        for start in range(0, samples.shape[-1], block):
            part = np.ascontiguousarray(samples[:, start : start + block], dtype=np.float32)
            data = part if sample_fmt == "fltp" else part.T.reshape(1, -1).copy()
            frame = av.AudioFrame.from_ndarray(data, format=sample_fmt, layout=layout)
            frame.sample_rate = rate
            frame.pts = pts
            pts += part.shape[-1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
