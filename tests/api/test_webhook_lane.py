"""Webhook deliveries have a lane of their own: a receiver that answers one byte at a time,
forever, holds up no other user's download, and its delivery gives up at its deadline."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone

from demixer.api import tokens, webhooks
from demixer.api.models import WebhookDelivery
from demixer.jobs import loop as lanes
from demixer.jobs.status import Status
from tests.web.conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 120  # the longest the test waits for anything (never reached when it passes)


class Dripper:
    """A receiver on loopback that reads the request, then sends an HTTP answer one byte a
    half-second, never finishing, until the client hangs up."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + b"X-Slow: " + b"z" * 10_000

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connected, self.hung_up, self.stop = (threading.Event() for _ in range(3))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        self.connected.set()
        with conn:
            for byte in self.ANSWER:
                if self.stop.is_set():
                    return
                readable, _, _ = select.select([conn], [], [], 0.5)
                try:
                    if readable and not conn.recv(65536):
                        break  # the client hung up
                    conn.sendall(bytes([byte]))
                except OSError:
                    break
            self.hung_up.set()

    def close(self) -> None:
        self.stop.set()
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def dripper(settings) -> Iterator[Dripper]:
    settings.WEBHOOK_ALLOW = ["127.0.0.1"]
    server = Dripper()
    try:
        yield server
    finally:
        server.close()


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S} s for {what}"
        time.sleep(0.1)


@pytest.mark.slow  # a real receiver on a socket, waited on for the whole 8 s deadline
def test_a_dripping_receiver_holds_up_no_other_users_download(
    alice, bob, bob_client, make_done_separation, media_dir, dripper, monkeypatch
) -> None:
    monkeypatch.setattr(webhooks, "DEADLINE_S", 8.0)
    token, _ = tokens.create(alice, "hooked", f"http://127.0.0.1:{dripper.port}/hook")
    alices = make_done_separation(alice)
    webhooks.queue_delivery(token.id, str(alices.id), "done", attempt=1, run_after=timezone.now())
    bobs = make_done_separation(bob, title="Bob's")
    cached = media_dir / bobs.storage_dir() / "cache" / "vocals.mp3"
    # the worker's own lanes, as `separation_worker` runs them beside its separations
    with lanes.lanes_running():
        wait_for(dripper.connected.is_set, "the delivery to start")
        bob_client.get(reverse("stem-download", args=[bobs.id, "vocals", "mp3"]))
        # the test database is an in-memory SQLite shared between threads, which locks whole
        # tables: watch the file and the socket, not the rows, while the threads work
        wait_for(lambda: cached.exists() or dripper.hung_up.is_set(), "Bob's download")
        assert cached.exists() and not dripper.hung_up.is_set()  # done while the hook hangs
        wait_for(dripper.hung_up.is_set, "the delivery to give up")
    first = WebhookDelivery.objects.get(attempt=1)
    assert (first.status, first.error) == (Status.FAILED, "no answer within the deadline")
    retry = WebhookDelivery.objects.get(status=Status.QUEUED)
    assert retry.attempt == 2 and retry.run_after > first.finished


def test_deliveries_go_to_their_own_lane_with_the_redis_queue_too(
    alice, make_done_separation, settings, monkeypatch
) -> None:
    """With ``DEMIXER_QUEUE=rq`` the separations go through Redis; deliveries keep their lane
    in the database, and the worker (RQ's burst mode here) serves it."""
    from tests.services import REDIS_URL
    from tests.web.test_redis_queue import redis_unreachable

    if reason := redis_unreachable():
        pytest.skip(reason)
    import redis

    settings.TASKS = {
        **settings.TASKS,
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "separation"]},
    }
    settings.RQ_QUEUES = {
        name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in ("default", "separation")
    }
    redis.Redis.from_url(REDIS_URL).flushdb()
    delivered = []
    monkeypatch.setattr(webhooks.webhook_http, "post", lambda *args: delivered.append(1) or 204)
    settings.WEBHOOK_ALLOW = ["127.0.0.1"]
    token, _ = tokens.create(alice, "hooked", "http://127.0.0.1:9999/hook")
    job = make_done_separation(alice)
    webhooks.queue_delivery(token.id, str(job.id), "done", attempt=1, run_after=timezone.now())
    run_worker()
    assert delivered == [1]
    assert WebhookDelivery.objects.get().status == Status.DONE
