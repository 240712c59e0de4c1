"""The API's JSON shapes (pydantic, so the OpenAPI document states them) and the one place
that turns rows into them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from django.urls import reverse
from ninja import Field, Schema

from demixer.api.errors import ApiError
from demixer.separation import modes, queue, renders
from demixer.separation.models import Render, Separation, Status
from demixer.tracks.models import Track

Format = Literal["wav", "flac", "mp3"]
# the upload form's choices (a model, and all its stems or two): "4", "2", "spleeter", ...
if TYPE_CHECKING:
    Mode = str  # the registry's choices, known only at run time
else:
    Mode = Literal[tuple(mode.value for mode in modes.MODES)]
QualityName = Literal["default", "fast"]


class Error(Schema):
    code: str
    message: str


class TrackOut(Schema):
    id: str
    title: str
    duration: float
    sample_rate: int
    channels: int
    size: int
    created: datetime
    url: str


class StemOut(Schema):
    name: str
    label: str
    downloads: dict[str, str]


class SeparationOut(Schema):
    id: str
    status: str
    status_label: str
    progress: float
    percent: int
    stage: str
    eta_seconds: int | None
    queue_position: int | None
    wait_seconds: int | None
    error: str
    note: str
    url: str
    page: str
    track: TrackOut
    model: str
    mode: str
    two_stems: str | None
    quality: str
    created: datetime
    finished: datetime | None
    stems: list[StemOut] | None = None
    zip: str | None = None
    instrumental: dict[str, str] | None = None
    mix: str | None = None


class CancelOut(SeparationOut):
    cancelled: bool


class StartOut(Schema):
    reused: bool
    separation: SeparationOut


class TrackPage(Schema):
    tracks: list[TrackOut]
    next_cursor: str | None


class SeparationPage(Schema):
    separations: list[SeparationOut]
    next_cursor: str | None


class SeparateIn(Schema):
    """The upload form's options. ``model`` alone picks that model with all its stems; with
    ``mode`` it must be the mode's model."""

    mode: Mode | None = None
    quality: QualityName = "default"
    model: str | None = None


class MixIn(Schema):
    format: Format = "wav"
    gains: dict[str, float] = Field(default_factory=dict)


class RenderOut(Schema):
    id: str
    status: str
    progress: float
    percent: int
    error: str
    status_url: str
    download_url: str


def mode_of(options: SeparateIn) -> modes.Mode:
    """The form's mode these options name; an :class:`ApiError` if they disagree."""
    if options.model is None:
        return modes.by_value(options.mode)
    wanted = [m for m in modes.MODES if m.model == options.model]
    if options.mode is not None:
        wanted = [m for m in wanted if m.value == options.mode]
    if not wanted:
        known = ", ".join(sorted({m.model for m in modes.MODES}))
        raise ApiError(
            400,
            "invalid_options",
            f"model {options.model!r} does not go with mode {options.mode!r} (models: {known}).",
        )
    return wanted[0]


def track_out(track: Track) -> dict[str, object]:
    return {
        "id": str(track.id),
        "title": track.title,
        "duration": track.duration,
        "sample_rate": track.sample_rate,
        "channels": track.channels,
        "size": track.size,
        "created": track.created,
        "url": reverse("api:track", args=[track.id]),
    }


def separation_out(job: Separation) -> dict[str, object]:
    """A job as the API shows it: where it is (progress, queue position, wait estimate) and,
    once done, where its files are."""
    data: dict[str, object] = {
        **queue.job_status(job),
        "url": reverse("api:separation", args=[job.id]),
        "page": reverse("separation-detail", args=[job.id]),
        "track": track_out(job.track),
        "model": job.model_name,
        "mode": modes.value_of(job.model_name, job.two_stems),
        "two_stems": job.two_stems or None,
        "quality": job.quality,
        "created": job.created,
        "finished": job.finished,
    }
    if job.status == Status.DONE:
        stems = list(job.stems.all())
        names = {stem.name for stem in stems}
        data["stems"] = [
            {
                "name": stem.name,
                "label": stem.label,
                "downloads": {
                    fmt: reverse("api:stem", args=[job.id, stem.name, fmt])
                    for fmt in ("flac", "wav", "mp3")
                },
            }
            for stem in stems
        ]
        data["zip"] = reverse("api:zip", args=[job.id])
        if "vocals" in names and len(names) > 1:
            data["instrumental"] = {
                fmt: reverse("api:instrumental", args=[job.id, fmt])
                for fmt in ("flac", "wav", "mp3")
            }
        data["mix"] = reverse("api:mix", args=[job.id])
    return data


def render_out(render: Render) -> dict[str, object]:
    return renders.payload(render, status_view="api:render", file_view="api:render-file")
