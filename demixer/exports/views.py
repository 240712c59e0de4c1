"""The site's downloads: the controller's outcome (:mod:`.controller`) as the site answers it.

No encoding happens in a web request. A file already rendered (or needing none: the FLAC masters
and their zip, streamed) is served at once; otherwise the request starts (or finds) its render
job and answers 202 with where to poll. Two ways to ask:

- a plain request (a link, a form, curl) gets the file, or 202 with a small page that refreshes
  until the file is there (HTML to browsers, the status JSON to other clients);
- ``Accept: application/json`` alone (the player's script) gets the render's status JSON
  (``status``, ``percent``, ``status_url``, ``download_url``): 200 once done, else 202.

Every conversion takes an optional ``rate`` (Hz) and ``bit_depth`` (query, or the mix's form); a
value it does not take is a 400 with one sentence.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from demixer.engine import formats
from demixer.exports import controller, render_jobs
from demixer.exports.controller import Outcome, StoredFile, find_done
from demixer.exports.options import BadOption
from demixer.separation import files
from demixer.separation.masters import MASTER
from demixer.separation.models import Render, Separation, Status
from demixer.tracks.models import OCTET_STREAM


def _wants_status(request: HttpRequest) -> bool:
    """The client asked for the render's status, not for the file (``Accept: application/json``
    without a wildcard)."""
    return request.accepts("application/json") and not request.accepts("application/octet-stream")


def _options(data: QueryDict) -> tuple[str | None, str | None]:
    """A download's ``rate`` and ``bit_depth`` as asked (None: the default)."""
    return data.get("rate"), data.get("bit_depth")


