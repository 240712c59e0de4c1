"""The API's JSON shapes (pydantic, so the OpenAPI document states them) and the one place
that turns rows into them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from django.urls import reverse
from ninja import Field, Schema
from pydantic import ModelWrapValidatorHandler, model_validator
from pydantic_core import PydanticCustomError

from demixer.api.errors import ApiError
from demixer.engine import formats
from demixer.exports import conversions, render_jobs
from demixer.separation import modes, pieces, queue
from demixer.separation.models import Render, Separation, Status
from demixer.tracks.models import Track

# the upload form's choices (a model, and all its stems or two): "4", "2", "spleeter", ...; and
# the output formats (demixer.engine.formats): enums in the OpenAPI document, from their tables
if TYPE_CHECKING:
    Mode = str  # the registry's choices, known only at run time
    Format = str
else:
    Mode = Literal[tuple(mode.value for mode in modes.BUILT_IN)]  # imported: by `model`
    Format = Literal[formats.NAMES]
QualityName = Literal["default", "fast"]


class Error(Schema):
    code: str
    message: str


class TrackOut(Schema):
    id: str
    title: str
    artist: str  # from the file's tags; "" when it had none
    duration: float
    sample_rate: int
    channels: int
    size: int
    created: datetime
    url: str
    # estimated by the worker after the first separation; null / "" until then
    bpm: float | None
    key: str
    # how well the key fits (-1..1); "key_alternative" is the relative key ("C major" beside
    # "A minor") when the two fit nearly alike: major/minor uncertain
    key_confidence: float | None
    key_alternative: str


class StemOut(Schema):
    name: str
    label: str
    downloads: dict[str, str]
    midi: str = Field(description="the stem's notes as a .mid (made by the worker)")


class ChordsLinks(Schema):
    lab: str = Field(description="the chords as .lab text: 'start end label' a line (seconds)")
    json_url: str = Field(description="the same as JSON: {chords: [{start, end, label}]}")


class ChordOut(Schema):
    start: float  # seconds
    end: float
    label: str  # Harte's syntax, as .lab files write it: "C:maj", "A:min7", "G:7"; "N": none


class ChordsOut(Schema):
    chords: list[ChordOut]


class PieceOut(Schema):
    index: int
    start: int  # in samples at ``rate``
    end: int
    url: str  # raw float32 little-endian, planar: each stem in ``stems`` order, each channel


class ReadyOut(Schema):
    """What a running job has published so far (listen while it separates)."""

    claim: str  # changes when another worker starts the job over: earlier pieces are void
    rate: int
    channels: int
    total_seconds: float
    ready_seconds: float
    opens_player: bool  # more than a few seconds left to separate: worth listening already
    stems: list[str]
    pieces: list[PieceOut]
    stretches: list[PieceOut] = Field(
        deprecated=True, description="Deprecated: the same list as ``pieces``, by its old name."
    )
    peaks: dict[str, list[float]]  # 800 per stem over the whole track, 0 where not ready


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
    ready: ReadyOut | None = None
    stems: list[StemOut] | None = None
    zip: str | None = None
    instrumental: dict[str, str] | None = None
    mix: str | None = None
    chords: ChordsLinks | None = None


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


class JsonObject(Schema):
    """A request body the schema describes as an object. ninja's Schema reads its fields off
    any value (as off a model instance), so a list, a number or null would pass as an object
    with every field at its default: refuse anything but an object."""

    @model_validator(mode="wrap")
    @classmethod
    def _an_object(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(data, dict | JsonObject):
            raise PydanticCustomError("not_an_object", "The body must be a JSON object.")
        return handler(data)


class SeparateIn(JsonObject):
    """The upload form's options. ``model`` alone picks that model with all its stems; with
    ``mode`` it must be the mode's model."""

    mode: Mode | None = None
    quality: QualityName = "default"
    model: str | None = None


