"""Share links of a separation: make one, list them, revoke one (``demixer.sharing``). Only the
owner's separations; the link's URL (its token) is in the answer to the POST only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from demixer.api.errors import ApiError
from demixer.api.schemas import Error
from demixer.api.separations import ERRORS, own
from demixer.sharing import services
from demixer.sharing.models import ShareLink

router = Router(tags=["shares"])
Download = Literal["stems", "zip", "mix"]


class ShareIn(Schema):
    expires: Literal["1d", "7d", "never"] = Field(
        "7d", description="How long the link opens: one day, seven days, or until revoked."
    )
    downloads: list[Download] = Field(
        ["stems", "zip"],
        description="What a visitor may download besides listening: each stem (and the "
        "instrumental), the zip, a mix of their own. Empty: listening only.",
    )


class ShareOut(Schema):
    id: int
    prefix: str = Field(description="The token's first characters, to tell links apart.")
    downloads: list[Download]
    created: datetime
    expires: datetime | None = Field(description="null: never")
    revoked: datetime | None
    live: bool = Field(description="Opens now: neither expired nor revoked.")


class ShareCreated(ShareOut):
    url: str = Field(description="The link to give out. Shown this once: only a hash is kept.")


class ShareList(Schema):
    shares: list[ShareOut]


def share_out(link: ShareLink) -> dict[str, object]:
    return {
        "id": link.id,
        "prefix": link.prefix,
        "downloads": link.allowed,
        "created": link.created,
        "expires": link.expires,
        "revoked": link.revoked,
        "live": link.is_live,
    }


@router.get("/{uuid:separation_id}/shares/", response={200: ShareList, **ERRORS}, url_name="shares")
def shares(request: HttpRequest, separation_id: UUID) -> dict[str, object]:
    """The separation's share links, newest first, revoked and expired ones included."""
    job = own(request, separation_id)
    return {"shares": [share_out(link) for link in services.links_of(job)]}


@router.post(
    "/{uuid:separation_id}/shares/",
    response={201: ShareCreated, 409: Error, **ERRORS},
    url_name="shares",
)
def create(request: HttpRequest, separation_id: UUID, body: ShareIn) -> Status[dict[str, object]]:
    """A read-only link to this finished separation (409 while it is not finished)."""
    job = own(request, separation_id)
    try:
        link, token = services.create(job, body.expires, body.downloads)
    except services.BadShare as exc:
        raise ApiError(409, "not_done", str(exc)) from None
    url = request.build_absolute_uri(reverse("share-page", args=[token]))
    return Status(201, {**share_out(link), "url": url})


@router.delete(
    "/{uuid:separation_id}/shares/{int:share_id}/",
    response={204: None, **ERRORS},
    url_name="share",
)
def revoke(request: HttpRequest, separation_id: UUID, share_id: int) -> Status[None]:
    """Revoke a link: it no longer opens (404 if it is not this separation's, or already
    revoked)."""
    job = own(request, separation_id)
    if not services.revoke(job, share_id):
        raise ApiError(404, "not_found", "No such live share link of this separation.")
    return Status(204, None)
