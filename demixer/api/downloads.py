"""Files: a stem in a chosen format, the zip, the instrumental and a mix; Range on files.

As on the web (``demixer.separation.downloads``): FLAC masters and their zip are served at once;
anything that needs encoding is a render job, answered 202 with ``Location`` and a status URL
until the worker has made the file, then served from its cache. Every file but the master takes
an optional ``rate`` and ``bit_depth`` (``DownloadOptions``); a value not offered is a 400.
"""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from demixer.api.errors import ApiError
from demixer.api.schemas import DownloadOptions, Error, Format, MixIn, RenderOut, render_out
from demixer.api.separations import ERRORS, own
from demixer.separation import downloads as web
from demixer.separation import files, renders
from demixer.separation.models import Render, RenderKind, Separation, Status, Stem
from demixer.separation.render import MASTER
from demixer.separation.views import _download_name

router = Router(tags=["downloads"])
FILE = {200: None, 202: RenderOut, 206: None, 304: None, 409: Error, 416: None, **ERRORS}


def _done(request: HttpRequest, separation_id: UUID) -> Separation:
    job = own(request, separation_id)
    if job.status != Status.DONE:
        raise ApiError(409, "not_done", f"This separation is {job.status}: it has no stems.")
    return job


def _status(item: Render) -> HttpResponse:
    """Where a render is: 202 with where to poll while it is made; 409 if it failed."""
    if item.status == Status.FAILED:
        raise ApiError(409, "render_failed", item.error or "This file could not be made.")
    data = render_out(item)
    response = JsonResponse(data, status=202)
    response["Location"] = str(data["status_url"])
    response["Retry-After"] = "1"
    response["Cache-Control"] = "no-store"
    return response


def _options(job: Separation, fmt: str, options: DownloadOptions) -> dict[str, int]:
    """The options as render params; a 400 naming what is not offered."""
    try:
        return renders.download_options(job, fmt, options.rate, options.bit_depth)
    except renders.BadOption as exc:
        raise ApiError(400, "invalid_option", str(exc)) from None


def _rendered(
    request: HttpRequest, job: Separation, kind: str, fmt: str, params: dict[str, object]
) -> HttpResponseBase:
    item = renders.request(job, kind, fmt, params)
    if item.status == Status.DONE or renders.is_ready(item):
        return web._serve(request, item)
    return _status(item)


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
    found = get_object_or_404(Stem, separation=job, name=name)
    options = _options(job, fmt, query)
    if fmt == MASTER.name and not options:
        return files.serve(
            request,
            files.name_of(found.master),
            _download_name(job, found.label, fmt),
            attachment=True,
        )
    return _rendered(request, job, RenderKind.STEM, fmt, {"stem": name, **options})


class ZipQuery(DownloadOptions):
    format: Format = MASTER.name


@router.get("/separations/{uuid:separation_id}/stems.zip", response=FILE, url_name="zip")
def stems_zip(
    request: HttpRequest, separation_id: UUID, query: Query[ZipQuery]
) -> HttpResponseBase:
    """Every stem in one zip: the FLAC masters streamed, or (``format``, ``rate``,
    ``bit_depth``) their conversions."""
    job = _done(request, separation_id)
    options = _options(job, query.format, query)
    if query.format == MASTER.name and not options:
        members = renders.zip_members(
            job, MASTER.name, lambda label, ext: _download_name(job, label, ext)
        )
        return files.serve_zip(members, web._zip_name(job))
    return _rendered(request, job, RenderKind.ZIP, query.format, {**options})


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
    names = set(job.stems.values_list("name", flat=True))
    if "vocals" not in names or len(names) < 2:
        raise ApiError(404, "no_instrumental", "This separation has no vocals stem to leave out.")
    options = _options(job, fmt, query)
    return _rendered(request, job, RenderKind.INSTRUMENTAL, fmt, {**options})


@router.post("/separations/{uuid:separation_id}/mix/", response=FILE, url_name="mix")
def mix(request: HttpRequest, separation_id: UUID, body: MixIn) -> HttpResponseBase:
    """The stems mixed as the player mixes them: a gain each (0..2; a stem left out: 1), a pan
    each (-1 left .. 1 right; left out: centre), the tempo (0.5..1.5) and pitch (semitones,
    -6..6); made by the worker (at ``rate`` and ``bit_depth`` if given)."""
    job = _done(request, separation_id)
    options = _options(job, body.format, body)
    names = list(job.stems.values_list("name", flat=True))
    try:
        params = renders.mix_params(names, body.gains, body.pans, body.tempo, body.pitch)
    except renders.BadOption as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    return _rendered(request, job, RenderKind.MIX, body.format, {**params, **options})


def _own_render(request: HttpRequest, render_id: UUID) -> Render:
    return get_object_or_404(
        Render.objects.select_related("separation__track"),
        id=render_id,
        separation__track__owner=request.user,
    )


@router.get("/renders/{uuid:render_id}/", response={200: RenderOut, **ERRORS}, url_name="render")
def render_status(request: HttpRequest, render_id: UUID) -> dict[str, object]:
    """A file being made: ``status`` is done once ``download_url`` serves it."""
    item = _own_render(request, render_id)
    renders.revive(item, retry_failed=False)  # its worker may have died meanwhile
    return render_out(item)


@router.get("/renders/{uuid:render_id}/file", response=FILE, url_name="render-file")
def render_file(request: HttpRequest, render_id: UUID) -> HttpResponseBase:
    """The made file once it is there; until then 202 and the render's status."""
    item = _own_render(request, render_id)
    if item.status == Status.DONE and renders.is_ready(item):
        return web._serve(request, item)
    renders.revive(item, retry_failed=False)
    return _status(item)