def _rates_text() -> str:
    stored, *others = conversions.download_rates(0)
    limits = [f"{f.name}: {max(f.rates)} at most" for f in formats.FORMATS.values() if f.rates]
    return (
        f"{stored} (the stems' own, the default), {', '.join(map(str, others))}, "
        f"or the track's own sample_rate ({'; '.join(limits)}); any other is a 400 "
        "(invalid_option)."
    )


def _depths_text() -> str:
    def depth(bits: int) -> str:
        return f"{bits} (float)" if bits == 32 else str(bits)

    each = [
        f"{f.name}: {', '.join(map(depth, f.bit_depths))}"
        for f in formats.FORMATS.values()
        if f.bit_depths
    ]
    lossy = [f.name for f in formats.FORMATS.values() if not f.bit_depths]
    return (
        f"Bits per sample of a lossless file ({'; '.join(each)}), "
        f"{conversions.DOWNLOAD_BIT_DEPTH} by default. "
        f"Not for {' or '.join(lossy)} (it has a bitrate)."
    )


class DownloadOptions(JsonObject):
    """A converted file's sample rate and bit depth (both optional: the defaults are the
    stems' own rate and 24 bits). Each setting is a file of its own, made once."""

    rate: int | None = Field(
        None,
        description=f"Sample rate in Hz: {_rates_text()}",
        ge=1,
        le=1_000_000,
    )
    bit_depth: int | None = Field(
        None,
        description=_depths_text(),
        json_schema_extra={"enum": list(formats.BIT_DEPTHS)},
    )


class MixIn(DownloadOptions):
    format: Format = formats.WAV.name
    gains: dict[str, float] = Field(default_factory=dict, description="stem -> 0..2 (1)")
    pans: dict[str, float] = Field(
        default_factory=dict, description="stem -> -1 (left) .. 1 (right); 0, the centre"
    )
    tempo: float = Field(1.0, description="0.5..1.5: the speed, the pitch kept")
    pitch: float = Field(0.0, description="semitones, -6..6: the pitch, the tempo kept")


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
    wanted = [m for m in modes.all_modes() if m.model == options.model]
    if options.mode is not None:
        wanted = [m for m in wanted if m.value == options.mode]
    if not wanted:
        known = ", ".join(sorted({m.model for m in modes.all_modes()}))
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
        "artist": track.artist,
        "duration": track.duration,
        "sample_rate": track.sample_rate,
        "channels": track.channels,
        "size": track.size,
        "created": track.created,
        "url": reverse("api:track", args=[track.id]),
        "bpm": track.bpm,
        "key": track.key,
        "key_confidence": track.key_confidence,
        "key_alternative": track.key_alternative,
    }


def ready_out(job: Separation) -> dict[str, object] | None:
    """What a running job has published, as the API shows it: the list of pieces also under
    its old name ``stretches``, so clients written before the rename keep working."""
    ready = pieces.ready_payload(job, "api:piece")
    if ready is not None:
        ready["stretches"] = ready["pieces"]
    return ready


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
        "ready": ready_out(job),
    }
    if job.status == Status.DONE:
        stems = list(job.stems.all())
        names = {stem.name for stem in stems}
        data["stems"] = [
            {
                "name": stem.name,
                "label": stem.label,
                "downloads": {
                    fmt: reverse("api:stem", args=[job.id, stem.name, fmt]) for fmt in formats.NAMES
                },
                "midi": reverse("api:midi", args=[job.id, stem.name]),
            }
            for stem in stems
        ]
        data["zip"] = reverse("api:zip", args=[job.id])
        if "vocals" in names and len(names) > 1:
            data["instrumental"] = {
                fmt: reverse("api:instrumental", args=[job.id, fmt]) for fmt in formats.NAMES
            }
        data["mix"] = reverse("api:mix", args=[job.id])
        data["chords"] = {
            "lab": reverse("api:chords-lab", args=[job.id]),
            "json_url": reverse("api:chords", args=[job.id]),
        }
    return data


def render_out(render: Render) -> dict[str, object]:
    return render_jobs.payload(render, status_view="api:render", file_view="api:render-file")
