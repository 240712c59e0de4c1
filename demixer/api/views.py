"""Version 1 of the JSON API: session-authenticated, the same services and owner filters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from demixer.separation import services
from demixer.separation.models import Separation, Status
from demixer.separation.views import status_payload


def api_login_required(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """401 JSON instead of a redirect to the login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "authentication required"}, status=401)
        return view(request, *args, **kwargs)

    return wrapped


def _job(request: HttpRequest, separation_id: object) -> Separation | None:
    return (
        Separation.objects.select_related("track")
        .filter(id=separation_id, track__owner=request.user)
        .first()
    )


def _describe(job: Separation) -> dict[str, object]:
    data = status_payload(job)
    data.update(
        track={
            "id": str(job.track.id),
            "title": job.track.title,
            "duration": job.track.duration,
        },
        two_stems=job.two_stems or None,
        quality=job.quality,
        created=job.created.isoformat(),
    )
    if job.status == Status.DONE:
        data["stems"] = [
            {
                "name": stem.name,
                "preview": reverse("stem-preview", args=[job.id, stem.name]),
                "downloads": {
                    fmt: reverse("stem-download", args=[job.id, stem.name, fmt])
                    for fmt in ("wav", "flac", "mp3")
                },
            }
            for stem in job.stems.all()
        ]
        data["zip"] = reverse("separation-zip", args=[job.id])
    return data


@require_GET
@api_login_required
def separations(request: HttpRequest) -> JsonResponse:
    jobs = Separation.objects.select_related("track").filter(track__owner=request.user)[:100]
    return JsonResponse({"separations": [_describe(job) for job in jobs]})


@require_GET
@api_login_required
def separation(request: HttpRequest, separation_id: object) -> JsonResponse:
    job = _job(request, separation_id)
    if job is None:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse(_describe(job))


@require_POST
@api_login_required
def cancel(request: HttpRequest, separation_id: object) -> JsonResponse:
    job = _job(request, separation_id)
    if job is None:
        return JsonResponse({"error": "not found"}, status=404)
    cancelled = services.cancel(job)
    job.refresh_from_db()
    return JsonResponse({"cancelled": cancelled, **_describe(job)})
