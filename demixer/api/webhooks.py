"""Webhooks: when a job a token started ends (done, failed, cancelled), a signed JSON POST to
that token's URL, retried with back-off.

The body is signed with the token's webhook secret: header ``X-Demixer-Signature:
sha256=<hex HMAC-SHA256 of "<X-Demixer-Timestamp>.<body>">``, so a receiver can check that it
came from here and is fresh. Deliveries are tasks on the render queue (short, in the database,
served beside separations by every worker); a failed one (no answer, or not 2xx) is tried
again after 10 s, 20 s, 40 s, ... up to ``ATTEMPTS`` times.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta
from functools import partial
from uuid import UUID

from django.db import transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from demixer.api.models import ApiToken, JobOrigin

logger = logging.getLogger(__name__)

ATTEMPTS = 6
FIRST_RETRY_S = 10
TIMEOUT_S = 10


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def remember(job_id: UUID, token: object) -> None:
    """Note that ``token`` started (or asked again for) this job, if it is a token."""
    if isinstance(token, ApiToken) and token.webhook_url:
        JobOrigin.objects.update_or_create(separation_id=job_id, defaults={"token": token})


def job_ended(sender: object, job_id: str, status: str, **kwargs: object) -> None:
    """The ``job_ended`` receiver: queue a delivery once the change is committed."""
    origin = (
        JobOrigin.objects.select_related("token")
        .filter(separation_id=job_id, token__revoked__isnull=True)
        .exclude(token__webhook_url="")
        .first()
    )
    if origin is not None:
        transaction.on_commit(partial(deliver.enqueue, job_id, status, origin.token_id, 1))


@task(backend="renders", queue_name="render")
def deliver(job_id: str, status: str, token_id: int, attempt: int) -> str:
    token = ApiToken.objects.filter(id=token_id, revoked__isnull=True).first()
    if token is None or not token.webhook_url:
        return "dropped (token revoked or webhook removed)"
    body = json.dumps(
        {
            "event": "separation.ended",
            "separation": {
                "id": job_id,
                "status": status,
                "url": reverse("api:separation", args=[job_id]),
            },
            "attempt": attempt,
        }
    ).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(token.webhook_url, data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "demixer-webhook/1")
    request.add_header("X-Demixer-Timestamp", timestamp)
    request.add_header("X-Demixer-Signature", signature(token.webhook_secret, timestamp, body))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            return f"delivered ({response.status})"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "code", None) or getattr(exc, "reason", exc)
        if attempt >= ATTEMPTS:
            logger.warning("webhook for job %s: giving up after %d tries", job_id, attempt)
            return f"gave up ({reason})"
        delay = FIRST_RETRY_S * 2 ** (attempt - 1)
        later = deliver.using(run_after=timezone.now() + timedelta(seconds=delay))
        later.enqueue(job_id, status, token_id, attempt + 1)
        return f"failed ({reason}); retry in {delay} s"
