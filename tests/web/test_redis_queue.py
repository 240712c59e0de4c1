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
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from demixer.separation import services, tasks
from demixer.separation.models import Separation, Status
from tests.web.conftest import run_worker
from tests.web.test_postgres import PG_URL, postgres_unreachable
from tests.web.test_worker import upload

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.getenv("DEMIXER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]


def redis_unreachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc}"
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

    def report_then_stop(job_id, progress, stage, eta):
        real_report(job_id, progress, stage, eta)
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


def _database_url() -> str:
    """This test run's own (test) database, for worker processes to share."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


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
            [*command, "--max-jobs", "1", "--worker-id", f"host-{n}"],
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
