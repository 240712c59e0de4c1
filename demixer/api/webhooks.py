"""Webhooks: when a job a token started ends (done, failed, cancelled), a signed JSON POST to
that token's URL, retried with back-off.

The body is signed with the token's webhook secret: header ``X-Demixer-Signature:
sha256=<hex HMAC-SHA256 of "<X-Demixer-Timestamp>.<body>">``, so a receiver can check that it
came from here and is fresh. Deliveries are jobs of their own (:class:`WebhookDelivery` rows on
the one state machine) on a lane of their own, threads of every worker that never render or
separate, so a slow receiver holds up no one's downloads. Each one goes only where
``webhook_targets`` allows, to the address it checked, and ends within ``DEADLINE_S`` all told
(``webhook_http``); a failed one (no answer in time, a redirect, not 2xx) is tried again after
10 s, 20 s, 40 s, ... up to ``ATTEMPTS`` times. A refused URL is not tried again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from demixer.api import webhook_http, webhook_targets
from demixer.api.models import ApiToken, JobOrigin, WebhookDelivery
from demixer.jobs.machine import JobKind, claim_id
from demixer.jobs.status import Status

logger = logging.getLogger(__name__)

ATTEMPTS = 6
FIRST_RETRY_S = 10
DEADLINE_S = 10.0  # connect, TLS, send and the whole answer together
MAX_ANSWER = 64 * 1024  # bytes of a receiver's answer read, at most


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
        queue_delivery(origin.token_id, job_id, status, attempt=1, run_after=timezone.now())


def queue_delivery(
    token_id: int, job_id: str, status: str, *, attempt: int, run_after: datetime
) -> None:
    """A delivery of ``status`` for the job, due at ``run_after``."""
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
    try:
        target = webhook_targets.check(token.webhook_url)
    except webhook_targets.WebhookRefused as exc:  # not tried again: it would be refused again
        logger.warning("webhook for job %s refused: %s", delivery.separation_id, exc)
        JOBS.fail(delivery.id, claim, f"refused: {exc}")
        return f"refused ({exc})"
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
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "demixer-webhook/1",
        "X-Demixer-Timestamp": timestamp,
        "X-Demixer-Signature": signature(token.webhook_secret, timestamp, body),
    }
    try:
        answer = webhook_http.post(target, body, headers, DEADLINE_S, MAX_ANSWER)
    except webhook_http.DeliveryFailed as exc:
        return _again(delivery, claim, str(exc))
    if 200 <= answer < 300:
        JOBS.complete(delivery.id, claim)
        return f"delivered ({answer})"
    if 300 <= answer < 400:
        return _again(delivery, claim, f"{answer}, a redirect: not followed")
    return _again(delivery, claim, str(answer))


def _again(delivery: WebhookDelivery, claim: str, reason: str) -> str:
    """End this try as failed; queue the next after a back-off, or give up after
    ``ATTEMPTS``."""
    JOBS.fail(delivery.id, claim, reason)
    job_id = str(delivery.separation_id)
    if delivery.attempt >= ATTEMPTS:
        logger.warning("webhook for job %s: giving up after %d tries", job_id, delivery.attempt)
        return f"gave up ({reason})"
    delay = FIRST_RETRY_S * 2 ** (delivery.attempt - 1)
    later = timezone.now() + timedelta(seconds=delay)
    queue_delivery(
        delivery.token_id, job_id, delivery.event, attempt=delivery.attempt + 1, run_after=later
    )
    return f"failed ({reason}); retry in {delay} s"
