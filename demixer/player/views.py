"""The job's page: the player (``player/result.html``) once stems (or a running job's first
pieces) are there, else the progress page. Its context is :mod:`demixer.player.context`'s;
the stems of another separation it compares with come from :func:`stems_json`."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csp import csp_override

from demixer.player import compare
from demixer.player.context import result_context
from demixer.separation import pieces
from demixer.separation.models import Status
from demixer.separation.views import owned_job, status_payload


@login_required
@csp_override(settings.PLAYER_CSP)  # the player's tempo/pitch: WebAssembly in a worklet
def detail(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = owned_job(request, separation_id)
    if job.status == Status.DONE:
        return render(request, "player/result.html", result_context(job, viewer=request.user))
    live = pieces.ready_payload(job)
    if live is not None:
        # the player opens on the first piece and plays what is ready while the job runs
        return render(
            request, "player/result.html", result_context(job, viewer=request.user, live=live)
        )
    return render(
        request,
        "separation/job.html",
        {"separation": job, "track": job.track, "status": status_payload(job)},
    )


@login_required
def stems_json(request: HttpRequest, separation_id: object) -> JsonResponse:
    """A finished separation's stems for the compare player (``compare.js``): the owner's only,
    like every URL that takes an id; 404 while it has no stems."""
    job = owned_job(request, separation_id)
    if job.status != Status.DONE:
        raise Http404("this separation has no stems (yet)")
    return JsonResponse(compare.stems_payload(job))
