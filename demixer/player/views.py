"""The job's page: the player (``player/result.html``) once stems (or a running job's first
pieces) are there, else the progress page. Its context is :mod:`demixer.player.context`'s."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csp import csp_override

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
