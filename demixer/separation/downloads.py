"""Downloads that are more than a stored file: conversions, zips, the instrumental, mixes.

No encoding happens in a web request. A file already rendered (or needing none: the FLAC masters
and their zip, streamed) is served at once; otherwise the request starts (or finds) its render
job and answers 202 with where to poll. Two ways to ask:

- a plain request (a link, a form, curl) gets the file, or 202 with a small page that refreshes
  until the file is there (HTML to browsers, the status JSON to other clients);
- ``Accept: application/json`` alone (the player's script) gets the render's status JSON
  (``status``, ``percent``, ``status_url``, ``download_url``): 200 once done, else 202.

Every query filters by the owner: another user's separation or render is a 404.

Every conversion takes an optional ``rate`` (Hz) and ``bit_depth`` (query, or the mix's form):
see ``renders.download_options``; a value it does not take is a 400 with one sentence.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST, require_safe

from demixer.engine import formats
from demixer.separation import files, renders
from demixer.separation import render as audio_render
from demixer.separation.models import Render, RenderKind, Separation, Status, Stem
from demixer.separation.views import _done_job, _download_name
from demixer.tracks.models import OCTET_STREAM

MASTER = audio_render.MASTER.name  # served as stored, no render
PART = {RenderKind.INSTRUMENTAL: "Instrumental", RenderKind.MIX: "mix"}


def _wants_status(request: HttpRequest) -> bool:
    """The client asked for the render's status, not for the file (``Accept: application/json``
    without a wildcard)."""
    return request.accepts("application/json") and not request.accepts("application/octet-stream")


def _filename(item: Render) -> str:
    job = item.separation
    if item.kind == RenderKind.ZIP:
        return _zip_name(job)
    if item.kind == RenderKind.STEM:
        stem = job.stems.filter(name=item.params.get("stem")).first()
        part = stem.label if stem is not None else str(item.params.get("stem"))
    else:
        part = PART[RenderKind(item.kind)]
    return _download_name(job, part, item.fmt)


def _zip_name(job: Separation) -> str:
    return _download_name(job, "stems", "zip")


def _bad(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _options(job: Separation, fmt: str, data: QueryDict) -> dict[str, int] | HttpResponse:
    """The download's ``rate`` and ``bit_depth`` as render params, or a 400 saying what is
    wrong with them."""
    try:
        return renders.download_options(job, fmt, data.get("rate"), data.get("bit_depth"))
    except renders.BadOption as exc:
        return _bad(str(exc))


def _serve(request: HttpRequest, item: Render) -> HttpResponseBase:
    if item.kind == RenderKind.ZIP:
        members = renders.zip_members(
            item.separation,
            item.fmt,
            lambda label, fmt: _download_name(item.separation, label, fmt),
            item.params,
        )
        return files.serve_zip(members, _filename(item))
    return files.serve(request, item.storage_name(), _filename(item), attachment=True)


def _status(request: HttpRequest, item: Render) -> HttpResponse:
    """Where a render is: the JSON status, or for a browser a page that refreshes until the
    file is there; 202 while it is on its way, 500 with one sentence if it failed."""
    data = renders.payload(item)
    code = {Status.DONE: 200, Status.FAILED: 500}.get(Status(item.status), 202)
    if request.get_preferred_type(["application/json", "text/html"]) == "text/html":
        context = {"render": item, "status": data, "filename": _filename(item)}
        response = render(request, "separation/preparing.html", context, status=code)
    else:
        response = JsonResponse(data, status=code)
    if code == 202:
        response["Location"] = str(data["status_url"])
        response["Retry-After"] = "1"
    response["Cache-Control"] = "no-store"
    return response


def _rendered(
    request: HttpRequest, job: Separation, kind: str, fmt: str, params: dict[str, object]
) -> HttpResponseBase:
    """The rendered file if it is there, else its render's status (the render started)."""
    item = renders.request(job, kind, fmt, params)
    if not _wants_status(request) and (item.status == Status.DONE or renders.is_ready(item)):
        return _serve(request, item)
    return _status(request, item)


@login_required
@require_safe
def stem_download(
    request: HttpRequest, separation_id: object, name: str, fmt: str
) -> HttpResponseBase:
    job = _done_job(request, separation_id)
    stem = get_object_or_404(Stem, separation=job, name=name)
    if fmt not in formats.FORMATS:
        raise Http404("unknown format")
    options = _options(job, fmt, request.GET)
    if isinstance(options, HttpResponse):
        return options
    if fmt == MASTER and not options:  # the master itself
        master, filename = files.name_of(stem.master), _download_name(job, stem.label, fmt)
        return files.serve(request, master, filename, attachment=True)
    return _rendered(request, job, RenderKind.STEM, fmt, {"stem": name, **options})


