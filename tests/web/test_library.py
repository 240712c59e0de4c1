"""The library: newest first with name, duration, status and date, every separation of a track;
separate again with other options; rename; delete (files too); and the job page's live status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from demixer.separation import services, signals
from demixer.separation.models import Quality, Separation, Status
from demixer.tracks.models import Track
from tests.web.conftest import media_files, run_worker

pytestmark = pytest.mark.django_db


def test_library_lists_tracks_newest_first_with_status(alice, alice_client, make_done_separation):
    old = make_done_separation(alice, title="Old Song")
    Track.objects.filter(id=old.track.id).update(created=timezone.now() - timedelta(days=3))
    new = make_done_separation(alice, title="New Song")
    Separation.objects.filter(id=new.id).update(status=Status.RUNNING, progress=0.42)
    page = alice_client.get(reverse("library")).content.decode()
    assert page.index("New Song") < page.index("Old Song")
    assert "Running 42%" in page and "Done" in page
    assert "0:06" in page  # duration
    assert reverse("separation-detail", args=[new.id]) in page


def test_every_separation_of_a_track_stays_listed_with_its_options(
    alice, alice_client, make_done_separation
) -> None:
    """A 2-stem job after a 4-stem one must not hide the 4-stem result."""
    four = make_done_separation(alice)
    two = Separation.objects.create(
        track=four.track, two_stems="vocals", quality=Quality.FAST, status=Status.DONE
    )
    failed = Separation.objects.create(track=four.track, status=Status.FAILED, error="boom")
    page = alice_client.get(reverse("library")).content.decode()
    assert page.count('class="separation"') == 3
    for job in (four, two, failed):
        assert reverse("separation-detail", args=[job.id]) in page
    assert "4 stems, best" in page and "2 stems (vocals / rest), fast" in page
    assert page.count('status-done">Done') == 2 and 'status-failed">Failed' in page
    assert page.index(str(failed.id)) < page.index(str(two.id)) < page.index(str(four.id))
    assert page.count(f'datetime="{four.created:%Y-%m-%d}') >= 2  # added, and separated


def test_separate_again_with_other_options_from_the_library(
    alice, alice_client, make_done_separation
) -> None:
    four = make_done_separation(alice)
    page = alice_client.get(reverse("library")).content.decode()
    action = reverse("track-separate", args=[four.track.id])
    assert f'action="{action}"' in page
    # what it offers first is what the track has not got yet: the 4-stem result exists
    assert (
        '<option value="2" data-qualities="default fast" selected>' in page
        and '<option value="default" selected>' in page
    )

    response = alice_client.post(action, {"mode": "2", "quality": "default"})
    two = Separation.objects.exclude(id=four.id).get()
    assert response.url == reverse("separation-detail", args=[two.id])
    assert (two.two_stems, two.quality, two.status) == ("vocals", Quality.DEFAULT, Status.QUEUED)
    # both stay reachable, and the next offer is the one still missing
    page = alice_client.get(reverse("library")).content.decode()
    assert str(four.id) in page and str(two.id) in page
    assert (
        '<option value="4" data-qualities="default fast" selected>' in page
        and '<option value="fast" selected>' in page
    )


@pytest.mark.parametrize("status", [Status.DONE, Status.QUEUED, Status.RUNNING])
def test_separate_again_with_options_already_made_leads_to_that_job(
    alice, alice_client, make_done_separation, status
) -> None:
    four = make_done_separation(alice)
    Separation.objects.filter(id=four.id).update(status=status)
    response = alice_client.post(
        reverse("track-separate", args=[four.track.id]), {"mode": "4", "quality": "default"}
    )
    assert response.url == reverse("separation-detail", args=[four.id])
    assert Separation.objects.count() == 1
    page = alice_client.get(response.url).content.decode()
    said = {
        Status.DONE: "was already separated with these options",
        Status.QUEUED: "is already queued with these options",
        Status.RUNNING: "is already being separated with these options",
    }
    assert said[status] in page


def test_another_users_track_cannot_be_separated_again(
    alice, bob_client, make_done_separation
) -> None:
    four = make_done_separation(alice)
    response = bob_client.post(reverse("track-separate", args=[four.track.id]), {"mode": "2"})
    assert response.status_code == 404
    assert Separation.objects.count() == 1


def test_empty_library_points_to_the_upload(alice_client: Client) -> None:
    page = alice_client.get(reverse("library")).content.decode()
    assert 'id="library-empty"' in page and reverse("separation-new") in page


def test_rename(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    response = alice_client.post(reverse("track-rename", args=[job.track.id]), {"title": "Better"})
    assert response.url == reverse("library")
    assert Track.objects.get().title == "Better"
    assert (
        alice_client.post(reverse("track-rename", args=[job.track.id]), {"title": ""}).status_code
        == 200
    )
    assert Track.objects.get().title == "Better"


@pytest.mark.django_db(transaction=True)  # the render is enqueued on commit
def test_delete_removes_rows_and_every_file(alice, alice_client, make_done_separation, media_dir):
    job = make_done_separation(alice)
    mp3 = alice_client.get(reverse("stem-download", args=[job.id, "vocals", "mp3"]))
    assert mp3.status_code == 202
    run_worker()  # renders the MP3 into the separation's cache: a derived file too
    assert len(media_files(media_dir)) == 10  # original, 4 masters, 4 previews, the MP3
    response = alice_client.post(reverse("track-delete", args=[job.track.id]))
    assert response.url == reverse("library")
    assert not Track.objects.exists() and not Separation.objects.exists()
    assert media_files(media_dir) == []


def test_deleting_a_running_job_stops_its_worker(alice, alice_client, make_done_separation):
    job = make_done_separation(alice)
    job_id = str(job.id)
    Separation.objects.filter(id=job.id).update(status=Status.RUNNING, worker_id="w1")
    assert services.still_wanted(job_id, "w1")
    ended: list[tuple[str, str]] = []

    def heard(sender: object, job_id: str, status: str, **kwargs: object) -> None:
        ended.append((job_id, status))

    signals.job_ended.connect(heard)
    try:
        alice_client.post(reverse("track-delete", args=[job.track.id]))
    finally:
        signals.job_ended.disconnect(heard)
    assert not Separation.objects.exists()
    assert not services.still_wanted(job_id, "w1")  # the worker stops at its next chunk
    assert not services.complete(job_id, "w1", [])  # and can record no stems
    # what cancelling first adds to the cascade: the job is told as ended (its webhook fires)
    assert ended == [(job_id, Status.CANCELLED)]


def test_job_page_and_status_while_queued_and_running(alice, alice_client, make_done_separation):
    first = make_done_separation(alice, title="First")
    second = make_done_separation(alice, title="Second")
    Separation.objects.filter(id=first.id).update(status=Status.QUEUED)
    Separation.objects.filter(id=second.id).update(status=Status.QUEUED)
    status = alice_client.get(reverse("separation-status", args=[second.id])).json()
    assert status["status"] == "queued" and status["queue_position"] == 2
    assert (
        alice_client.get(reverse("separation-status", args=[second.id]))["Cache-Control"]
        == "no-store"
    )

    Separation.objects.filter(id=second.id).update(
        status=Status.RUNNING, progress=0.5, stage="separating", eta_seconds=12.4
    )
    status = alice_client.get(reverse("separation-status", args=[second.id])).json()
    assert status == {
        "id": str(second.id),
        "status": "running",
        "status_label": "Running",
        "progress": 0.5,
        "percent": 50,
        "stage": "separating",
        "eta_seconds": 12,
        "queue_position": None,
        "wait_seconds": None,
        "error": "",
        "note": "",
        "url": reverse("separation-detail", args=[second.id]),
        "ready": None,  # nothing published yet (tests/web/test_pieces.py: once it is)
    }
    page = alice_client.get(reverse("separation-detail", args=[second.id])).content.decode()
    assert 'id="job-progress"' in page and 'id="cancel-button"' in page
    assert "separation/job.js" in page
    assert 'aria-valuenow="50"' in page


def test_a_running_or_queued_job_is_cancelled_from_its_library_row(
    alice, alice_client, make_done_separation
) -> None:
    done = make_done_separation(alice, title="Done")
    running = make_done_separation(alice, title="Running")
    Separation.objects.filter(id=running.id).update(status=Status.RUNNING, worker_id="w1")
    page = alice_client.get(reverse("library")).content.decode()
    cancel = reverse("separation-cancel", args=[running.id])
    assert f'action="{cancel}"' in page
    assert reverse("separation-cancel", args=[done.id]) not in page  # a done job has none
    response = alice_client.post(cancel)
    assert response.status_code == 302
    assert Separation.objects.get(id=running.id).status == Status.CANCELLED
    assert Separation.objects.get(id=done.id).status == Status.DONE


def test_separate_again_after_a_failure(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.FAILED, error="boom")
    response = alice_client.post(reverse("track-separate", args=[job.track.id]), {"mode": "4"})
    retry = Separation.objects.exclude(id=job.id).get()
    assert response.url == reverse("separation-detail", args=[retry.id])
    assert retry.status == Status.QUEUED


def test_api_cancel(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.QUEUED)
    data = alice_client.post(reverse("api:cancel", args=[job.id])).json()
    assert data["cancelled"] is True and data["status"] == "cancelled"
