"""Job page and status, cancel, and the stem previews: every query filters by the owner.
Downloads that may need rendering are in ``downloads``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_POST

from demixer.engine.registry import LICENSE_NOTE
from demixer.separation import files, queue, services
from demixer.separation import render as audio_render
from demixer.separation.models import Separation, Status, Stem

FORMATS = audio_render.DOWNLOAD_FORMATS
INSTRUMENTAL_FORMAT = "wav"


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
    return {**queue.job_status(job), "url": reverse("separation-detail", args=[job.id])}


@login_required
def detail(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = _job(request, separation_id)
    if job.status == Status.DONE:
        return render(request, "player/result.html", result_context(job))
    return render(
        request,
        "separation/job.html",
        {"separation": job, "track": job.track, "status": status_payload(job)},
    )


def result_context(job: Separation) -> dict[str, object]:
    """What ``player/result.html`` receives (see demixer/player/CONTRACT.md)."""
    stems = list(job.stems.all())
    names = {s.name for s in stems}
    return {
        "separation": job,
        "track": job.track,
        "stems": [
            {
                "name": stem.name,
                "label": stem.label,
                "preview_url": reverse("stem-preview", args=[job.id, stem.name]),
                "peaks": stem.peaks,
                "downloads": {
                    fmt: reverse("stem-download", args=[job.id, stem.name, fmt]) for fmt in FORMATS
                },
            }
            for stem in stems
        ],
        "zip_url": reverse("separation-zip", args=[job.id]),
        "instrumental_url": (
            reverse("separation-instrumental", args=[job.id, INSTRUMENTAL_FORMAT])
            if "vocals" in names and len(names) > 1
            else None
        ),
        "mix_url": reverse("separation-mix", args=[job.id]),
        # the footer's note, for the model that made these stems
        "licence_note": job.licence_note or LICENSE_NOTE,
    }


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


def _download_name(job: Separation, part: str, fmt: str) -> str:
    return get_valid_filename(f"{job.track.title} - {part}.{fmt}") or f"{part}.{fmt}"


@login_required
def stem_preview(request: HttpRequest, separation_id: object, name: str) -> HttpResponseBase:
    job = _done_job(request, separation_id)
    stem = get_object_or_404(Stem, separation=job, name=name)
    return files.serve(request, files.name_of(stem.preview), f"{name}.mp3", attachment=False)
