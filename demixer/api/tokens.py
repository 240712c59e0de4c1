"""Creating, checking and revoking personal API tokens.

A token is ``dmx_`` and 43 random URL-safe characters (256 bits). Only its SHA-256 is stored: a
secret this long needs no slow hash, and the lookup by digest is an indexed equality, with a
constant-time comparison on top so no timing tells how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from demixer.api import webhook_targets
from demixer.api.models import ApiToken

PREFIX = "dmx_"
SHOWN = 12  # characters of a token kept in clear to tell tokens apart
LAST_USED_EVERY = timedelta(minutes=1)  # no write on every request


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(user: User, name: str, webhook_url: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``: the row and the secret, which is never shown again. With a
    webhook URL, the row gets a webhook secret of its own to sign the deliveries with; a URL
    webhooks may not go to raises ``webhook_targets.WebhookRefused`` and creates nothing."""
    if webhook_url:
        webhook_targets.check(webhook_url)
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:60] or "token",
        prefix=raw[:SHOWN],
        digest=digest(raw),
        webhook_url=webhook_url,
        webhook_secret=("whsec_" + secrets.token_urlsafe(24)) if webhook_url else "",
    )
    return token, raw


def authenticate(raw: str) -> ApiToken | None:
    """The live token this secret is, with its user; None for anything else."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    wanted = digest(raw)
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=wanted, revoked__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.digest, wanted):
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > LAST_USED_EVERY:
        ApiToken.objects.filter(id=token.id).update(last_used=now)
    return token


def revoke(user: User, token_id: int) -> bool:
    """Revoke one of ``user``'s tokens; False if it is not theirs or already revoked."""
    return (
        ApiToken.objects.filter(id=token_id, user=user, revoked__isnull=True).update(
            revoked=timezone.now()
        )
        == 1
    )
