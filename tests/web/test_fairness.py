"""Sharing the workers between users: users take turns, the position and wait a user is shown
come from the order the workers really take, a job put back in the queue says so at once, and
per-user quotas refuse new jobs with a message and keep nothing.

The worker tests run the real worker command in batch mode with the engine run faked (only
``tasks._run``: the claim, the delivery and the rows are real); ``test_worker`` and
``test_redis_queue`` run the same worker with the real engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from demixer.separation import queue, quotas, services, tasks
from demixer.separation.models import Separation, Status, Stem
from demixer.tracks.models import Track
from tests.web.conftest import media_files, run_worker, upload


def make_track(user, title: str, duration: float = 3.0) -> Track:
    return Track.objects.create(
        owner=user,
        title=title,
        original=f"tracks/{user.pk}/{title}/original.wav",
        original_name=f"{title}.wav",
        sha256=f"{user.pk}-{title}".ljust(64, "0"),
        size=1000,
        duration=duration,
        sample_rate=44100,
        channels=2,
    )


def queue_jobs(user, count: int, duration: float = 3.0) -> list[Separation]:
    """``count`` new jobs of ``user``, through the service that uploads use (enqueued too)."""
    first = Track.objects.filter(owner=user).count()
    return [
        services.start(make_track(user, f"{user.username}{first + n + 1}", duration))[0]
        for n in range(count)
    ]


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user("carol", "carol@example.com", "pw-carol-123")


@pytest.fixture
def ran(monkeypatch) -> list[str]:
    """The titles of the jobs the worker ran, in order; the engine's part is skipped."""
    order: list[str] = []

    def fake_run(job: Separation, *rest: object) -> str:
        order.append(job.track.title)
        assert services.complete(str(job.id), job.worker_id, [])
        return "done"

    monkeypatch.setattr(tasks, "_run", fake_run)
    return order


def positions(client: Client, jobs: list[Separation]) -> list[str]:
    """The jobs' titles in the order their owners are told (status JSON's queue_position)."""
    shown = {
        job.track.title: client.get(reverse("separation-status", args=[job.id])).json()
        for job in jobs
    }
    assert all(s["status"] == "queued" for s in shown.values())
    return sorted(shown, key=lambda title: shown[title]["queue_position"])


@pytest.mark.django_db(transaction=True)
def test_one_users_many_jobs_do_not_hold_up_another_user(alice, bob, ran) -> None:
    """The reported case: alice queues several jobs, then bob one; bob's runs second, not
    last (first-come-first-served across users would run it last)."""
    queue_jobs(alice, 4)
    queue_jobs(bob, 1)
    run_worker()
    assert ran == ["alice1", "bob1", "alice2", "alice3", "alice4"]
    assert set(Separation.objects.values_list("status", flat=True)) == {Status.DONE}


@pytest.mark.django_db(transaction=True)
def test_the_position_shown_is_the_order_the_worker_runs(alice, bob, carol, ran) -> None:
    """Three users, jobs queued in a mixed order, alice served a moment ago: users never
    served go first, and the positions shown before the run are the order of the run."""
    served = make_track(alice, "earlier")
    Separation.objects.create(
        track=served, status=Status.DONE, started=timezone.now() - timedelta(minutes=1)
    )
    jobs = [
        *queue_jobs(alice, 1),
        *queue_jobs(bob, 1),
        *queue_jobs(alice, 1),
        *queue_jobs(carol, 1),
        *queue_jobs(bob, 1),
        *queue_jobs(alice, 1),
    ]
    clients = {}
    for user in (alice, bob, carol):
        clients[user.pk] = Client()
        clients[user.pk].force_login(user)
    shown = {}
    for job in jobs:
        status = clients[job.track.owner_id].get(reverse("separation-status", args=[job.id]))
        shown[job.track.title] = status.json()["queue_position"]
    predicted = sorted(shown, key=shown.__getitem__)
    assert sorted(shown.values()) == [1, 2, 3, 4, 5, 6]
    assert predicted == ["bob1", "carol1", "alice2", "bob2", "alice3", "alice4"]

    run_worker()
    assert ran == predicted


@pytest.mark.django_db(transaction=True)
def test_a_delivery_for_a_cancelled_job_runs_the_next_one_and_none_is_lost(alice, bob, ran) -> None:
    """A cancelled job leaves the queue: the worker's loop runs the others in the fair order,
    each exactly once, and nothing is left queued."""
    first, second = queue_jobs(alice, 2)
    (third,) = queue_jobs(bob, 1)
    assert services.cancel(first)
    run_worker()
    assert ran == ["alice2", "bob1"]  # alice was never served: her next job goes first
    assert not services.JOBS.queued().exists()
    assert Separation.objects.get(id=first.id).status == Status.CANCELLED
    assert Separation.objects.get(id=second.id).attempts == 1
    assert Separation.objects.get(id=third.id).attempts == 1


