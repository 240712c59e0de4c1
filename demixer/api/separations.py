"""Jobs: list (cursor paged), show, cancel, delete. Every query filters by the owner, so
another user's job is a 404."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from demixer.api import paging
from demixer.api.errors import ApiError
from demixer.api.schemas import CancelOut, Error, SeparationOut, SeparationPage, separation_out
from demixer.http import AuthedRequest
from demixer.separation import files, pieces, services
from demixer.separation.models import Separation

router = Router(tags=["separations"])
# what any endpoint may answer besides its success (all of it {"code", "message"})
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 413: Error, 422: Error, 429: Error}


class PageQuery(Schema):
    cursor: str | None = Field(
        None,
        description="The next_cursor of the page before; any other value is a 400 "
        "(invalid_cursor).",
    )
    limit: int = 20


def own(request: HttpRequest, separation_id: UUID) -> Separation:
    return get_object_or_404(
        Separation.objects.select_related("track"), id=separation_id, track__owner=request.user
    )


def limit_of(limit: int) -> int:
    return max(1, min(paging.MAX_LIMIT, limit))


@router.get("/", response={200: SeparationPage, **ERRORS}, url_name="separations")
def separations(request: AuthedRequest, query: Query[PageQuery]) -> dict[str, object]:
    """The user's separations, newest first; ``next_cursor`` fetches the next page."""
    jobs = Separation.objects.select_related("track").filter(track__owner=request.user)
    items, cursor = paging.page(jobs, query.cursor, limit_of(query.limit))
    return {"separations": [separation_out(job) for job in items], "next_cursor": cursor}


@router.get(
    "/{uuid:separation_id}/", response={200: SeparationOut, **ERRORS}, url_name="separation"
)
def separation(request: HttpRequest, separation_id: UUID) -> dict[str, object]:
    """Status, progress, queue position and wait estimate; the files once done."""
    return separation_out(own(request, separation_id))


@router.delete("/{uuid:separation_id}/", response={204: None, **ERRORS}, url_name="separation")
def delete(request: HttpRequest, separation_id: UUID) -> Status[None]:
    """Delete a separation and its files (the track stays); a running one stops first."""
    services.delete_separation(own(request, separation_id))
    return Status(204, None)


@router.post(
    "/{uuid:separation_id}/cancel/", response={200: CancelOut, **ERRORS}, url_name="cancel"
)
def cancel(request: HttpRequest, separation_id: UUID) -> dict[str, object]:
    """Cancel a queued or running job (a running one stops at its next chunk); a finished job
    is left as it is, with ``cancelled`` false."""
    job = own(request, separation_id)
    cancelled = services.cancel(job)
    job.refresh_from_db()
    return {"cancelled": cancelled, **separation_out(job)}


@router.get(
    "/{uuid:separation_id}/live/{slug:claim}/{int:index}.f32",
    response={200: None, 206: None, 304: None, 416: None, **ERRORS},
    url_name="piece",
)
def piece(request: HttpRequest, separation_id: UUID, claim: str, index: int) -> HttpResponseBase:
    """One published piece of a running job (``ready.pieces[].url``): raw float32; 404
    once the job stopped running or another worker started it over (a new ``claim``)."""
    job = own(request, separation_id)
    name = pieces.piece_file(job, claim, index)
    if name is not None:
        try:
            return files.serve(request, name, f"{index}.f32", attachment=False)
        except FileNotFoundError:
            pass
    raise ApiError(404, "not_found", "No such piece: the job moved on, or it is not ready.")
