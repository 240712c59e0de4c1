"""The library: newest first with name, duration, status and date; rename; delete (files too);
and the job page's live status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from demixer.separation.models import Separation, Status
from demixer.tracks.models import Track
from tests.web.conftest import media_files

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


def test_delete_removes_rows_and_every_file(alice, alice_client, make_done_separation, media_dir):
    job = make_done_separation(alice)
    alice_client.get(reverse("separation-zip", args=[job.id]))  # a cached derived file too
    assert len(media_files(media_dir)) == 10  # original, 4 masters, 4 previews, zip
    response = alice_client.post(reverse("track-delete", args=[job.track.id]))
    assert response.url == reverse("library")
    assert not Track.objects.exists() and not Separation.objects.exists()
    assert media_files(media_dir) == []


def test_deleting_a_running_job_cancels_it_first(alice, alice_client, make_done_separation):
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.RUNNING)
    alice_client.post(reverse("track-delete", args=[job.track.id]))
    assert not Separation.objects.exists()


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
        "error": "",
        "note": "",
        "url": reverse("separation-detail", args=[second.id]),
    }
    page = alice_client.get(reverse("separation-detail", args=[second.id])).content.decode()
    assert 'id="job-progress"' in page and 'id="cancel-button"' in page
    assert "separation/job.js" in page
    assert 'aria-valuenow="50"' in page


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
    data = alice_client.post(reverse("api-separation-cancel", args=[job.id])).json()
    assert data["cancelled"] is True and data["status"] == "cancelled"
