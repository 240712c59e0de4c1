"""Jobs: cursor paging, status, cancel, delete."""

from __future__ import annotations

import pytest

from demixer.separation.models import Separation, Status

pytestmark = pytest.mark.django_db

URL = "/api/v1/separations/"


def test_cursor_paging_visits_each_job_once_newest_first(alice, alice_api, make_done_separation):
    made = [make_done_separation(alice, title=f"Song {n}") for n in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        data = alice_api.get(URL + query).json()
        seen += [job["id"] for job in data["separations"]]
        pages += 1
        cursor = data["next_cursor"]
        if cursor is None:
            break
    expected = [str(j.id) for j in sorted(made, key=lambda j: (j.created, j.id), reverse=True)]
    assert seen == expected and pages == 3


def test_a_cursor_made_up_is_a_400(alice_api) -> None:
    for cursor in ("abc", "WyJ4IiwgInkiXQ", "!!"):
        response = alice_api.get(f"{URL}?cursor={cursor}")
        assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_a_job_shows_its_place_in_the_queue_and_its_files_once_done(
    alice, alice_api, make_done_separation
) -> None:
    done = make_done_separation(alice)
    data = alice_api.get(f"{URL}{done.id}/").json()
    assert data["status"] == "done" and data["percent"] == 100
    assert [s["name"] for s in data["stems"]] == ["drums", "bass", "other", "vocals"]
    assert data["stems"][3]["downloads"]["flac"].endswith("/stems/vocals.flac")
    assert data["instrumental"]["mp3"].endswith("/instrumental.mp3")
    queued = make_done_separation(alice, title="Other")
    Separation.objects.filter(id=queued.id).update(status=Status.QUEUED)
    data = alice_api.get(f"{URL}{queued.id}/").json()
    assert data["queue_position"] == 1 and data["stems"] is None
    assert "wait_seconds" in data


def test_cancel_then_delete(alice, alice_api, make_done_separation, media_dir) -> None:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.RUNNING)
    cancelled = alice_api.post(f"{URL}{job.id}/cancel/").json()
    assert cancelled["cancelled"] is True and cancelled["status"] == "cancelled"
    assert alice_api.post(f"{URL}{job.id}/cancel/").json()["cancelled"] is False
    assert alice_api.delete(f"{URL}{job.id}/").status_code == 204
    assert not Separation.objects.exists()
    assert not (media_dir / job.storage_dir()).exists()
    assert job.track.__class__.objects.filter(id=job.track.id).exists()  # the track stays
    assert alice_api.get(f"{URL}{job.id}/").status_code == 404