def running(job: Separation, *, beat_ago: float, worker_id: str = "host:1:abc") -> None:
    """Put ``job`` in the state its worker left it in: 57 % done, 17 s left."""
    Separation.objects.filter(id=job.id).update(
        status=Status.RUNNING,
        attempts=1,
        started=timezone.now() - timedelta(seconds=60),
        heartbeat=timezone.now() - timedelta(seconds=beat_ago),
        progress=0.57,
        stage="separating",
        eta_seconds=17.0,
        worker_id=worker_id,
    )


@pytest.mark.parametrize("how", ["stale heartbeat", "dead worker", "worker stopping"])
@pytest.mark.django_db(transaction=True)
def test_a_requeued_job_says_queued_first_in_line_at_once(
    alice, alice_client, bob, ran, how
) -> None:
    (job,) = queue_jobs(alice, 1)
    queue_jobs(bob, 2)  # others waiting: the put-back job still goes first
    if how == "stale heartbeat":
        running(job, beat_ago=600)
        assert services.recover_stale() == (1, 0)
    elif how == "dead worker":
        running(job, beat_ago=1, worker_id=f"{services.worker_name(4242)[:55]}:abc")
        assert services.recover_dead_worker(4242) == (1, 0)
    else:
        running(job, beat_ago=1)
        assert services.requeue(str(job.id), "host:1:abc")

    status = alice_client.get(reverse("separation-status", args=[job.id])).json()
    assert status["status"] == "queued" and status["status_label"] == "Queued"
    assert status["queue_position"] == 1
    assert (status["percent"], status["stage"], status["eta_seconds"]) == (0, "", None)
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert "Position 1 in the queue" in page and "57%" not in page and "17 s" not in page

    run_worker()
    assert ran == ["alice1", "bob1", "bob2"]


@pytest.mark.django_db
def test_a_running_job_whose_worker_went_silent_shows_no_stale_estimate(
    alice, alice_client
) -> None:
    (job,) = queue_jobs(alice, 1)
    running(job, beat_ago=5)
    status = alice_client.get(reverse("separation-status", args=[job.id])).json()
    assert (status["stage"], status["eta_seconds"]) == ("separating", 17)

    running(job, beat_ago=queue.SILENT_SECONDS + 5)  # not yet stale enough to be requeued
    status = alice_client.get(reverse("separation-status", args=[job.id])).json()
    assert status["status"] == "running"
    assert (status["stage"], status["eta_seconds"]) == ("worker not responding", None)
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert "Worker not responding" in page and "17 s left" not in page


@pytest.mark.django_db
def test_the_wait_comes_from_recent_speed_and_the_work_ahead(alice, alice_client, bob) -> None:
    (mine,) = queue_jobs(alice, 1, duration=4.0)
    status = alice_client.get(reverse("separation-status", args=[mine.id])).json()
    assert status["queue_position"] == 1 and status["wait_seconds"] is None  # no speed known

    now = timezone.now()
    finished = make_track(bob, "finished", duration=10.0)
    Separation.objects.create(  # 20 s for 10 s of audio: 2 s per second
        track=finished,
        status=Status.DONE,
        started=now - timedelta(hours=2, seconds=20),
        finished=now - timedelta(hours=2),
    )
    (busy,) = queue_jobs(bob, 1, duration=30.0)
    running(busy, beat_ago=1)  # 17 s left
    (ahead,) = queue_jobs(bob, 1, duration=5.0)
    Separation.objects.filter(id=ahead.id).update(started=now)  # put back: it goes first
    status = alice_client.get(reverse("separation-status", args=[mine.id])).json()
    assert status["queue_position"] == 2
    assert status["wait_seconds"] == 17 + 2 * 5
    page = alice_client.get(reverse("separation-detail", args=[mine.id])).content.decode()
    assert "starts in about 27 s" in page


# Quotas ---------------------------------------------------------------------------------------


@pytest.fixture
def stored(media_dir: Path) -> Callable[[], list[Path]]:
    return lambda: media_files(media_dir)


@pytest.mark.django_db
def test_the_waiting_jobs_limit_refuses_an_upload_and_keeps_nothing(
    alice, alice_client, bob, clips, settings, stored
) -> None:
    settings.MAX_QUEUED_PER_USER = 2
    queue_jobs(alice, 2)
    queue_jobs(bob, 2)  # other users' jobs do not count
    response = upload(alice_client, clips["flac"])
    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors()
    assert error == (
        "Queue limit: you have 2 separations waiting or running; 2 at a time is the limit. "
        "Start more when one has finished."
    )
    assert error in response.content.decode()
    assert Track.objects.filter(owner=alice).count() == 2 and Separation.objects.count() == 4
    assert stored() == []

    settings.MAX_QUEUED_PER_USER = 0  # unlimited
    assert upload(alice_client, clips["flac"]).status_code == 302


