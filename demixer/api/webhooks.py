"""Webhooks: when a job a token started ends (done, failed, cancelled), a signed JSON POST to
that token's URL, retried with back-off.

The body is signed with the token's webhook secret: header ``X-Demixer-Signature:
sha256=<hex HMAC-SHA256 of "<X-Demixer-Timestamp>.<body>">``, so a receiver can check that it
came from here and is fresh. Deliveries are jobs of their own (:class:`WebhookDelivery` rows on
the one state machine) on a lane of their own, a thread of every worker beside separations and
renders, so a slow receiver holds up nothing else; a failed one (no answer, or not 2xx) is tried
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
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from demixer.api.models import ApiToken, JobOrigin, WebhookDelivery
from demixer.jobs.machine import JobKind, claim_id
from demixer.jobs.status import Status

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


class WebhookJobs(JobKind[WebhookDelivery]):
    """Webhook deliveries on the one state machine: due ones first, oldest first."""

    name = "webhook"
    error_length = 300

    def queued(self) -> QuerySet[WebhookDelivery]:
        return (
            self.rows()
            .filter(status=Status.QUEUED, run_after__lte=timezone.now())
            .order_by("run_after", "created")
        )

    def rows(self) -> QuerySet[WebhookDelivery]:
        return WebhookDelivery.objects.select_related("token")


JOBS = WebhookJobs(WebhookDelivery)


def job_ended(sender: object, job_id: str, status: str, **kwargs: object) -> None:
    """The ``job_ended`` receiver (separations): queue a delivery to the webhook of the token
    that started the job, if any."""
    origin = (
        JobOrigin.objects.select_related("token")
        .filter(separation_id=job_id, token__revoked__isnull=True)
        .exclude(token__webhook_url="")
        .first()
    )
    if origin is not None:
        _queue(origin.token_id, job_id, status, attempt=1, run_after=timezone.now())


def _queue(token_id: int, job_id: str, status: str, *, attempt: int, run_after: datetime) -> None:
    delivery = WebhookDelivery.objects.create(
        token_id=token_id, separation_id=job_id, event=status, attempt=attempt, run_after=run_after
    )
    JOBS.enqueue(delivery.id)


def take_next() -> bool:
    """The webhook lane's step: make the first due delivery; False when none is due."""
    claim = claim_id()
    delivery = JOBS.claim_next(claim)
    if delivery is None:
        return False
    deliver(delivery, claim)
    return True


def deliver(delivery: WebhookDelivery, claim: str) -> str:
    """POST the signed event; a failure ends this try and queues the next after a back-off."""
    token = delivery.token
    if token.revoked is not None or not token.webhook_url:
        JOBS.fail(delivery.id, claim, "dropped: the token was revoked or its webhook removed")
        return "dropped (token revoked or webhook removed)"
    job_id = str(delivery.separation_id)
    body = json.dumps(
        {
            "event": "separation.ended",
            "separation": {
                "id": job_id,
                "status": delivery.event,
                "url": reverse("api:separation", args=[job_id]),
            },
            "attempt": delivery.attempt,
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
            JOBS.complete(delivery.id, claim)
            return f"delivered ({response.status})"
    except (urllib.error.URLError, OSError) as exc:
        reason = str(getattr(exc, "code", None) or getattr(exc, "reason", exc))
        JOBS.fail(delivery.id, claim, reason)
        if delivery.attempt >= ATTEMPTS:
            logger.warning("webhook for job %s: giving up after %d tries", job_id, delivery.attempt)
            return f"gave up ({reason})"
        delay = FIRST_RETRY_S * 2 ** (delivery.attempt - 1)
        later = timezone.now() + timedelta(seconds=delay)
        _queue(token.id, job_id, delivery.event, attempt=delivery.attempt + 1, run_after=later)
        return f"failed ({reason}); retry in {delay} s"
