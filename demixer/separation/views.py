"""Job page and status, cancel, and the stem previews: every query filters by the owner.
Downloads that may need rendering are in ``downloads``."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from demixer.engine import formats
from demixer.engine.registry import LICENSE_NOTE
from demixer.exports import conversions as audio_render
from demixer.separation import files, masters, queue, services, stretches
from demixer.separation.models import Separation, Status, Stem

INSTRUMENTAL_FORMAT = formats.WAV
# the download settings' first choice (zip, instrumental, mix): the masters as they are, so the
# zip comes at once, lossless
DOWNLOAD_FORMAT = audio_render.MASTER


# builds a result page's URL from a view of this module's (``separation-zip``, ...) and the args
# after the separation's id: the owner's URLs, or a share link's (``demixer.sharing``)
UrlFor = Callable[..., str]


def owner_urls(job: Separation) -> UrlFor:
    """The owner's URLs of ``job``'s result page (login required)."""

    def url(view: str, *args: object) -> str:
        return reverse(view, args=[job.id, *args])

    return url


def _job(request: HttpRequest, separation_id: object) -> Separation:
    return get_object_or_404(
        Separation.objects.select_related("track"), id=separation_id, track__owner=request.user
    )


def _done_job(request: HttpRequest, separation_id: object) -> Separation:
    job = _job(request, separation_id)
    if job.status != Status.DONE:
        raise Http404("this separation has no stems (yet)")
    return job


def status_payload(job: Separation) -> dict[str, object]:
    return {
        **queue.job_status(job),
        "url": reverse("separation-detail", args=[job.id]),
        # listen while it separates: the stretches a running job has published (or None)
        "ready": stretches.ready_payload(job),
    }


@login_required
@csp_override(settings.PLAYER_CSP)  # the player's tempo/pitch: WebAssembly in a worklet
def detail(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = _job(request, separation_id)
    if job.status == Status.DONE:
        return render(request, "player/result.html", result_context(job))
    live = stretches.ready_payload(job)
    if live is not None:
        # the player opens on the first stretch and plays what is ready while the job runs
        return render(request, "player/result.html", listening_context(job, live))
    return render(
        request,
        "separation/job.html",
        {"separation": job, "track": job.track, "status": status_payload(job)},
    )


def result_context(
    job: Separation, live_names: list[str] | None = None, url: UrlFor | None = None
) -> dict[str, object]:
    """What ``player/result.html`` receives (see demixer/player/CONTRACT.md); ``live_names``:
    the stems of a running job, which has no stem rows yet; ``url``: whose URLs the page
    links to (the owner's by default; a share link's)."""
    url = url or owner_urls(job)
    stems = list(job.stems.all()) if live_names is None else [Stem(name=n) for n in live_names]
    names = {s.name for s in stems}
    # with two stems the other one is the instrumental, already a row of its own
    has_instrumental = "vocals" in names and len(names) > 2
    return {
        "separation": job,
        "track": job.track,
        "stems": [
            {
                "name": stem.name,
                "label": stem.label,
                "preview_url": url("stem-preview", stem.name),
                "peaks": stem.peaks,
                "colour": stem.colour,
                "downloads": {fmt: url("stem-download", stem.name, fmt) for fmt in formats.NAMES},
                "files": [_download_link(url, stem, fmt) for fmt in formats.FORMATS.values()],
            }
            for stem in stems
        ],
        "mix_formats": [
            {
                "name": fmt.name,
                "value": fmt.name,
                "label": fmt.label,
                "selected": fmt == DOWNLOAD_FORMAT,
            }
            for fmt in formats.FORMATS.values()
        ],
        **download_settings(job, has_instrumental, url),
        "zip_url": url("separation-zip"),
        "instrumental_url": (
            url("separation-instrumental", INSTRUMENTAL_FORMAT.name) if has_instrumental else None
        ),
        "mix_url": url("separation-mix"),
        # the footer's note, for the model that made these stems
        "licence_note": job.licence_note or LICENSE_NOTE,
    }


def download_settings(
    job: Separation, instrumental: bool, url: UrlFor | None = None
) -> dict[str, object]:
    """The result page's download settings (format: ``mix_formats``; sample rate, bit depth)
    and what its script needs to apply them to the zip, the instrumental and each stem's links
    (``download_options``: each format's bit depths and rates, the defaults, the URLs by
    format)."""
    url = url or owner_urls(job)
    rates = audio_render.download_rates(job.track.sample_rate)
    return {
        "download_rates": [
            {
                "value": rate,
                "label": f"{rate / 1000:g} kHz"
                + (
                    " (as separated)"
                    if rate == audio_render.STORED_RATE
                    else " (the original's)"
                    if rate == job.track.sample_rate
                    else ""
                ),
                "selected": rate == audio_render.STORED_RATE,
            }
            for rate in rates
        ],
        "download_bit_depths": [
            {
                "value": depth,
                "label": f"{depth}-bit float" if depth == 32 else f"{depth}-bit",
                "selected": depth == audio_render.DOWNLOAD_BIT_DEPTH,
            }
            for depth in formats.BIT_DEPTHS
        ],
        "instrumental_href": (
            url("separation-instrumental", DOWNLOAD_FORMAT.name) if instrumental else None
        ),
        "download_options": {
            "master": audio_render.MASTER.name,
            "stored_rate": audio_render.STORED_RATE,
            "bit_depth": audio_render.DOWNLOAD_BIT_DEPTH,
            "bit_depths": {fmt.name: fmt.bit_depths for fmt in formats.FORMATS.values()},
            "rates": {
                fmt: audio_render.download_rates(job.track.sample_rate, fmt)
                for fmt in formats.NAMES
            },
            "zip": url("separation-zip"),
            "instrumental": (
                {fmt: url("separation-instrumental", fmt) for fmt in formats.NAMES}
                if instrumental
                else None
            ),
        },
    }


def _download_link(url: UrlFor, stem: Stem, fmt: formats.OutputFormat) -> dict[str, object]:
    """One of a stem's download links: the master is a plain download, the other formats are
    rendered first (the player's script waits for them)."""
    return {
        "format": fmt.name,
        "label": fmt.label,
        "url": url("stem-download", stem.name, fmt.name),
        "rendered": fmt != audio_render.MASTER,
    }


def listening_context(job: Separation, live: dict[str, object]) -> dict[str, object]:
    """``result_context`` for a running job that has published stretches: the same page, its
    stems named by the stretches, its downloads shown once the job is done (``live`` set)."""
    names = live["stems"]
    assert isinstance(names, list)
    context = result_context(job, names)
    context["live"] = live
    context["status_url"] = reverse("separation-status", args=[job.id])
    return context


@login_required
def status(request: HttpRequest, separation_id: object) -> JsonResponse:
    response = JsonResponse(status_payload(_job(request, separation_id)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def cancel(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = _job(request, separation_id)
    if services.cancel(job):
        messages.success(request, "Separation cancelled.")
    else:
        messages.info(request, "This separation had already finished.")
    return redirect("separation-detail", job.id)


@login_required
def stretch(
    request: HttpRequest, separation_id: object, claim: str, index: int
) -> HttpResponseBase:
    """One published stretch of a running job (raw float32, see ``stretches``); 404 once the
    job is no longer running or the stretch is not the current claim's."""
    job = _job(request, separation_id)
    name = stretches.stretch_file(job, claim, index)
    if name is None:
        raise Http404("no such stretch")
    try:
        return files.serve(request, name, f"{index}.f32", attachment=False)
    except FileNotFoundError:
        raise Http404("no such stretch") from None


@login_required
def stem_preview(request: HttpRequest, separation_id: object, name: str) -> HttpResponseBase:
    job = _done_job(request, separation_id)
    stem = get_object_or_404(Stem, separation=job, name=name)
    filename = masters.preview_file(name)
    return files.serve(request, files.name_of(stem.preview), filename, attachment=False)
