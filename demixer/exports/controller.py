"""What a download request gets, decided once for the site and the API: check the options, find
(or start) the render, then the file if it is there, else the render to report on.

Each function returns an :data:`Outcome`: a :class:`StoredFile` or :class:`Zip` to serve as it is
(``respond`` does that for both adapters), or the :class:`Render` still on its way (or failed),
whose status each adapter answers in its own words (a page or JSON; ``views`` and
``demixer.api.downloads``). A bad option raises :class:`~demixer.exports.options.BadOption`,
a file this separation cannot have :class:`Unavailable`, a separation without stems
:class:`NotDone` (both 404s unless the adapter says otherwise).

Every query filters by the owner: another user's separation or render is a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from demixer.engine import formats
from demixer.engine.analysis.chords import from_lab
from demixer.exports import render_jobs
from demixer.exports.options import download_options, mix_params
from demixer.separation import files
from demixer.separation.masters import MASTER
from demixer.separation.models import Render, RenderKind, Separation, Status, Stem

MIDI, CHORDS = "mid", "lab"  # the analyses' file types, beside the audio formats
TYPES = {MIDI: "audio/midi", CHORDS: "text/plain; charset=utf-8"}
PART = {RenderKind.INSTRUMENTAL: "Instrumental", RenderKind.MIX: "mix", RenderKind.CHORDS: "chords"}


class NotDone(Http404):
    """The separation has no stems (yet): nothing to download."""


class Unavailable(Http404):
    """A file this separation cannot have; ``code`` names it for the API."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StoredFile:
    name: str  # on storage
    filename: str  # what the browser saves it as
    content_type: str | None = None  # None: by its name's extension (our formats only)
    attachment: bool = True


@dataclass(frozen=True)
class Zip:
    members: dict[str, str]  # name in the zip: name on storage
    filename: str


Outcome = StoredFile | Zip | Render


def find_done(user: Any, separation_id: object) -> Separation:
    """The user's separation, with its stems made; another user's is a 404."""
    job = get_object_or_404(
        Separation.objects.select_related("track"), id=separation_id, track__owner=user
    )
    if job.status != Status.DONE:
        raise NotDone(f"This separation is {job.status}: it has no stems.")
    return job


def find_render(user: Any, render_id: object) -> Render:
    return get_object_or_404(
        Render.objects.select_related("separation__track"),
        id=render_id,
        separation__track__owner=user,
    )


def download_name(job: Separation, part: str, fmt: str) -> str:
    """``Artist - Title (drums).wav``: what a person would call the file."""
    return files.download_filename(job.track.download_title, part.lower(), fmt)


def filename(item: Render) -> str:
    job = item.separation
    if item.kind == RenderKind.ZIP:
        return download_name(job, "stems", "zip")
    if item.kind in (RenderKind.STEM, RenderKind.MIDI):
        stem = job.stems.filter(name=item.params.get("stem")).first()
        part = stem.label if stem is not None else str(item.params.get("stem"))
    elif item.kind == RenderKind.MIX:
        part = mix_part(item.params, {stem.name: stem.label for stem in job.stems.all()})
    else:
        part = PART[RenderKind(item.kind)]
    return download_name(job, part, item.fmt)


