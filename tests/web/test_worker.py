"""The real worker through the queue: upload -> queued row -> ``separation_worker --batch`` (its
loop claims the rows) -> rows and stem files. The core flow runs the real engine with the real
weights (``model``); the tests of the worker's bookkeeping (cancel, requeue, failures,
takeovers) run the real ``separate_file`` around the stand-in session, which reports progress
and honours cancel per segment as the engine does.

These tests use real transactions (the enqueue happens on commit, the worker claims with its
own transactions), so they run with ``transaction=True``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import soundfile as sf
from django.urls import reverse
from django.utils import timezone

from demixer.engine import separate as engine_separate
from demixer.jobs.signals import job_queued
from demixer.separation import masters, services, tasks
from demixer.separation.models import Separation, Status, Stem
from demixer.tracks.models import Track
from tests.web.conftest import media_files, run_worker, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.model
def test_core_flow_upload_queue_worker_result(alice_client, make_clip, model, media_dir) -> None:
    """Sign-in user uploads, the job is queued, the real worker separates it, the result page
    lists four stems with files that decode, and the status endpoint says done."""
    clip = make_clip(5.0, seed=21, kind="mp3")
    response = upload(alice_client, clip)
    job = Separation.objects.get()
    assert response.url == reverse("separation-detail", args=[job.id])
    assert job.status == Status.QUEUED
    # the rows are the queue (no Redis here): the worker's loop will claim this one first
    assert services.JOBS.queued().values_list("id", flat=True).first() == job.id

    page = alice_client.get(response.url).content.decode()
    assert 'id="job"' in page and "Position 1 in the queue" in page

    run_worker()

    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert job.progress == 1.0 and job.attempts == 1 and job.error == ""
    assert job.started <= job.finished
    stems = list(job.stems.all())
    assert [s.name for s in stems] == ["drums", "bass", "other", "vocals"]
    duration = Track.objects.get().duration
    for stem in stems:
        master = media_dir / stem.master.name
        info = sf.info(master)
        assert (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_24", 44100)
        assert info.duration == pytest.approx(duration, abs=0.06)
        assert (media_dir / stem.preview.name).stat().st_size > 1000
        # what the storage quota counts
        assert stem.size == master.stat().st_size + (media_dir / stem.preview.name).stat().st_size
        assert len(stem.peaks) == 800 and 0 <= min(stem.peaks) <= max(stem.peaks) <= 1
    assert max(max(s.peaks) for s in stems) == 1.0

    status = alice_client.get(reverse("separation-status", args=[job.id])).json()
    assert status["status"] == "done" and status["percent"] == 100

    result = alice_client.get(reverse("separation-detail", args=[job.id]))
    assert [s["name"] for s in result.context["stems"]] == ["drums", "bass", "other", "vocals"]
    assert result.context["instrumental_url"] and result.context["zip_url"]
    assert tasks.run_next() is None  # nothing left in the queue


def test_two_stem_mode_gives_vocals_and_no_vocals(alice_client, make_clip, media_dir) -> None:
    upload(alice_client, make_clip(2.0, seed=22), mode="2")
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.DONE, job.error
    assert [s.name for s in job.stems.all()] == ["vocals", "no_vocals"]
    result = alice_client.get(reverse("separation-detail", args=[job.id]))
    assert [s["label"] for s in result.context["stems"]] == ["Vocals", "Instrumental"]


def test_a_long_track_is_separated_into_a_file_not_memory(
    alice_client, make_clip, media_dir, settings, monkeypatch
) -> None:
    settings.SEPARATION_LOW_MEMORY_MINUTES = 1 / 60  # "long" = over one second, for the test
    seen = []
    real = engine_separate.separate_file

    def spy(path, options, **kwargs):
        seen.append(options.low_memory)
        return real(path, options, **kwargs)

    monkeypatch.setattr(engine_separate, "separate_file", spy)  # the task imports it per job
    upload(alice_client, make_clip(2.0, seed=27))
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.DONE, job.error
    assert seen == [True] and job.stems.count() == 4


def test_cancel_a_queued_job(alice_client, make_clip, media_dir) -> None:
    upload(alice_client, make_clip(2.0, seed=23))
    job = Separation.objects.get()
    response = alice_client.post(reverse("separation-cancel", args=[job.id]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert tasks.run_next() is None  # the worker finds nothing queued
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.CANCELLED and job.attempts == 0
    assert not Stem.objects.exists()


def test_cancel_a_running_job(alice_client, make_clip, media_dir, monkeypatch) -> None:
    """The owner presses Cancel while the engine runs: it stops at the next chunk."""
    upload(alice_client, make_clip(12.0, seed=24))  # two model segments
    job = Separation.objects.get()
    seen: list[float] = []
    real_report = services.report

    def report_then_cancel(job_id, claim, progress, stage, eta):
        real_report(job_id, claim, progress, stage, eta)
        seen.append(progress)
        if stage == "separating" and len(seen) == 2:  # the first progress report
            assert Separation.objects.get(id=job_id).status == Status.RUNNING
            alice_client.post(reverse("separation-cancel", args=[job_id]))

    monkeypatch.setattr(services, "report", report_then_cancel)
    monkeypatch.setattr(tasks, "PROGRESS_INTERVAL", 0.0)
    assert tasks.run_next() == "cancelled"
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.progress < 0.9
    assert len(seen) == 2  # no report after the cancel: the engine stopped at its next chunk
    assert not Stem.objects.exists()
    assert media_files(media_dir / "separations") == []


def test_a_killed_worker_left_a_job_running_it_is_requeued_and_finished(
    alice_client, make_clip, media_dir
) -> None:
    upload(alice_client, make_clip(2.0, seed=25))
    job = Separation.objects.get()
    stale = timezone.now() - timedelta(minutes=10)
    Separation.objects.filter(id=job.id).update(
        status=Status.RUNNING, attempts=1, heartbeat=stale, progress=0.4, worker_id="dead:1"
    )
    run_worker()  # recovers at start, then runs the requeued job
    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    assert job.attempts == 2
    assert job.stems.count() == 4


def test_a_job_whose_worker_died_twice_is_failed_with_a_message(alice_client, make_clip) -> None:
    upload(alice_client, make_clip(2.0, seed=26))
    job = Separation.objects.get()
    Separation.objects.filter(id=job.id).update(
        status=Status.RUNNING, attempts=2, heartbeat=timezone.now() - timedelta(minutes=10)
    )
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "worker stopped while separating this track" in job.error
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert "worker stopped while separating" in page and 'id="retry-button"' in page


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(alice_client, make_clip) -> None:
    upload(alice_client, make_clip(2.0, seed=27))
    job = Separation.objects.get()
    Separation.objects.filter(id=job.id).update(
        status=Status.RUNNING, attempts=1, heartbeat=timezone.now()
    )
    assert services.recover_stale() == (0, 0)
    job.refresh_from_db()
    assert job.status == Status.RUNNING


def test_an_undecodable_original_fails_with_a_readable_reason(alice_client, make_clip, media_dir):
    upload(alice_client, make_clip(2.0, seed=28))
    track = Track.objects.get()
    (media_dir / track.original.name).write_bytes(b"\x00garbage" * 1000)  # rotted on disk
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.FAILED
    assert "not a recognised audio file" in job.error
    assert "Traceback" not in job.error and "/" not in job.error.split(":")[0]
    status = alice_client.get(reverse("separation-status", args=[job.id])).json()
    assert status["error"] == job.error


def test_a_task_for_a_deleted_job_is_harmless(alice) -> None:
    assert tasks.separate_track.call("00000000-0000-0000-0000-000000000000") == "no such job"


def test_worker_shutdown_puts_the_running_job_back_in_the_queue(
    alice_client, make_clip, monkeypatch
) -> None:
    upload(alice_client, make_clip(12.0, seed=29))
    job = Separation.objects.get()
    real_report = services.report
    stages: list[str] = []

    def report_then_stop(job_id, claim, progress, stage, eta):
        real_report(job_id, claim, progress, stage, eta)
        stages.append(stage)
        if stage == "separating":
            tasks.shutdown_requested.set()  # what SIGTERM does in the worker command

    monkeypatch.setattr(services, "report", report_then_stop)
    monkeypatch.setattr(tasks, "PROGRESS_INTERVAL", 0.0)  # every report, none skipped
    queued_again: list[str] = []

    def heard(sender: object, job_id: str, **kwargs: object) -> None:
        queued_again.append(job_id)

    job_queued.connect(heard)
    try:
        call = tasks.separate_track.call(str(job.id))
    finally:
        tasks.shutdown_requested.clear()
        job_queued.disconnect(heard)
    assert call == "requeued (worker stopping)"
    assert stages == ["decoding", "separating"]  # stopped at the next chunk
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.attempts == 0
    assert queued_again == [str(job.id)]  # delivered again (with Redis, a new delivery)


def test_a_failure_while_writing_stems_leaves_no_files(
    alice_client, make_clip, media_dir, monkeypatch
) -> None:
    upload(alice_client, make_clip(2.0, seed=30))
    job = Separation.objects.get()
    real_preview = masters.write_preview
    written: list[str] = []

    def preview_then_disk_full(wav, path, rate):
        if written:
            raise OSError(28, "No space left on device")
        written.append(path.name)
        return real_preview(wav, path, rate)

    monkeypatch.setattr(masters, "write_preview", preview_then_disk_full)
    assert tasks.separate_track.call(str(job.id)) == "failed (storage full)"
    job.refresh_from_db()
    assert job.status == Status.FAILED and "storage is full" in job.error  # the real reason
    assert written == ["drums.mp3"]  # the first stem was stored before the failure
    assert media_files(media_dir / "separations") == []


def test_a_worker_taken_for_dead_stops_and_leaves_the_new_workers_result_alone(
    alice_client, make_clip, media_dir, monkeypatch
) -> None:
    """A worker that stalled past the stale limit (its job was requeued and run by another
    worker) wakes up: it must stop, and must neither fail, requeue nor delete the other's work."""
    upload(alice_client, make_clip(2.0, seed=31))
    job = Separation.objects.get()
    stalled = services.claim(str(job.id), "stalled:1")
    assert stalled is not None
    later = timezone.now() + timedelta(minutes=10)
    assert services.recover_stale(now=later) == (1, 0)
    run_worker()  # another worker claims the requeued job and finishes it
    job.refresh_from_db()
    assert job.status == Status.DONE and job.worker_id != "stalled:1"
    stems = [media_dir / s.master.name for s in job.stems.all()]
    assert len(stems) == 4 and all(p.exists() for p in stems)

    # the stalled worker comes back: the job is no longer its own
    assert not services.still_wanted(str(job.id), "stalled:1")
    assert not services.requeue(str(job.id), "stalled:1")
    assert not services.fail(str(job.id), "stalled:1", "boom")
    mine = [
        services.StemFiles(s.name, s.master.name, s.preview.name, s.peaks) for s in job.stems.all()
    ]
    assert not services.complete(str(job.id), "stalled:1", mine)
    assert tasks._run(stalled) == "cancelled"  # stops at its first check
    # taken over just after its last check, it fails while writing: the files are not its own
    monkeypatch.setattr(services, "still_wanted", lambda *args: True)
    monkeypatch.setattr(masters, "write_master", lambda *args: (_ for _ in ()).throw(OSError()))
    assert tasks._run(stalled) == "failed (unexpected error)"
    job.refresh_from_db()
    assert job.status == Status.DONE and job.error == "" and job.stems.count() == 4
    assert all(p.exists() for p in stems)
