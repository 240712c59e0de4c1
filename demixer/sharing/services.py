"""Making, finding and revoking share links.

A link's token is 43 random URL-safe characters (``secrets.token_urlsafe(32)``: 256 bits); only
its SHA-256 is stored (as for API tokens, ``demixer.api.tokens``): the lookup by digest is an
indexed equality, with a constant-time comparison on top.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from datetime import timedelta

from django.utils import timezone

from demixer.separation.models import Separation, Status
from demixer.sharing.models import ShareLink

SHOWN = 6  # characters of a token kept in clear to tell links apart
# what the owner may choose: label -> lifetime (None: never expires)
EXPIRIES: dict[str, timedelta | None] = {
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "never": None,
}
EXPIRY_LABELS = {"1d": "1 day", "7d": "7 days", "never": "Never"}
DOWNLOADS = ("stems", "zip", "mix")


class BadShare(ValueError):
    """A request for a link that cannot be made; the message says why, in one sentence."""


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(job: Separation, expiry: str, allow: Collection[str]) -> tuple[ShareLink, str]:
    """A new link to ``job`` (finished), living ``expiry`` (a key of :data:`EXPIRIES`), with
    the downloads ``allow`` names: the row and the token, which is never shown again."""
    if expiry not in EXPIRIES:
        raise BadShare(f"expires must be one of {', '.join(EXPIRIES)}.")
    unknown = set(allow) - set(DOWNLOADS)
    if unknown:
        raise BadShare(f"downloads may name {', '.join(DOWNLOADS)}, not {', '.join(unknown)}.")
    if job.status != Status.DONE:
        raise BadShare("Only a finished separation can be shared.")
    raw = secrets.token_urlsafe(32)
    life = EXPIRIES[expiry]
    link = ShareLink.objects.create(
        separation=job,
        prefix=raw[:SHOWN],
        digest=digest(raw),
        allow_stems="stems" in allow,
        allow_zip="zip" in allow,
        allow_mix="mix" in allow,
        expires=timezone.now() + life if life is not None else None,
    )
    return link, raw


def find(raw: str) -> ShareLink | None:
    """The live link this token is, with its finished separation and track; None for anything
    else (unknown, revoked, expired, or its separation no longer finished)."""
    if not raw or len(raw) > 100:
        return None
    wanted = digest(raw)
    link = (
        ShareLink.objects.select_related("separation__track")
        .filter(ShareLink.live_filter(), digest=wanted, separation__status=Status.DONE)
        .first()
    )
    if link is None or not hmac.compare_digest(link.digest, wanted):
        return None
    return link


def links_of(job: Separation) -> list[ShareLink]:
    """The links made for ``job``, live or not, newest first."""
    return list(job.share_links.all())


def revoke(job: Separation, link_id: int) -> bool:
    """Revoke one of ``job``'s links; False if it is not one of them or already revoked."""
    rows = ShareLink.objects.filter(id=link_id, separation=job, revoked__isnull=True)
    return rows.update(revoked=timezone.now()) == 1
