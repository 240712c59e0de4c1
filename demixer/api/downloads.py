"""Files: a stem in a chosen format, the zip, the instrumental, a mix, a stem's MIDI and the
chords; Range on files.

The same decisions as the site's (:mod:`demixer.exports.controller`), answered in the API's
words: FLAC masters and their zip are served at once; anything the worker makes is answered 202
with ``Location`` and a status URL until the file is there, then served from its cache; a failed
render is a 409. Every audio file but the master takes an optional ``rate`` and ``bit_depth``
(``DownloadOptions``); a value not offered is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from ninja import Query, Router

from demixer.api.errors import ApiError
from demixer.api.schemas import (
    ChordsOut,
    DownloadOptions,
    Error,
    Format,
    MixIn,
    RenderOut,
    render_out,
)
from demixer.api.separations import ERRORS
from demixer.exports import controller
from demixer.exports.controller import NotDone, Outcome, StoredFile, Unavailable
from demixer.exports.options import BadOption
from demixer.separation.masters import MASTER
from demixer.separation.models import Render, Separation, Status

router = Router(tags=["downloads"])
FILE = {200: None, 202: RenderOut, 206: None, 304: None, 409: Error, 416: None, **ERRORS}


def _done(request: HttpRequest, separation_id: UUID) -> Separation:
    try:
        return controller.find_done(request.user, separation_id)
    except NotDone as exc:
        raise ApiError(409, "not_done", str(exc)) from None


def _pending(item: Render) -> HttpResponse:
    """Where a render is: 202 with where to poll while it is made; 409 if it failed."""
    if item.status == Status.FAILED:
        raise ApiError(409, "render_failed", item.error or "This file could not be made.")
    data = render_out(item)
    return controller.polled(JsonResponse(data, status=202), str(data["status_url"]))


def _answer(request: HttpRequest, decide: Callable[[], Outcome]) -> HttpResponseBase:
    """The file, or 202 while it is made; what is wrong with the request as an API error."""
    try:
        outcome = decide()
    except BadOption as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    except Unavailable as exc:
        raise ApiError(404, exc.code, str(exc)) from None
    if isinstance(outcome, Render):
        return _pending(outcome)
    return controller.respond(request, outcome)


@router.get(
    "/separations/{uuid:separation_id}/stems/{slug:name}.{slug:fmt}", response=FILE, url_name="stem"
)
def stem(
    request: HttpRequest,
    separation_id: UUID,
    name: str,
    fmt: Format,
    query: Query[DownloadOptions],
) -> HttpResponseBase:
    """One stem: ``flac`` is the lossless master (Range, ETag); the other formats, and any
    ``rate`` or ``bit_depth`` but the master's, are made by the worker (202 until then)."""
    job = _done(request, separation_id)
    return _answer(request, lambda: controller.stem(job, name, fmt, query.rate, query.bit_depth))


class ZipQuery(DownloadOptions):
    format: Format = MASTER.name


@router.get("/separations/{uuid:separation_id}/stems.zip", response=FILE, url_name="zip")
def stems_zip(
    request: HttpRequest, separation_id: UUID, query: Query[ZipQuery]
) -> HttpResponseBase:
    """Every stem in one zip: the FLAC masters streamed, or (``format``, ``rate``,
    ``bit_depth``) their conversions."""
    job = _done(request, separation_id)
    return _answer(
        request, lambda: controller.stems_zip(job, query.format, query.rate, query.bit_depth)
    )


@router.get(
    "/separations/{uuid:separation_id}/instrumental.{slug:fmt}",
    response=FILE,
    url_name="instrumental",
)
def instrumental(
    request: HttpRequest, separation_id: UUID, fmt: Format, query: Query[DownloadOptions]
) -> HttpResponseBase:
    """Everything but the vocals, as one file (made by the worker)."""
    job = _done(request, separation_id)
    return _answer(request, lambda: controller.instrumental(job, fmt, query.rate, query.bit_depth))


@router.post("/separations/{uuid:separation_id}/mix/", response=FILE, url_name="mix")
def mix(request: HttpRequest, separation_id: UUID, body: MixIn) -> HttpResponseBase:
    """The stems mixed as the player mixes them: a gain each (0..2; a stem left out: 1), a pan
    each (-1 left .. 1 right; left out: centre), the tempo (0.5..1.5) and pitch (semitones,
    -6..6); made by the worker (at ``rate`` and ``bit_depth`` if given)."""
    job = _done(request, separation_id)
    setting = controller.MixSetting(body.gains, body.pans, body.tempo, body.pitch)
    return _answer(
        request, lambda: controller.mix(job, body.format, setting, body.rate, body.bit_depth)
    )


@router.get(
    "/separations/{uuid:separation_id}/midi/{slug:name}.mid", response=FILE, url_name="midi"
)
def midi(request: HttpRequest, separation_id: UUID, name: str) -> HttpResponseBase:
    """One stem's notes as a Standard MIDI File (Basic Pitch; notes, velocities, pitch bends,
    the track's tempo), made by the worker (202 until then)."""
    job = _done(request, separation_id)
    return _answer(request, lambda: controller.midi(job, name))


@router.get("/separations/{uuid:separation_id}/chords.lab", response=FILE, url_name="chords-lab")
def chords_lab(request: HttpRequest, separation_id: UUID) -> HttpResponseBase:
    """The chords as ``.lab`` text, as chord datasets write it: ``start end label`` a line
    (seconds; Harte's labels: ``C:maj``, ``A:min``, ``G:7``, ``N`` for none), a label a beat,
    computed on every stem but drums and vocals; made by the worker (202 until then)."""
    job = _done(request, separation_id)
    return _answer(request, lambda: controller.chords(job))


@router.get(
    "/separations/{uuid:separation_id}/chords",
    response={200: ChordsOut, 202: RenderOut, 409: Error, **ERRORS},
    url_name="chords",
)
def chords(request: HttpRequest, separation_id: UUID) -> HttpResponseBase | dict[str, object]:
    """The chords as JSON, for a player to show under its waveforms: the ``.lab``'s lines as
    ``{start, end, label}``; 202 with the render's status until they are made."""
    outcome = controller.chords(_done(request, separation_id))
    if isinstance(outcome, StoredFile):
        return {"chords": controller.chord_list(outcome)}
    return _answer(request, lambda: outcome)


@router.get("/renders/{uuid:render_id}/", response={200: RenderOut, **ERRORS}, url_name="render")
def render_status(request: HttpRequest, render_id: UUID) -> dict[str, object]:
    """A file being made: ``status`` is done once ``download_url`` serves it."""
    item = controller.render_status(controller.find_render(request.user, render_id))
    return render_out(item)


@router.get("/renders/{uuid:render_id}/file", response=FILE, url_name="render-file")
def render_file(request: HttpRequest, render_id: UUID) -> HttpResponseBase:
    """The made file once it is there; until then 202 and the render's status."""
    item = controller.find_render(request.user, render_id)
    return _answer(request, lambda: controller.render_file(item))
