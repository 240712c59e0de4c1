"""Write generated audio in every input format the product accepts (for tests and benches)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile as sf

from demixer.engine import audio

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
_PYAV = {  # container, codec, the rate the codec insists on
    "mp3": ("mp3", "libmp3lame", None),
    "ogg": ("ogg", "libvorbis", None),
    "opus": ("ogg", "libopus", 48000),
    "m4a": ("mp4", "aac", None),
    "webm": ("webm", "libopus", 48000),
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
    container_fmt, codec, forced_rate = _PYAV[kind]
    if forced_rate and forced_rate != rate:
        samples = audio.resample(samples, rate, forced_rate)
        rate = forced_rate
    options = None
    if codec == "libvorbis" and codec not in av.codecs_available:
        codec, options = "vorbis", {"strict": "experimental"}
    blocks = (samples[:, i : i + 4096] for i in range(0, samples.shape[-1], 4096))
    audio.encode_with_ffmpeg(
        blocks, samples.shape[0], path, rate, container_fmt, codec, tags, options=options
    )
    return path
