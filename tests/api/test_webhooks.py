"""Webhooks: when a job a token started ends, a JSON POST signed with the token's webhook
secret reaches its URL (a server on loopback here); a failed delivery is queued again later."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from django.utils import timezone

from demixer.api import tokens, webhooks
from demixer.api.models import JobOrigin, WebhookDelivery
from demixer.separation import services
from demixer.separation.models import Separation, Status
from tests.api.conftest import token_client
from tests.web.conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.answers.pop(0) if self.answers else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    Receiver.answers, Receiver.received = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", Receiver
    finally:
        server.shutdown()
        server.server_close()


def queued_job(alice, make_done_separation) -> Separation:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.QUEUED)
    return job


def test_a_job_started_by_a_token_is_told_to_its_webhook_signed(
    alice, make_done_separation, receiver
) -> None:
    url, handler = receiver
    token, raw = tokens.create(alice, "hooked", url)
    job = queued_job(alice, make_done_separation)
    again = token_client(raw).post(
        f"/api/v1/tracks/{job.track.id}/separations/",
        {"mode": "4"},
        content_type="application/json",
    )
    assert again.json()["separation"]["id"] == str(job.id)  # the job these options have
    assert JobOrigin.objects.get(separation=job).token == token
    assert token_client(raw).post(f"/api/v1/separations/{job.id}/cancel/").status_code == 200
    run_worker()
    [(headers, body)] = handler.received
    expected = hmac.new(
        token.webhook_secret.encode(),
        headers["X-Demixer-Timestamp"].encode() + b"." + body,
        hashlib.sha256,
    ).hexdigest()
    assert headers["X-Demixer-Signature"] == f"sha256={expected}"
    data = json.loads(body)
    assert data["event"] == "separation.ended"
    assert data["separation"] == {
        "id": str(job.id),
        "status": "cancelled",
        "url": f"/api/v1/separations/{job.id}/",
    }


def test_a_failed_delivery_is_tried_again_later(alice, make_done_separation, receiver) -> None:
    url, handler = receiver
    handler.answers = [500]
    token, _ = tokens.create(alice, "hooked", url)
    job = queued_job(alice, make_done_separation)
    JobOrigin.objects.create(separation=job, token=token)
    services.cancel(job)
    run_worker()
    assert len(handler.received) == 1
    first = WebhookDelivery.objects.get(attempt=1)
    assert (first.status, first.error) == (Status.FAILED, "500")
    retry = WebhookDelivery.objects.get(status=Status.QUEUED)
    assert retry.attempt == 2  # the second attempt
    assert retry.run_after > timezone.now()  # after a back-off, not at once
    assert not webhooks.JOBS.queued().exists()  # so not due yet


def test_no_webhook_for_jobs_of_the_site_or_of_revoked_tokens(
    alice, alice_client, make_done_separation, receiver
) -> None:
    url, handler = receiver
    token, _ = tokens.create(alice, "hooked", url)
    plain = queued_job(alice, make_done_separation)
    services.cancel(plain)  # started on the site: no origin
    other = make_done_separation(alice, title="Other")
    Separation.objects.filter(id=other.id).update(status=Status.QUEUED)
    JobOrigin.objects.create(separation=other, token=token)
    tokens.revoke(alice, token.id)
    services.cancel(other)
    run_worker()
    assert handler.received == []


def test_a_job_failed_by_the_stale_recovery_is_told_too(
    alice, make_done_separation, receiver, settings, media_dir
) -> None:
    """A job whose worker stopped beating once too often ends failed without any worker to say
    so: the recovery itself sends the webhook and removes the dead worker's stretches."""
    url, handler = receiver
    _, raw = tokens.create(alice, "hooked", url)
    job = queued_job(alice, make_done_separation)
    token_client(raw).post(
        f"/api/v1/tracks/{job.track.id}/separations/",
        {"mode": "4"},
        content_type="application/json",
    )
    Separation.objects.filter(id=job.id).update(
        status=Status.RUNNING, attempts=settings.SEPARATION_MAX_ATTEMPTS, heartbeat=None
    )
    live = media_dir / job.storage_dir() / "live" / "dead-claim"
    live.mkdir(parents=True)
    (live / "00000.f32").write_bytes(b"\0" * 8)  # a stretch its dead worker published
    assert services.recover_stale() == (0, 1)
    assert not live.exists()
    run_worker()  # delivers the queued webhook
    [(_, body)] = handler.received
    assert json.loads(body)["separation"]["status"] == "failed"
