"""Tracks: upload one and start its separation in one call (the upload form's validation and
limits, streamed to disk), list, show, delete, list a track's separations (every model and
option it was separated with, as the library groups them), and separate again with other
options."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.datastructures import MultiValueDict
from ninja import File, Form, Query, Router, Status, UploadedFile

from demixer.api import paging, webhooks
from demixer.api.errors import ApiError
from demixer.api.schemas import (
    Error,
    SeparateIn,
    SeparationPage,
    StartOut,
    TrackOut,
    TrackPage,
    mode_of,
    separation_out,
    track_out,
)
from demixer.api.separations import ERRORS, PageQuery, limit_of
from demixer.http import AuthedRequest
from demixer.ops import disk
from demixer.separation import services as separations
from demixer.separation.models import Separation
from demixer.separation.quotas import QuotaExceeded
from demixer.separation.services import ModelUnavailable
from demixer.tracks import services
from demixer.tracks.forms import UploadForm
from demixer.tracks.models import Track
from demixer.tracks.uploads import refused_uploads, storage_full

router = Router(tags=["tracks"])


# documented as the multipart field "file", optional here: a file too large arrives skipped, and
# the view says so (413) rather than "field required"
OPTIONAL_FILE = File(None)


class UploadIn(SeparateIn):
    """The upload form's options, sent as multipart fields beside ``file``."""


def _started(request: HttpRequest, job: Separation, reused: bool) -> Status[dict[str, object]]:
    webhooks.remember(job.id, getattr(request, "auth", None))  # its end is told to the webhook
    return Status(200 if reused else 201, {"reused": reused, "separation": separation_out(job)})


@router.get("/", response={200: TrackPage, **ERRORS}, url_name="tracks")
def tracks(request: AuthedRequest, query: Query[PageQuery]) -> dict[str, object]:
    """The user's tracks, newest first; ``next_cursor`` fetches the next page."""
    items, cursor = paging.page(
        Track.objects.filter(owner=request.user), query.cursor, limit_of(query.limit)
    )
    return {"tracks": [track_out(track) for track in items], "next_cursor": cursor}


@router.post(
    "/",
    response={200: StartOut, 201: StartOut, 507: Error, **ERRORS},
    url_name="upload",
)
def upload(
    request: AuthedRequest,
    options: Form[UploadIn],
    file: UploadedFile = OPTIONAL_FILE,
) -> Status[dict[str, object]]:
    """Upload one audio file (multipart field ``file``) and start its separation: 201 with the
    new job, or 200 with the job these options already have for the same content."""
    uploaded = request.FILES.getlist("file")
    if storage_full(request):
        raise _full(disk.StorageFull())
    refused = refused_uploads(request)
    if refused:
        raise ApiError(
            413, "too_large", f"{refused[0]}: larger than the limit of {settings.MAX_UPLOAD_MB} MB."
        )
    if len(uploaded) > 1:
        raise ApiError(400, "one_file", "Send one file per request (multipart field 'file').")
    data = {"mode": mode_of(options).value, "quality": options.quality}
    form = UploadForm(data, MultiValueDict({"files": uploaded}))
    if not form.is_valid():
        messages = [str(m) for errors in form.errors.values() for m in errors]
        code = "invalid_upload" if "files" in form.errors else "invalid_options"
        raise ApiError(400, code, " ".join(messages))
    try:
        [(job, reused)] = services.add_uploads(
            request.user, form.checked, form.two_stems, form.cleaned_data["quality"], form.model
        )
    except QuotaExceeded as exc:
        raise ApiError(403, "quota_exceeded", str(exc)) from None
    except ModelUnavailable as exc:
        raise ApiError(400, "model_unavailable", str(exc)) from None
    except disk.StorageFull as exc:
        raise _full(exc) from None
    return _started(request, job, reused)


def _full(exc: disk.StorageFull) -> ApiError:
    """507: the server has no disk space for it (nothing was stored; worth trying later)."""
    return ApiError(507, "storage_full", str(exc))


def _own(request: HttpRequest, track_id: UUID) -> Track:
    return get_object_or_404(Track, id=track_id, owner=request.user)


@router.get("/{uuid:track_id}/", response={200: TrackOut, **ERRORS}, url_name="track")
def track(request: HttpRequest, track_id: UUID) -> dict[str, object]:
    return track_out(_own(request, track_id))


@router.delete("/{uuid:track_id}/", response={204: None, **ERRORS}, url_name="track")
def delete(request: HttpRequest, track_id: UUID) -> Status[None]:
    """Delete the track, its separations and every file; running jobs stop."""
    separations.delete_track(_own(request, track_id))
    return Status(204, None)


@router.get(
    "/{uuid:track_id}/separations/",
    response={200: SeparationPage, **ERRORS},
    url_name="track-separations",
)
def track_separations(
    request: HttpRequest, track_id: UUID, query: Query[PageQuery]
) -> dict[str, object]:
    """The track's separations, newest first (each model, quality and option it was separated
    with, finished or not); ``next_cursor`` fetches the next page."""
    jobs = Separation.objects.select_related("track").filter(track=_own(request, track_id))
    items, cursor = paging.page(jobs, query.cursor, limit_of(query.limit))
    return {"separations": [separation_out(job) for job in items], "next_cursor": cursor}


@router.post(
    "/{uuid:track_id}/separations/",
    response={200: StartOut, 201: StartOut, 507: Error, **ERRORS},
    url_name="separate",
)
def separate(
    request: HttpRequest, track_id: UUID, options: SeparateIn
) -> Status[dict[str, object]]:
    """Separate a stored track again with other options (201), or find the job these options
    already have (200)."""
    track = _own(request, track_id)
    mode = mode_of(options)
    if options.quality not in mode.qualities:
        raise ApiError(400, "invalid_options", f"{mode.model} has no {options.quality} quality.")
    try:
        job, reused = separations.start(track, mode.two_stems, options.quality, mode.model)
    except QuotaExceeded as exc:
        raise ApiError(403, "quota_exceeded", str(exc)) from None
    except ModelUnavailable as exc:
        raise ApiError(400, "model_unavailable", str(exc)) from None
    except disk.StorageFull as exc:
        raise _full(exc) from None
    return _started(request, job, reused)
