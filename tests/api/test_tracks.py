"""Upload and start in one call (the form's validation and limits), separate again, list,
show and delete tracks."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from demixer.separation.models import Separation, Status
from demixer.tracks.models import Track

pytestmark = pytest.mark.django_db

TRACKS = "/api/v1/tracks/"


def upload(client: Client, path: Path, **options: str):
    with path.open("rb") as fh:
        return client.post(TRACKS, {"file": fh, **options})


def test_an_upload_starts_a_separation(alice, alice_api, clips) -> None:
    response = upload(alice_api, clips["flac"], mode="2", quality="fast")
    assert response.status_code == 201, response.content
    data = response.json()
    job = Separation.objects.get(id=data["separation"]["id"])
    assert (job.track.owner, job.two_stems, job.quality) == (alice, "vocals", "fast")
    assert data["reused"] is False and data["separation"]["status"] == Status.QUEUED
    assert data["separation"]["queue_position"] == 1
    assert data["separation"]["track"]["duration"] == pytest.approx(3.0, abs=0.05)
    again = upload(alice_api, clips["flac"], mode="2", quality="fast")
    assert again.status_code == 200 and again.json()["reused"] is True
    assert Separation.objects.count() == 1 and Track.objects.count() == 1


def test_the_default_options_are_the_forms(alice_api, clips) -> None:
    data = upload(alice_api, clips["wav16"]).json()["separation"]
    assert (data["two_stems"], data["quality"], data["model"]) == (None, "default", "htdemucs")


def test_a_file_that_is_not_audio_is_refused(alice_api, tmp_path) -> None:
    junk = tmp_path / "song.mp3"
    junk.write_bytes(b"not audio at all" * 100)
    response = upload(alice_api, junk)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_upload"
    assert response.json()["message"].startswith("song.mp3:")
    assert not Track.objects.exists()


def test_no_file_bad_options_and_too_large(alice_api, clips, settings) -> None:
    missing = alice_api.post(TRACKS, {"mode": "4"})
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid_upload")
    bad = upload(alice_api, clips["flac"], mode="3")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    settings.MAX_UPLOAD_MB = 0
    large = upload(alice_api, clips["flac"])
    assert (large.status_code, large.json()["code"]) == (413, "too_large")
    assert not Track.objects.exists()


def test_past_the_quota_nothing_is_stored(alice_api, clips, settings) -> None:
    settings.MINUTES_PER_DAY = 0.01
    response = upload(alice_api, clips["flac"])
    assert (response.status_code, response.json()["code"]) == (403, "quota_exceeded")
    assert not Track.objects.exists()


def test_separate_again_with_other_options(alice, alice_api, make_done_separation) -> None:
    job = make_done_separation(alice)
    url = f"{TRACKS}{job.track.id}/separations/"
    same = alice_api.post(url, {"mode": "4"}, content_type="application/json")
    assert same.status_code == 200 and same.json()["separation"]["id"] == str(job.id)
    other = alice_api.post(url, {"mode": "2"}, content_type="application/json")
    assert other.status_code == 201
    assert Separation.objects.get(id=other.json()["separation"]["id"]).two_stems == "vocals"


@pytest.mark.parametrize("sent", ["[null, null]", "[]", "3", "null"])
def test_a_body_that_is_not_an_object_starts_nothing(
    alice, alice_api, make_done_separation, sent
) -> None:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.FAILED)  # not reusable
    url = f"{TRACKS}{job.track.id}/separations/"
    response = alice_api.post(url, sent, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert response.json()["message"] == "options: The body must be a JSON object."
    assert Separation.objects.count() == 1


def test_a_cursor_not_given_by_the_api_is_documented(client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    for path in (TRACKS, "/api/v1/separations/"):
        [cursor] = [
            p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "cursor"
        ]
        assert "400 (invalid_cursor)" in cursor["description"]


def test_list_show_and_delete_tracks(alice, alice_api, make_done_separation, media_dir) -> None:
    job = make_done_separation(alice)
    listed = alice_api.get(TRACKS).json()
    assert [t["id"] for t in listed["tracks"]] == [str(job.track.id)]
    assert listed["next_cursor"] is None
    assert alice_api.get(f"{TRACKS}{job.track.id}/").json()["title"] == "Song"
    assert alice_api.delete(f"{TRACKS}{job.track.id}/").status_code == 204
    assert not Track.objects.exists() and not Separation.objects.exists()
    assert not [p for p in media_dir.rglob("*") if p.is_file()]


def test_the_model_is_passed_through_as_the_forms_mode(alice_api, clips) -> None:
    by_model = upload(alice_api, clips["flac"], model="spleeter").json()["separation"]
    job = Separation.objects.get(id=by_model["id"])
    assert (job.model_name, by_model["mode"]) == ("spleeter", "spleeter")
    clash = upload(alice_api, clips["wav16"], model="spleeter", mode="2")
    assert (clash.status_code, clash.json()["code"]) == (400, "invalid_options")
    unknown = upload(alice_api, clips["wav16"], model="nonesuch")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid_options")
    one_quality = upload(alice_api, clips["wav16"], mode="spleeter", quality="fast")
    assert (one_quality.status_code, one_quality.json()["code"]) == (400, "invalid_options")
