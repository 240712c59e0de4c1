from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models

from demixer.engine import formats
from demixer.engine.audio import duration_text

# FFmpeg's name of the container (as probing the upload reports it) -> the type the original is
# served with; all of them are types the player decodes. Anything else: application/octet-stream.
AUDIO_TYPES = {
    **{fmt.name: fmt.mime for fmt in formats.FORMATS.values()},  # WAV, FLAC, MP3: FFmpeg's names
    "ogg": "audio/ogg",
    "aiff": "audio/aiff",
    "aac": "audio/aac",
    "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4",
    "matroska,webm": "audio/webm",
}
OCTET_STREAM = "application/octet-stream"
SUFFIXES = {kind: f".{kind.split('/')[1]}" for kind in AUDIO_TYPES.values()} | {
    **{fmt.mime: fmt.extension for fmt in formats.FORMATS.values()},
    "audio/mp4": ".m4a",
}
# the suffixes an original keeps on storage; any other (".html", ".svg") is dropped
AUDIO_SUFFIXES = frozenset(
    {fmt.extension for fmt in formats.FORMATS.values()}
    | {".wave", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aac"}
    | {".m4a", ".mp4", ".webm", ".mka", ".wma"}
)


def audio_type(container: str) -> str:
    """The Content-Type of an original whose probe found ``container``."""
    return AUDIO_TYPES.get(container, OCTET_STREAM)


def original_path(track: Track, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    if suffix not in AUDIO_SUFFIXES:
        suffix = ""
    return f"tracks/{track.owner_id}/{track.id}/original{suffix}"


class Track(models.Model):
    """An uploaded original: its file on storage, content hash and decoded metadata."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracks"
    )
    title = models.CharField(max_length=200)
    # from the file's tags when it has them (blank otherwise); shown as "Artist – Title"
    artist = models.CharField(max_length=200, blank=True)
    original = models.FileField(upload_to=original_path, max_length=300)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    duration = models.FloatField(help_text="seconds, measured by decoding")
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    codec = models.CharField(max_length=40, blank=True)
    # measured at upload from the file's content (AUDIO_TYPES), never from its name: what the
    # original is served as; blank for tracks uploaded before it was measured (octet-stream)
    content_type = models.CharField(max_length=40, blank=True)
    # estimated by the worker after the track's first separation (demixer.engine.analysis);
    # bpm stays null until then, key stays blank when nothing fits a key
    bpm = models.FloatField(null=True, blank=True)
    key = models.CharField(max_length=12, blank=True)
    # how well the key fits (profile correlation, -1..1; null before the analysis), and the
    # relative key when the two fit nearly alike: shown as "major/minor uncertain"
    key_confidence = models.FloatField(null=True, blank=True)
    key_alternative = models.CharField(max_length=12, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created",)
        constraints = (
            # the same content is stored once per user; re-uploads reuse it
            models.UniqueConstraint(fields=["owner", "sha256"], name="track_unique_content"),
        )

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """What pages show: "Artist – Title", or the title alone when no artist is known."""
        return f"{self.artist} – {self.title}" if self.artist else self.title

    @property
    def download_title(self) -> str:
        """How download names begin ("Artist - Title (drums).wav"): a plain hyphen for files."""
        return f"{self.artist} - {self.title}" if self.artist else self.title

    @property
    def served_type(self) -> str:
        return self.content_type if self.content_type in AUDIO_TYPES.values() else OCTET_STREAM

    @property
    def served_filename(self) -> str:
        """The name the original is offered under: the uploaded one, but with the measured
        type's suffix when its own is not an audio file's (``evil.html`` -> ``evil.wav``)."""
        name = PurePosixPath(self.original_name or PurePosixPath(self.original.name or "").name)
        if name.suffix.lower() in AUDIO_SUFFIXES:
            return name.name
        return f"{name.stem or 'original'}{SUFFIXES.get(self.served_type, '.bin')}"

    @property
    def duration_text(self) -> str:
        return duration_text(self.duration)

    @property
    def musical_text(self) -> str:
        """ "A minor · 120 BPM" for the library and the player ("A minor / C major (major/minor
        uncertain) · 120 BPM" when the mode is in doubt); blank before the analysis."""
        if self.bpm is None:
            return ""
        bpm = f"{self.bpm:.0f} BPM"
        if self.key and self.key_alternative:
            return f"{self.key} / {self.key_alternative} (major/minor uncertain) · {bpm}"
        return f"{self.key} · {bpm}" if self.key else bpm
