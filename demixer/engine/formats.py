"""The output formats demixer writes: one row per format, read by the encoder, the CLI, the web
pages, the downloads and the API (adding a format is adding a row, and a writer if it needs one).

Imports nothing heavy (no numpy, PyAV or onnxruntime): a web process reads it to name its
choices, URLs and Content-Types without loading the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from demixer.engine.errors import AudioEncodeError

# "soundfile": libsndfile writes PCM/float subtypes; "ffmpeg": one of FFmpeg's encoders via PyAV
Writer = Literal["soundfile", "ffmpeg"]


class UnknownFormat(AudioEncodeError):
    """A format name that is not in :data:`FORMATS`, or a bit depth the format lacks (bad
    input, said in one line)."""


@dataclass(frozen=True)
class OutputFormat:
    """One output format: how it is named, served and encoded."""

    name: str  # what the CLI, the forms, the URLs and the API call it; also the extension
    label: str  # for people ("MP3")
    mime: str  # the Content-Type it is served with
    lossless: bool
    writer: Writer
    container: str  # libsndfile's major format, or FFmpeg's muxer
    codec: str = ""  # FFmpeg's encoder (writer "ffmpeg")
    # bit depth -> libsndfile subtype (writer "soundfile"); 32 is float
    subtypes: tuple[tuple[int, str], ...] = ()
    default_kbps: int = 0  # lossy: the bitrate when none is asked for (constant bitrate)
    rates: tuple[int, ...] = ()  # the sample rates its encoder takes; empty: any

    def takes_rate(self, rate: int) -> bool:
        return not self.rates or rate in self.rates

    def check_rate(self, rate: int) -> None:
        """An :class:`UnknownFormat` if the encoder cannot write ``rate`` Hz (bad input)."""
        if not self.takes_rate(rate):
            top = max(self.rates)
            raise UnknownFormat(
                f"{self.name} cannot be written at {rate} Hz (at most {top} Hz); "
                f"choose a lower rate or another format"
            )

    @property
    def extension(self) -> str:
        return f".{self.name}"

    @property
    def bit_depths(self) -> tuple[int, ...]:
        """The bit depths it can be written at (none for a lossy format: it has a bitrate)."""
        return tuple(depth for depth, _ in self.subtypes)

    def subtype(self, bit_depth: int) -> str:
        """libsndfile's subtype for ``bit_depth``; an :class:`UnknownFormat` if it has none."""
        for depth, subtype in self.subtypes:
            if depth == bit_depth:
                return subtype
        depths = " or ".join(str(d) for d in self.bit_depths)
        raise UnknownFormat(
            f"{self.name} does not support {bit_depth}-bit output ({depths} bits only)"
        )


WAV = OutputFormat(
    name="wav",
    label="WAV",
    mime="audio/wav",
    lossless=True,
    writer="soundfile",
    container="WAV",
    subtypes=((16, "PCM_16"), (24, "PCM_24"), (32, "FLOAT")),
)
FLAC = OutputFormat(
    name="flac",
    label="FLAC",
    mime="audio/flac",
    lossless=True,
    writer="soundfile",
    container="FLAC",
    subtypes=((16, "PCM_16"), (24, "PCM_24")),
)
MP3 = OutputFormat(
    name="mp3",
    label="MP3",
    mime="audio/mpeg",
    lossless=False,
    writer="ffmpeg",
    container="mp3",
    codec="libmp3lame",
    default_kbps=320,
    # MPEG-1, 2 and 2.5 layer III: nothing above 48 kHz
    rates=(8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
)

FORMATS: dict[str, OutputFormat] = {fmt.name: fmt for fmt in (WAV, FLAC, MP3)}
NAMES: tuple[str, ...] = tuple(FORMATS)
BIT_DEPTHS: tuple[int, ...] = tuple(sorted({d for fmt in FORMATS.values() for d in fmt.bit_depths}))
ZIP_MIME = "application/zip"


def get(name: str) -> OutputFormat:
    """The format called ``name``; an :class:`UnknownFormat` naming the known ones otherwise."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"unknown output format {name!r}; use {names_text()}") from None


def names_text() -> str:
    """'wav, flac or mp3': the formats in a sentence."""
    *rest, last = NAMES
    return f"{', '.join(rest)} or {last}" if rest else last


def mime_types() -> dict[str, str]:
    """Extension ('.mp3') -> Content-Type, for every format."""
    return {fmt.extension: fmt.mime for fmt in FORMATS.values()}
