"""Scale-out: jobs delivered through a real Redis server (RQ) instead of the database queue.

The same upload -> enqueue on commit -> worker -> rows and files path as ``test_worker``, with
``DEMIXER_QUEUE=rq``'s task backend and the real engine. The last test is the scaled-out setup
itself: PostgreSQL, Redis and two separate worker processes sharing one queue. Tests skip, with
the reason, when Redis (or PostgreSQL, for the last) is unreachable; ``.ci/run`` starts both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from demixer.separation import rq_worker, services, tasks
from demixer.separation.management.commands import separation_worker
from demixer.separation.models import Separation, Status
from tests.services import PG_URL, REDIS_URL
from tests.web.conftest import run_worker, upload
from tests.web.test_postgres import postgres_unreachable

# the scaled-out queue on a real Redis, with real worker runs: make test, not test-fast
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def redis_unreachable(url: str = REDIS_URL) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} is unreachable: {exc}"
    return None


@pytest.fixture
def separation_queue(settings):
    """The RQ task backend on a scratch Redis database: the ``separation`` queue, emptied."""
    reason = redis_unreachable()
    if reason:
        pytest.skip(reason)
    import django_rq
    import redis
    from django_tasks_rq import Job

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "separation"]}
    }
    settings.RQ_QUEUES = {
        name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in ("default", "separation")
    }
    server = redis.Redis.from_url(REDIS_URL)
    server.flushdb()
    yield django_rq.get_queue("separation", job_class=Job)
    server.flushdb()


@pytest.mark.model
def test_an_upload_reaches_the_worker_through_redis(
    alice_client, make_clip, media_dir, separation_queue
) -> None:
    upload(alice_client, make_clip(3.0, seed=41))
    job = Separation.objects.get()
    assert job.status == Status.QUEUED
    assert separation_queue.count == 1
    [delivery] = separation_queue.get_jobs()
    assert list(delivery.args) == [str(job.id)]

    run_worker()  # the real command: RQ burst mode, jobs run in its own process

    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert [s.name for s in job.stems.all()] == ["drums", "bass", "other", "vocals"]
    for stem in job.stems.all():
        assert (media_dir / stem.master.name).stat().st_size > 1000
    assert separation_queue.count == 0
    delivery.refresh()
    assert delivery.get_status() == "finished" and delivery.return_value() == "done"


def test_a_job_of_a_dead_worker_is_delivered_again_through_redis(
    alice_client, make_clip, separation_queue
) -> None:
    upload(alice_client, make_clip(2.0, seed=43))
    job = Separation.objects.get()
    separation_queue.empty()  # its first delivery died with the worker
    Separation.objects.filter(id=job.id).update(
        status=Status.RUNNING,
        attempts=1,
        heartbeat=timezone.now() - timedelta(minutes=10),
        worker_id="dead:1",
    )
    assert services.recover_stale() == (1, 0)
    assert separation_queue.count == 1
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert job.attempts == 2 and job.stems.count() == 4


def test_a_stopping_worker_puts_its_job_back_on_the_redis_queue(
    alice_client, make_clip, separation_queue, monkeypatch
) -> None:
    upload(alice_client, make_clip(12.0, seed=45))
    job = Separation.objects.get()
    separation_queue.empty()
    real_report = services.report

    def report_then_stop(job_id, claim, progress, stage, eta):
        real_report(job_id, claim, progress, stage, eta)
        if stage == "separating":
            tasks.shutdown_requested.set()  # what SIGTERM does in the worker

    monkeypatch.setattr(services, "report", report_then_stop)
    try:
        assert tasks.separate_track.call(str(job.id)) == "requeued (worker stopping)"
    finally:
        tasks.shutdown_requested.clear()
    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert separation_queue.count == 1  # delivered again to whichever worker is free


def delivered_ids(queue) -> list[str]:
    return [str(delivery.args[0]) for delivery in queue.get_jobs()]


def test_queued_jobs_that_redis_lost_still_finish(
    alice_client, make_clip, separation_queue
) -> None:
    """Redis restarted without persistence (here: FLUSHDB) after two jobs were queued: the
    worker finds them queued in the database with no delivery, enqueues them again, runs them."""
    upload(alice_client, make_clip(2.0, seed=51))
    upload(alice_client, make_clip(2.0, seed=53))
    assert separation_queue.count == 2
    separation_queue.connection.flushdb()
    assert separation_queue.count == 0

    run_worker()  # the real command: it reconciles at start, then runs what is queued

    jobs = list(Separation.objects.all())
    assert [job.status for job in jobs] == [Status.DONE, Status.DONE], [j.error for j in jobs]
    assert all(job.stems.count() == 4 for job in jobs)
    assert separation_queue.count == 0


def test_the_reconciler_enqueues_only_the_deliveries_redis_lost(
    alice_client, make_clip, separation_queue
) -> None:
    upload(alice_client, make_clip(1.0, seed=55))
    upload(alice_client, make_clip(1.0, seed=57))
    first, second = Separation.objects.order_by("created")
    assert rq_worker.reconcile() == 0  # nothing lost: nothing delivered twice
    assert separation_queue.count == 2

    [lost] = [d for d in separation_queue.get_jobs() if d.args[0] == str(first.id)]
    separation_queue.remove(lost)
    assert rq_worker.reconcile() == 1
    assert sorted(delivered_ids(separation_queue)) == sorted([str(first.id), str(second.id)])
    assert rq_worker.reconcile() == 0  # idempotent

    services.cancel(second)
    separation_queue.connection.flushdb()
    assert rq_worker.reconcile() == 1  # the cancelled job is not delivered again
    assert delivered_ids(separation_queue) == [str(first.id)]


def test_one_reconciler_at_a_time(alice_client, make_clip, separation_queue) -> None:
    upload(alice_client, make_clip(1.0, seed=59))
    separation_queue.empty()
    separation_queue.connection.set(rq_worker.RECONCILE_LOCK, "another worker", ex=60)
    assert rq_worker.reconcile() == 0
    separation_queue.connection.delete(rq_worker.RECONCILE_LOCK)
    assert rq_worker.reconcile() == 1


def test_the_worker_reconciles_the_redis_queue_periodically(separation_queue, monkeypatch):
    reconciled = threading.Event()
    monkeypatch.setattr(separation_worker, "RECOVERY_INTERVAL", 0.01)
    monkeypatch.setattr(services, "recover_stale", lambda: (0, 0))
    monkeypatch.setattr(rq_worker, "reconcile", lambda: reconciled.set() or 0)
    with separation_worker._RecoveryLoop():
        assert reconciled.wait(timeout=30)


def _database_url() -> str:
    """This test run's own (test) database, for worker processes to share."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.model
