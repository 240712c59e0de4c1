from __future__ import annotations

import uuid

from django.db import models

from demixer.engine import registry, stems
from demixer.engine.options import DEFAULT_OVERLAP, SeparationOptions
from demixer.jobs.status import ACTIVE as ACTIVE  # the job states: the state machine's
from demixer.jobs.status import Status as Status
from demixer.separation import modes
from demixer.tracks.models import Track


class Quality(models.TextChoices):
    """The engine's qualities (``demixer.engine.registry.QUALITIES``)."""

    DEFAULT = "default", "Best"
    FAST = "fast", "Fast"  # int8 MatMul weights: quicker, stems close to the default's


class Separation(models.Model):
    """One separation job of a track. The row is the truth; the task queue only delivers it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="separations")
    # the options that change the stems: they form the dedup key with the track's content
    model_name = models.CharField(max_length=40, default="htdemucs")
    two_stems = models.CharField(
        max_length=20, blank=True, help_text="empty: every stem; a stem name: it and the rest"
    )
    overlap = models.FloatField(default=0.25)
    shifts = models.PositiveSmallIntegerField(default=0)
    quality = models.CharField(max_length=12, choices=Quality.choices, default=Quality.DEFAULT)

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0, help_text="0..1")
    stage = models.CharField(max_length=40, blank=True)
    eta_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="shown to the user: one readable sentence")
    note = models.CharField(
        max_length=300, blank=True, help_text="shown to the user: how the job ran, where it differs"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # the current claim's id (services.claim_id: the worker process's host:pid and a token of
    # the claim's own), not the queue worker's --worker-name; every write of a running job is
    # conditional on it, so a worker that lost its claim cannot overwrite the new one
    worker_id = models.CharField(max_length=64, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # listen while it separates (see separation/pieces.py): what the current claim published
    ready_seconds = models.FloatField(default=0.0, help_text="seconds of final stems published")
    live = models.JSONField(
        default=dict, blank=True, help_text="the current claim's pieces and peaks so far"
    )

    class Meta:
        ordering = ("-created",)

    def __str__(self) -> str:
        return f"{self.track} ({self.mode_label}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def model_spec(self) -> registry.ModelSpec | None:
        """The registry's entry for the job's model (None for a model this version lacks)."""
        return registry.MODELS.get(self.model_name)

    @property
    def licence_note(self) -> str:
        spec = self.model_spec
        return spec.licence if spec is not None else ""

    @property
    def mode_label(self) -> str:
        spec = self.model_spec
        if self.model_name != registry.DEFAULT_MODEL:
            # the default model's jobs read as before ("4 stems"); others name their model
            title = spec.title if spec is not None else self.model_name
            count = len(spec.sources) if spec is not None else 0
            return f"{title}, {count} stems" if count else title
        if self.two_stems:
            label = f"2 stems ({stems.label(self.two_stems).lower()} / rest)"
        else:
            label = f"{len(registry.get_spec(self.model_name).sources)} stems"
        return f"{label}, fast" if self.quality == Quality.FAST else label

    @property
    def version_label(self) -> str:
        """The model, the stems, the quality (where the model has more than one) and options
        that differ from the defaults, in one line: "htdemucs, 4 stems, best", "Spleeter, 2
        stems". Where two separations of one track are listed together (the library, the
        player's model comparison) this is what tells them apart."""
        spec = self.model_spec
        parts = [spec.title if spec is not None else self.model_name]
        if self.two_stems:
            parts.append(f"2 stems ({stems.label(self.two_stems).lower()} / rest)")
        elif spec is not None:
            parts.append(f"{len(spec.sources)} stems")
        if spec is None or len(spec.qualities) > 1:
            quality = self.quality
            parts.append(Quality(quality).label.lower() if quality in Quality.values else quality)
        if self.overlap != DEFAULT_OVERLAP:
            parts.append(f"overlap {self.overlap:.0%}")
        if self.shifts:
            parts.append(f"{self.shifts} shift{'s' if self.shifts > 1 else ''}")
        return ", ".join(part for part in parts if part)

    @property
    def mode_value(self) -> str:
        """The form value that asks for these stems again (see ``modes``)."""
        return modes.value_of(self.model_name, self.two_stems)

    def engine_options(self) -> SeparationOptions:
        return SeparationOptions(
            model=self.model_name,
            quality=self.quality,
            overlap=self.overlap,
            shifts=self.shifts,
            two_stems=self.two_stems or None,
        )

    def storage_dir(self) -> str:
        return f"separations/{self.track.owner_id}/{self.id}"


class Stem(models.Model):
    """One separated source: lossless master, browser preview, waveform peaks."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    separation = models.ForeignKey(Separation, on_delete=models.CASCADE, related_name="stems")
    name = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    master = models.FileField(max_length=300, help_text="FLAC, 24-bit, 44.1 kHz")
    preview = models.FileField(max_length=300, help_text="MP3 for the browser player")
    peaks = models.JSONField(default=list, help_text="~800 values in 0..1 for the waveform")
    # what the storage quota counts (a bucket would need a request per file to tell)
    size = models.BigIntegerField(default=0, help_text="bytes on storage: master and preview")

    class Meta:
        ordering = ("position",)
        constraints = (
            models.UniqueConstraint(fields=["separation", "name"], name="stem_unique_name"),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return stems.label(self.name)

    @property
    def colour(self) -> str:
        return stems.colour(self.name)


class RenderKind(models.TextChoices):
    STEM = "stem", "Stem"  # one stem converted from its FLAC master
    ZIP = "zip", "Zip"  # every stem converted (the zip itself is streamed from them)
    INSTRUMENTAL = "instrumental", "Instrumental"
    MIX = "mix", "Mix"
    MIDI = "midi", "MIDI"  # one stem's notes (Basic Pitch), a .mid
    CHORDS = "chords", "Chords"  # a label a beat on the harmonic stems, a .lab


class Render(models.Model):
    """A download that needs encoding, rendered by the worker instead of a web request.

    The file lands under the separation's ``cache/`` folder as ``key``, one per (separation,
    kind, parameters), so the same request later is served at once; the row tracks the work
    and goes with its separation (the owner is the separation's track's owner).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    separation = models.ForeignKey(Separation, on_delete=models.CASCADE, related_name="renders")
    kind = models.CharField(max_length=16, choices=RenderKind.choices)
    fmt = models.CharField(max_length=8)
    params = models.JSONField(default=dict, blank=True, help_text="stem name, or gains by stem")
    key = models.CharField(max_length=120, help_text="file name under the separation's cache/")
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0, help_text="0..1")
    error = models.CharField(max_length=300, blank=True, help_text="shown to the user")
    attempts = models.PositiveSmallIntegerField(default=0)
    worker_id = models.CharField(max_length=64, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created",)
        constraints = (
            models.UniqueConstraint(fields=["separation", "key"], name="render_unique_key"),
        )

    def __str__(self) -> str:
        return f"{self.separation_id}/{self.key} ({self.status})"

    def storage_name(self) -> str:
        return f"{self.separation.storage_dir()}/cache/{self.key}"