def _bad(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def status_answer(
    request: HttpRequest,
    item: Render,
    data: dict[str, object] | None = None,
    back_url: str | None = None,
) -> HttpResponse:
    """Where a render is: the JSON status (``data``: the payload with the asker's URLs), or
    for a browser a page that refreshes until the file is there; 202 while it is on its way,
    500 with one sentence if it failed."""
    data = data or render_jobs.payload(item)
    code = {Status.DONE: 200, Status.FAILED: 500}.get(Status(item.status), 202)
    if request.get_preferred_type(["application/json", "text/html"]) == "text/html":
        context = {
            "render": item,
            "status": data,
            "filename": controller.filename(item),
            "back_url": back_url,
        }
        response = render(request, "exports/preparing.html", context, status=code)
    else:
        response = JsonResponse(data, status=code)
    return controller.polled(response, str(data["status_url"]) if code == 202 else None)


def answer(
    request: HttpRequest,
    decide: Callable[[bool], Outcome],
    status: Callable[[HttpRequest, Render], HttpResponse] = status_answer,
) -> HttpResponseBase:
    """The file (``decide(True)``: unless the client asked for the status), or where its render
    is (``status``); a bad option is a 400 with its sentence."""
    try:
        outcome = decide(not _wants_status(request))
    except BadOption as exc:
        return _bad(str(exc))
    if isinstance(outcome, Render):
        return status(request, outcome)
    return controller.respond(request, outcome)


@login_required
@require_safe
def stem_download(
    request: HttpRequest, separation_id: object, name: str, fmt: str
) -> HttpResponseBase:
    job, get = find_done(request.user, separation_id), request.GET
    return answer(request, lambda file: controller.stem(job, name, fmt, *_options(get), file))


@login_required
@require_safe
def instrumental(request: HttpRequest, separation_id: object, fmt: str) -> HttpResponseBase:
    """Everything but the vocals, as one file."""
    job, get = find_done(request.user, separation_id), request.GET
    return answer(request, lambda file: controller.instrumental(job, fmt, *_options(get), file))


@login_required
@require_safe
def stems_zip(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """All stems in one zip: the FLAC masters streamed from storage as they are; with
    ``?format=wav|mp3`` (or a ``rate`` or ``bit_depth`` of their own) the stems' conversions,
    rendered first."""
    job, get = find_done(request.user, separation_id), request.GET
    fmt = get.get("format", MASTER.name)
    return answer(request, lambda file: controller.stems_zip(job, fmt, *_options(get), file))


@login_required
@require_POST
def mix(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """The mix as set in the player: ``gain_<stem>`` in 0..2 and ``pan_<stem>`` in -1..1 per
    stem (missing: 1 and centre), ``tempo``, ``pitch``, ``format``, ``rate`` and ``bit_depth``."""
    job, post = find_done(request.user, separation_id), request.POST
    asked = mix_form(job, post)
    if isinstance(asked, HttpResponse):
        return asked
    fmt, setting = asked
    return answer(request, lambda file: controller.mix(job, fmt, setting, *_options(post), file))


def mix_form(job: Separation, post: QueryDict) -> tuple[str, controller.MixSetting] | HttpResponse:
    """The mix form's format and setting, or a 400 saying what is wrong (a share link's mix
    reads the same form)."""
    fmt = post.get("format", formats.WAV.name)
    if fmt not in formats.FORMATS:
        return HttpResponseBadRequest(f"format must be {formats.names_text()}")
    names = list(job.stems.values_list("name", flat=True))
    numbers: dict[str, dict[str, float]] = {"gain": {}, "pan": {}}
    for field, default in (("gain", "1"), ("pan", "0")):
        for name in names:
            try:
                numbers[field][name] = float(post.get(f"{field}_{name}", default))
            except ValueError:
                return _bad(f"{field}_{name} must be a number.")
    try:  # the player's tempo (0.5..1.5) and pitch (semitones), applied as it applies them
        tempo, pitch = float(post.get("tempo", "1")), float(post.get("pitch", "0"))
    except ValueError:
        return _bad("tempo and pitch must be numbers.")
    return fmt, controller.MixSetting(numbers["gain"], numbers["pan"], tempo, pitch)


@login_required
@require_safe
def midi(request: HttpRequest, separation_id: object, name: str) -> HttpResponseBase:
    """One stem's notes as a ``.mid`` (made by the worker: 202 until then)."""
    job = find_done(request.user, separation_id)
    return answer(request, lambda file: controller.midi(job, name, file))


@login_required
@require_safe
def chords_lab(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """The chords as a ``.lab`` text file, a label a beat (made by the worker)."""
    job = find_done(request.user, separation_id)
    return answer(request, lambda file: controller.chords(job, file))


@login_required
@require_safe
def chords_json(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """The chords for the player: ``{"chords": [{"start", "end", "label"}]}`` once made; until
    then the render's status (202)."""
    outcome = controller.chords(find_done(request.user, separation_id))
    if isinstance(outcome, StoredFile):
        response: HttpResponseBase = JsonResponse({"chords": controller.chord_list(outcome)})
        return response
    return answer(request, lambda file: outcome)


@login_required
@require_safe
def original(request: HttpRequest, separation_id: object) -> HttpResponseBase:
    """The uploaded file as it is (Range-capable): the player's "compare with the original"
    plays it on the stems' clock. Served as the audio type measured at upload (inline), or as
    ``application/octet-stream`` for a download when none was (never a type from its name)."""
    track = find_done(request.user, separation_id).track
    kind = track.served_type
    return files.serve(
        request,
        files.name_of(track.original),
        track.served_filename,
        attachment=kind == OCTET_STREAM,
        content_type=kind,
    )


@login_required
@require_safe
def render_status(request: HttpRequest, render_id: object) -> JsonResponse:
    """What the player polls while a file is rendered."""
    item = controller.render_status(controller.find_render(request.user, render_id))
    response = JsonResponse(render_jobs.payload(item))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def render_file(request: HttpRequest, render_id: object) -> HttpResponseBase:
    """The rendered file, once it is there; until then, the render's status."""
    item = controller.find_render(request.user, render_id)
    return answer(request, lambda file: controller.render_file(item))