@pytest.mark.slow
def test_two_worker_processes_share_one_redis_queue_on_postgresql(
    alice_client, make_clip, media_dir, separation_queue
) -> None:
    """The scaled-out setup: the web side enqueues two jobs; two separate worker processes
    (as on two hosts: each its own session, reaching the same PostgreSQL, Redis and storage)
    take one each."""
    if connection.vendor != "postgresql":
        reason = postgres_unreachable()
        if reason:
            pytest.skip(reason)
        pytest_args = ["-q", "-p", "no:cacheprovider", "-k", "two_worker", __file__]
        child = subprocess.run(
            [sys.executable, "-m", "pytest", *pytest_args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": PG_URL},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
        assert "1 passed" in child.stdout
        return

    upload(alice_client, make_clip(3.0, seed=47))
    upload(alice_client, make_clip(3.0, seed=49))
    assert separation_queue.count == 2
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEMIXER_QUEUE": "rq",
        "DEMIXER_REDIS_URL": REDIS_URL,
        "DEMIXER_MEDIA_DIR": str(media_dir),
    }
    command = [sys.executable, "manage.py", "separation_worker", "--batch", "--no-warm-up"]
    workers = [
        subprocess.Popen(
            [*command, "--max-jobs", "1", "--worker-name", f"host-{n}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in (1, 2)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output[-3000:]
    jobs = list(Separation.objects.all())
    assert [job.status for job in jobs] == [Status.DONE, Status.DONE], [j.error for j in jobs]
    assert all(job.stems.count() == 4 for job in jobs)
    assert separation_queue.count == 0
    # each worker claimed exactly one: claims carry the claiming process's pid
    claimants = {job.worker_id.rsplit(":", 1)[0] for job in jobs}
    assert len(claimants) == 2