@login_required
@require_safe
def instrumental(request: HttpRequest, separation_id: object, fmt: str) -> HttpResponseBase:
    """Everything but the vocals, as one file."""
    job = _done_job(request, separation_id)
    if fmt not in formats.FORMATS:
        raise Http404("unknown format")
    names = set(job.stems.values_list("name", flat=True))
    if "vocals" not in names or len(names) < 2:
        raise Http404("no instrumental for this separation")
    options = _options(job, fmt, request.GET)
    if isinstance(options, HttpResponse):
        return options
    return _rendered(request, job, RenderKind.INSTRUMENTAL, fmt, {**options})


@login_required
@require_safe
def stems_zip(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """All stems in one zip: the FLAC masters streamed from storage as they are; with
    ``?format=wav|mp3`` (or a ``rate`` or ``bit_depth`` of their own) the stems' conversions,
    rendered first."""
    job = _done_job(request, separation_id)
    fmt = request.GET.get("format", MASTER)
    if fmt not in formats.FORMATS:
        raise Http404("unknown format")
    options = _options(job, fmt, request.GET)
    if isinstance(options, HttpResponse):
        return options
    if fmt == MASTER and not options:
        members = renders.zip_members(job, fmt, lambda label, ext: _download_name(job, label, ext))
        return files.serve_zip(members, _zip_name(job))
    return _rendered(request, job, RenderKind.ZIP, fmt, {**options})


@login_required
@require_POST
def mix(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """The mix as set in the player: ``gain_<stem>`` in 0..2 and ``pan_<stem>`` in -1..1 per
    stem (missing: 1 and centre), ``tempo``, ``pitch``, ``format``, ``rate`` and ``bit_depth``."""
    job = _done_job(request, separation_id)
    asked = mix_request(job, request.POST)
    if isinstance(asked, HttpResponse):
        return asked
    fmt, params = asked
    return _rendered(request, job, RenderKind.MIX, fmt, params)


def mix_request(job: Separation, data: QueryDict) -> tuple[str, dict[str, object]] | HttpResponse:
    """The mix form's format and render params (see :func:`mix`), or a 400 saying what is
    wrong (a share link's mix reads the same form)."""
    fmt = data.get("format", formats.WAV.name)
    if fmt not in formats.FORMATS:
        return HttpResponseBadRequest(f"format must be {formats.names_text()}")
    options = _options(job, fmt, data)
    if isinstance(options, HttpResponse):
        return options
    names = list(job.stems.values_list("name", flat=True))
    numbers: dict[str, dict[str, float]] = {"gain": {}, "pan": {}}
    for field, default in (("gain", "1"), ("pan", "0")):
        for name in names:
            raw = data.get(f"{field}_{name}", default)
            try:
                numbers[field][name] = float(raw)
            except ValueError:
                return _bad(f"{field}_{name} must be a number.")
    try:  # the player's tempo (0.5..1.5) and pitch (semitones), applied as it applies them
        tempo = float(data.get("tempo", "1"))
        pitch = float(data.get("pitch", "0"))
    except ValueError:
        return _bad("tempo and pitch must be numbers.")
    try:
        params = renders.mix_params(names, numbers["gain"], numbers["pan"], tempo, pitch)
    except renders.BadOption as exc:
        return _bad(str(exc))
    params.update(options)
    return fmt, params


@login_required
@require_safe
def original(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """The uploaded file as it is (Range-capable): the player's "compare with the original"
    plays it on the stems' clock. Served as the audio type measured at upload (inline), or as
    ``application/octet-stream`` for a download when none was (never a type from its name)."""
    job = _done_job(request, separation_id)
    track = job.track
    kind = track.served_type
    return files.serve(
        request,
        files.name_of(track.original),
        track.served_filename,
        attachment=kind == OCTET_STREAM,
        content_type=kind,
    )


def _own_render(request: HttpRequest, render_id: object) -> Render:
    return get_object_or_404(
        Render.objects.select_related("separation__track"),
        id=render_id,
        separation__track__owner=request.user,
    )


@login_required
@require_safe
def render_status(request: HttpRequest, render_id: object) -> JsonResponse:
    """What the player polls while a file is rendered."""
    item = _own_render(request, render_id)
    renders.revive(item, retry_failed=False)  # its worker may have died meanwhile
    response = JsonResponse(renders.payload(item))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def render_file(request: HttpRequest, render_id: object) -> HttpResponseBase:
    """The rendered file, once it is there; until then, the render's status."""
    item = _own_render(request, render_id)
    if item.status == Status.DONE and renders.is_ready(item):
        return _serve(request, item)
    renders.revive(item, retry_failed=False)
    return _status(request, item)
