"""A job's status, cancel, its live pieces and the stem previews (the job's page itself, the
player, is ``demixer.player``'s): every query filters by the owner.
Downloads that may need rendering are in ``downloads``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from demixer.separation import files, masters, pieces, queue, services
from demixer.separation.models import Separation, Status, Stem


def owned_job(request: HttpRequest, separation_id: object) -> Separation:
    return get_object_or_404(
        Separation.objects.select_related("track"), id=separation_id, track__owner=request.user
    )


def _done_job(request: HttpRequest, separation_id: object) -> Separation:
    job = owned_job(request, separation_id)
    if job.status != Status.DONE:
        raise Http404("this separation has no stems (yet)")
    return job


def status_payload(job: Separation) -> dict[str, object]:
    return {
        **queue.job_status(job),
        "url": reverse("separation-detail", args=[job.id]),
        # listen while it separates: the pieces a running job has published (or None)
        "ready": pieces.ready_payload(job),
    }


@login_required
def status(request: HttpRequest, separation_id: object) -> JsonResponse:
    response = JsonResponse(status_payload(owned_job(request, separation_id)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def cancel(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = owned_job(request, separation_id)
    if services.cancel(job):
        messages.success(request, "Separation cancelled.")
    else:
        messages.info(request, "This separation had already finished.")
    return redirect("separation-detail", job.id)


def _download_name(job: Separation, part: str, fmt: str) -> str:
    """``Artist - Title (drums).wav``: what a person would call the file."""
    return files.download_filename(job.track.download_title, part.lower(), fmt)


@login_required
def piece(request: HttpRequest, separation_id: object, claim: str, index: int) -> HttpResponseBase:
    """One published piece of a running job (raw float32, see ``pieces``); 404 once the
    job is no longer running or the piece is not the current claim's."""
    job = owned_job(request, separation_id)
    name = pieces.piece_file(job, claim, index)
    if name is None:
        raise Http404("no such piece")
    try:
        return files.serve(request, name, f"{index}.f32", attachment=False)
    except FileNotFoundError:
        raise Http404("no such piece") from None


@login_required
def stem_preview(request: HttpRequest, separation_id: object, name: str) -> HttpResponseBase:
    job = _done_job(request, separation_id)
    stem = get_object_or_404(Stem, separation=job, name=name)
    filename = masters.preview_file(name)
    return files.serve(request, files.name_of(stem.preview), filename, attachment=False)