def mix_part(params: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """What a custom mix changed, for its file's name: "mix, no vocals, 90% tempo" (the
    render's ``mix_params``; ``labels``: stem name -> label, in the stems' order)."""
    gains: Mapping[str, float] = params.get("gains", {})
    pans: Mapping[str, float] = params.get("pans", {})
    heard = [name for name in labels if gains.get(name, 1.0) > 0]
    changes = []
    if len(heard) == 1 and len(labels) > 2:
        changes.append(f"only {labels[heard[0]]}")  # not five "no ..." in a row
    else:
        changes += [f"no {labels[name]}" for name in labels if gains.get(name, 1.0) == 0]
    for name in heard:
        if (gain := gains.get(name, 1.0)) != 1.0 and len(heard) > 1:
            changes.append(f"{labels[name]} {gain * 100:.0f}%")
        if pan := pans.get(name, 0.0):
            changes.append(f"{labels[name]} {abs(pan) * 100:.0f}% {'left' if pan < 0 else 'right'}")
    if (tempo := float(params.get("tempo", 1.0))) != 1.0:
        changes.append(f"{tempo * 100:.0f}% tempo")
    if pitch := float(params.get("pitch", 0.0)):
        changes.append(f"{pitch:+g} semitone{'' if abs(pitch) == 1 else 's'}")
    return ", ".join(["mix", *changes])


def _format(fmt: str) -> str:
    if fmt not in formats.FORMATS:
        raise Http404("unknown format")
    return fmt


def _rendered(
    job: Separation, kind: str, fmt: str, params: dict[str, object], file: bool
) -> Outcome:
    """The rendered file if it is there and ``file`` is wanted, else its render (started)."""
    item = render_jobs.request(job, kind, fmt, params)
    if file and (item.status == Status.DONE or render_jobs.is_ready(item)):
        return served(item)
    return item


def served(item: Render) -> StoredFile | Zip:
    """A rendered file as it is served."""
    if item.kind == RenderKind.ZIP:
        members = render_jobs.zip_members(
            item.separation,
            item.fmt,
            lambda label, fmt: download_name(item.separation, label, fmt),
            item.params,
        )
        return Zip(members, filename(item))
    return StoredFile(item.storage_name(), filename(item), TYPES.get(item.fmt))


def stem(
    job: Separation, name: str, fmt: str, rate: object, bit_depth: object, file: bool = True
) -> Outcome:
    """One stem: the FLAC master as stored, any other format or setting rendered."""
    found = get_object_or_404(Stem, separation=job, name=name)
    options = download_options(job, _format(fmt), rate, bit_depth)
    if fmt == MASTER.name and not options:
        return StoredFile(files.name_of(found.master), download_name(job, found.label, fmt))
    return _rendered(job, RenderKind.STEM, fmt, {"stem": name, **options}, file)


def instrumental(
    job: Separation, fmt: str, rate: object, bit_depth: object, file: bool = True
) -> Outcome:
    """Everything but the vocals, as one file."""
    _format(fmt)
    names = set(job.stems.values_list("name", flat=True))
    if "vocals" not in names or len(names) < 2:
        raise Unavailable("This separation has no vocals stem to leave out.", "no_instrumental")
    options = download_options(job, fmt, rate, bit_depth)
    return _rendered(job, RenderKind.INSTRUMENTAL, fmt, {**options}, file)


def stems_zip(
    job: Separation, fmt: str, rate: object, bit_depth: object, file: bool = True
) -> Outcome:
    """All stems in one zip: the masters streamed as they are, or their conversions."""
    options = download_options(job, _format(fmt), rate, bit_depth)
    if fmt == MASTER.name and not options:
        members = render_jobs.zip_members(
            job, fmt, lambda label, ext: download_name(job, label, ext)
        )
        return Zip(members, download_name(job, "stems", "zip"))
    return _rendered(job, RenderKind.ZIP, fmt, {**options}, file)


@dataclass(frozen=True)
class MixSetting:
    """A custom mix as the player sets it (see :func:`~demixer.exports.options.mix_params`)."""

    gains: dict[str, float]
    pans: dict[str, float]
    tempo: float = 1.0
    pitch: float = 0.0


def mix(
    job: Separation,
    fmt: str,
    setting: MixSetting,
    rate: object,
    bit_depth: object,
    file: bool = True,
) -> Outcome:
    """The stems mixed as the player mixes them."""
    options = download_options(job, fmt, rate, bit_depth)
    names = list(job.stems.values_list("name", flat=True))
    params = mix_params(names, setting.gains, setting.pans, setting.tempo, setting.pitch)
    return _rendered(job, RenderKind.MIX, fmt, {**params, **options}, file)


def midi(job: Separation, name: str, file: bool = True) -> Outcome:
    """One stem's notes as a MIDI file (Basic Pitch, at the track's tempo)."""
    get_object_or_404(Stem, separation=job, name=name)
    return _rendered(job, RenderKind.MIDI, MIDI, {"stem": name}, file)


def chords(job: Separation, file: bool = True) -> Outcome:
    """The chords, a label a beat, as a ``.lab`` text file."""
    return _rendered(job, RenderKind.CHORDS, CHORDS, {}, file)


def chord_list(outcome: StoredFile) -> list[dict[str, object]]:
    """The chords of a made ``.lab`` as ``{"start", "end", "label"}`` (seconds)."""
    with files.default_storage.open(outcome.name, "rb") as fh:
        text = fh.read().decode()
    return [{"start": c.start, "end": c.end, "label": c.label} for c in from_lab(text)]


def render_file(item: Render) -> Outcome:
    """A render's file once it is there; until then the render (queued again if its worker
    died meanwhile)."""
    if item.status == Status.DONE and render_jobs.is_ready(item):
        return served(item)
    render_jobs.revive(item, retry_failed=False)
    return item


def render_status(item: Render) -> Render:
    """The render, queued again first if its worker died meanwhile."""
    render_jobs.revive(item, retry_failed=False)
    return item


def polled(response: HttpResponse, status_url: str | None) -> HttpResponse:
    """A render's status, never cached; while it is on its way (``status_url``), where to poll
    and how soon."""
    if status_url is not None:
        response["Location"] = status_url
        response["Retry-After"] = "1"
    response["Cache-Control"] = "no-store"
    return response


def respond(request: HttpRequest, outcome: StoredFile | Zip) -> HttpResponseBase:
    """A file to serve, as a response (Range and conditional GET; the zip streamed)."""
    if isinstance(outcome, Zip):
        return files.serve_zip(outcome.members, outcome.filename)
    return files.serve(
        request,
        outcome.name,
        outcome.filename,
        attachment=outcome.attachment,
        content_type=outcome.content_type,
    )