@pytest.mark.django_db
def test_an_upload_of_several_files_counts_them_all(alice, alice_client, clips, settings) -> None:
    settings.MAX_QUEUED_PER_USER = 3
    queue_jobs(alice, 1)
    response = upload(alice_client, clips["flac"], clips["wav16"], clips["mp3"])
    [error] = response.context["form"].non_field_errors()
    assert "you have 1 separation waiting or running and these files would add 3" in error
    assert Separation.objects.count() == 1


@pytest.mark.django_db
def test_the_storage_limit_refuses_an_upload_and_keeps_nothing(
    alice, alice_client, clips, settings, stored
) -> None:
    settings.STORAGE_MB_PER_USER = 1
    (job,) = queue_jobs(alice, 1)
    Stem.objects.create(separation=job, name="drums", size=1024 * 1024 - 1000)  # + 1000 original
    assert quotas.storage_used(alice.pk) == 1024 * 1024
    response = upload(alice_client, clips["flac"])
    [error] = response.context["form"].non_field_errors()
    assert error.startswith("Storage limit: your tracks and stems take 1.0\xa0MB of your 1.0\xa0MB")
    assert "Delete tracks you no longer need" in error
    assert Track.objects.count() == 1 and stored() == []

    settings.STORAGE_MB_PER_USER = 0  # unlimited: accepted
    assert upload(alice_client, clips["flac"]).status_code == 302
    settings.STORAGE_MB_PER_USER = 1
    again = upload(alice_client, clips["flac"])  # the same file and options: nothing new
    assert again.url == reverse("separation-detail", args=[Separation.objects.latest("created").id])
    assert Separation.objects.count() == 2


@pytest.mark.django_db
def test_the_daily_minutes_limit_says_when_it_frees_up(
    alice, alice_client, clips, settings, stored
) -> None:
    settings.MINUTES_PER_DAY = 0.09  # 5.4 s
    (old,) = queue_jobs(alice, 1, duration=4.0)
    Separation.objects.filter(id=old.id).update(created=timezone.now() - timedelta(hours=25))
    assert upload(alice_client, clips["flac"]).status_code == 302  # 3 s: the old job is past

    response = upload(alice_client, clips["wav16"])  # 3 + 3 s > 5.4 s
    [error] = response.context["form"].non_field_errors()
    assert error.startswith(
        "Daily limit: you have separated 3 s of your 5 s of audio in the last 24 hours "
        "and this needs 3 s; it fits again in 23\xa0hours, 59\xa0minutes"
    )
    assert Track.objects.count() == 2 and Separation.objects.count() == 2
    assert len(stored()) == 1  # the first upload's original only

    settings.MINUTES_PER_DAY = 0.02  # 1.2 s
    [error] = upload(alice_client, clips["wav16"]).context["form"].non_field_errors()
    assert error == (
        "Daily limit: these tracks are 3 s long, more than the 1 s of audio you may "
        "separate in 24 hours. Upload fewer at once."
    )


@pytest.mark.django_db
def test_separate_again_past_a_limit_says_so_and_starts_nothing(
    alice, alice_client, settings
) -> None:
    settings.MAX_QUEUED_PER_USER = 1
    first, *_ = queue_jobs(alice, 1)
    track = make_track(alice, "other")
    response = alice_client.post(
        reverse("track-separate", args=[track.id]),
        {"mode": "4"},
        HTTP_REFERER="http://testserver" + reverse("library"),
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith(reverse("library"))
    assert "Queue limit: you have 1 separation waiting or running" in response.content.decode()
    assert Separation.objects.count() == 1

    # the same options as a job on its way: that job, as ever, whatever the limit
    response = alice_client.post(reverse("track-separate", args=[first.track.id]), {"mode": "4"})
    assert response.url == reverse("separation-detail", args=[first.id])


@pytest.mark.django_db
def test_a_quota_taken_between_check_and_start_keeps_nothing(
    alice, alice_client, clips, monkeypatch, stored
) -> None:
    """Another request of the same user takes the room after the upload was checked: the track
    just stored is removed again, and the user is told why."""
    real_check = quotas.check
    calls = []

    def check_then_full(owner_id, durations, new_bytes=0, now=None):
        calls.append(durations)
        if len(calls) > 1:
            raise quotas.QuotaExceeded("Queue limit: taken meanwhile.")
        real_check(owner_id, durations, new_bytes, now)

    monkeypatch.setattr(quotas, "check", check_then_full)
    response = upload(alice_client, clips["flac"])
    assert response.context["form"].non_field_errors() == ["Queue limit: taken meanwhile."]
    assert len(calls) == 2
    assert not Track.objects.exists() and stored() == []
