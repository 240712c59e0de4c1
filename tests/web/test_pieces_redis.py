"""Listen while it separates with jobs delivered through Redis (``DEMIXER_QUEUE=rq``'s task
backend, a real Redis server and the real worker command in RQ's burst mode): the pieces
join sample-exactly into the stems, the status page and the API report the ready seconds as
they grow, a cancel removes the pieces, and a retry through Redis (after a worker died, or
stopped) publishes its own pieces in place of the earlier attempt's.

As in ``test_pieces``, the worker separates with the stand-in session, which hands over each
piece as the engine does; the queue, the worker loop and the storage are real.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from demixer.separation import pieces, services, tasks
from demixer.separation.models import Separation, Status
from tests.web.conftest import run_worker, upload
from tests.web.test_pieces import (
    RATE,
    Recorder,
    check_published_run,
    live_files,
    running_job,
    synthetic,
)
from tests.web.test_redis_queue import separation_queue as redis_queue_fixture

# the scaled-out queue on a real Redis, with real worker runs: make test, not test-fast
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def separation_queue(settings):
    """The RQ task backend on a scratch Redis database (``test_redis_queue``'s fixture)."""
    yield from redis_queue_fixture.__wrapped__(settings)


def delivered_ids(queue) -> list[str]:
    return [str(delivery.args[0]) for delivery in queue.get_jobs()]


def test_pieces_through_redis_join_into_the_stems_and_the_ready_seconds_grow(
    alice_client, make_clip, media_dir, monkeypatch, separation_queue
) -> None:
    reported: list[tuple[float, float]] = []

    def ask_the_pages(publisher: pieces.Publisher, index: int) -> None:
        """What the job page's poll and an API client are told right after each piece."""
        job_id = publisher.job.id
        page = alice_client.get(reverse("separation-status", args=[job_id])).json()["ready"]
        api = alice_client.get(reverse("api:separation", args=[job_id])).json()["ready"]
        assert len(page["pieces"]) == len(api["pieces"]) == index + 1
        reported.append((page["ready_seconds"], api["ready_seconds"]))

    recorder = Recorder(monkeypatch, ask_the_pages)
    upload(alice_client, make_clip(13.0, seed=71))
    job = Separation.objects.get()
    assert delivered_ids(separation_queue) == [str(job.id)]

    run_worker()  # the real command: the RQ worker, jobs run in this process

    job.refresh_from_db()
    check_published_run(recorder, job)
    ends = [item["piece"].end / RATE for item in recorder.written]
    assert reported == [(end, end) for end in ends]
    assert ends == sorted(set(ends)) and ends[-1] == pytest.approx(13.0, abs=1 / RATE)
    assert separation_queue.count == 0
    assert alice_client.get(reverse("separation-status", args=[job.id])).json()["ready"] is None


def test_a_cancel_on_the_redis_backend_removes_the_pieces(
    alice_client, make_clip, media_dir, monkeypatch, separation_queue
) -> None:
    seen: list[list[str]] = []

    def cancel_after_first(publisher: pieces.Publisher, index: int) -> None:
        if index == 0:
            seen.append(live_files(publisher.job))
            # as the person does, from the page: the worker stops at its next piece
            response = alice_client.post(reverse("separation-cancel", args=[publisher.job.id]))
            assert response.status_code == 302

    recorder = Recorder(monkeypatch, cancel_after_first)
    upload(alice_client, make_clip(13.0, seed=72))
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.CANCELLED
    assert len(seen) == 1 and len(seen[0]) == 1  # the first piece was on storage
    assert len(recorder.written) == 1  # nothing recorded after the cancel
    assert live_files(job) == []  # and it is gone
    assert job.stems.count() == 0
    first = recorder.written[0]
    url = reverse("separation-piece", args=[job.id, first["token"], 0])
    assert alice_client.get(url).status_code == 404
    assert alice_client.get(reverse("separation-status", args=[job.id])).json()["ready"] is None
    assert separation_queue.count == 0  # not delivered again


@pytest.mark.parametrize("noticed_by", ["stale heartbeat", "serve's supervisor"])
def test_a_retry_through_redis_replaces_the_dead_attempts_pieces(
    alice_client, make_clip, media_dir, monkeypatch, settings, separation_queue, noticed_by
) -> None:
    settings.SEPARATION_MAX_ATTEMPTS = 2
    dead_pid = 999_999  # not this process: serve saw that worker die
    dead_id = f"{services.worker_name(dead_pid)}:dead0001"
    job = running_job(alice_client, make_clip, dead_id, seconds=13.0)
    separation_queue.empty()  # its delivery died with the worker
    dead = pieces.Publisher(job, dead_id)
    dead.start()
    dead(synthetic(0, RATE, 13 * RATE, seed=11))
    dead._pool.submit(lambda: None).result()
    assert len(live_files(job)) == 1
    assert Separation.objects.get().live["claim"] == dead.token
    at_first_write: list[list[str]] = []

    def note(publisher: pieces.Publisher, index: int) -> None:
        if index == 0:
            at_first_write.append(live_files(publisher.job))

    recorder = Recorder(monkeypatch, note)
    if noticed_by == "stale heartbeat":  # any worker's recovery loop
        assert services.recover_stale(timezone.now() + timedelta(hours=1)) == (1, 0)
        assert Separation.objects.get().live == {}  # the dead claim's pieces no longer count
        assert delivered_ids(separation_queue) == [str(job.id)]
        run_worker()
    else:  # `demixer serve` starts a new worker, naming the one that died
        call_command("separation_worker", "--batch", "--no-warm-up", "--dead-worker", str(dead_pid))

    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert job.attempts == 2
    retry = recorder.written[0]["token"]
    assert retry != dead.token
    # when the retry published its first piece, only its own were there
    assert at_first_write == [[pieces.piece_name(job, retry, 0)]]
    assert all(item["row"].live["claim"] == retry for item in recorder.written)
    check_published_run(recorder, job)
    # the dead worker wakes up and publishes again: not recorded, and its file is removed
    dead(synthetic(RATE, 2 * RATE, 13 * RATE, seed=12))
    dead.discard()
    job.refresh_from_db()
    assert job.live["claim"] == retry
    assert live_files(job) == []
    assert separation_queue.count == 0


def test_a_stopping_worker_hands_its_job_to_the_next_with_fresh_pieces(
    alice_client, make_clip, media_dir, monkeypatch, separation_queue
) -> None:
    """SIGTERM while a job publishes: the job goes back on the Redis queue with its pieces
    removed, and the worker that takes it next publishes its own from the start."""

    stops: list[str] = []

    def stop_after_first(publisher: pieces.Publisher, index: int) -> None:
        if index == 0 and not stops:  # the first worker only
            stops.append(publisher.token)
            tasks.shutdown_requested.set()  # what SIGTERM does in the worker

    recorder = Recorder(monkeypatch, stop_after_first)
    upload(alice_client, make_clip(13.0, seed=73))
    job = Separation.objects.get()
    try:
        call_command("separation_worker", "--batch", "--no-warm-up", "--max-jobs", "1")
    finally:
        tasks.shutdown_requested.clear()
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.live == {} and job.ready_seconds == 0.0
    # (the stand-in may have handed over the rest before the worker saw the stop)
    assert [item["token"] for item in recorder.written][:1] == stops
    stopped = stops[0]
    assert live_files(job) == []  # all of the stopped claim's removed
    assert delivered_ids(separation_queue) == [str(job.id)]

    recorder.written.clear()
    run_worker()
    job.refresh_from_db()
    assert recorder.written[0]["token"] != stopped
    check_published_run(recorder, job)
