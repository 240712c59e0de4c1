"""Uploading: every format accepted by content, every bad upload refused without a trace,
several files at once, the two-stem option, and dedup by content hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from demixer.separation.models import Separation, Status
from demixer.testing.files import INPUT_FORMATS, write_audio
from demixer.tracks.models import Track
from demixer.tracks.uploads import sha256_of
from tests.web.conftest import media_files, upload

pytestmark = pytest.mark.django_db


def test_new_separation_page_has_the_picker_and_options(alice_client: Client) -> None:
    page = alice_client.get(reverse("separation-new")).content.decode()
    assert 'type="file" name="files"' in page and "multiple" in page
    assert 'enctype="multipart/form-data"' in page
    assert 'name="mode" value="4"' in page and 'name="mode" value="2"' in page


@pytest.mark.parametrize("kind", sorted(INPUT_FORMATS))
def test_every_supported_format_is_accepted(alice, alice_client, clips, kind, media_dir) -> None:
    response = upload(alice_client, clips[kind])
    track = Track.objects.get(owner=alice)
    job = Separation.objects.get(track=track)
    assert response.status_code == 302
    assert response.url == reverse("separation-detail", args=[job.id])
    assert job.status == Status.QUEUED and job.two_stems == ""
    assert track.title == clips[kind].stem
    assert track.duration == pytest.approx(3.0, abs=0.1)
    assert track.sha256 == sha256_of(clips[kind])
    stored = media_dir / track.original.name
    assert stored.read_bytes() == clips[kind].read_bytes()
    assert str(track.owner_id) in track.original.name and str(track.id) in track.original.name


def test_the_extension_does_not_matter_only_the_content(alice_client, clips, tmp_path) -> None:
    disguised = tmp_path / "really-a-flac.txt"
    disguised.write_bytes(clips["flac"].read_bytes())
    assert upload(alice_client, disguised).status_code == 302
    assert Track.objects.get().codec == "flac"


def test_several_files_at_once_and_the_two_stem_option(alice, alice_client, clips) -> None:
    response = upload(alice_client, clips["mp3"], clips["wav16"], mode="2")
    assert response.status_code == 302
    assert response.url == reverse("library")
    jobs = Separation.objects.filter(track__owner=alice)
    assert jobs.count() == 2
    assert {j.two_stems for j in jobs} == {"vocals"}


def _assert_refused(response, message: str, media_dir: Path) -> None:
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="upload-errors"' in page
    assert message in page
    assert not Track.objects.exists()
    assert not Separation.objects.exists()
    assert media_files(media_dir / "tracks") == []


def test_empty_file_is_refused(alice_client, tmp_path, media_dir) -> None:
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    _assert_refused(upload(alice_client, empty), "The submitted file is empty.", media_dir)


def test_non_audio_file_is_refused(alice_client, tmp_path, media_dir) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("these are not the sounds you are looking for\n" * 200)
    _assert_refused(upload(alice_client, text), "notes.mp3: not a recognised audio file", media_dir)


def test_truncated_file_is_refused(alice_client, clips, tmp_path, media_dir) -> None:
    cut = tmp_path / "cut.wav"
    cut.write_bytes(clips["wav16"].read_bytes()[: clips["wav16"].stat().st_size // 2])
    _assert_refused(upload(alice_client, cut), "cut.wav: the file is truncated", media_dir)


def test_over_size_file_is_refused(alice_client, make_clip, settings, media_dir) -> None:
    settings.MAX_UPLOAD_MB = 1
    big = make_clip(8.0, seed=5, kind="wavfloat")  # 8 s of 32-bit stereo: 2.8 MB
    _assert_refused(upload(alice_client, big), "larger than the limit of 1 MB", media_dir)


def test_over_duration_file_is_refused(alice_client, clips, settings, media_dir) -> None:
    settings.MAX_MINUTES = 0.02  # 1.2 s
    _assert_refused(upload(alice_client, clips["flac"]), "the limit is", media_dir)


def test_a_sample_rate_over_the_limit_is_refused(alice_client, tmp_path, media_dir) -> None:
    # the report's upload in small (it was 19.5 minutes of 384 kHz 7.1 in 0.5 MB), against the
    # default limits
    bomb = write_audio(tmp_path / "bomb.flac", np.zeros((8, 384_000)), 384_000, "flac")
    response = upload(alice_client, bomb)
    _assert_refused(response, "bomb.flac: sample rate 384 kHz, the limit is 192 kHz", media_dir)


def test_too_many_channels_are_refused(alice_client, tmp_path, settings, media_dir) -> None:
    settings.MAX_CHANNELS = 2
    surround = write_audio(tmp_path / "surround.wav", np.zeros((6, 44_100)), 44_100, "wav16")
    response = upload(alice_client, surround)
    _assert_refused(response, "surround.wav: 6 channels, the limit is 2", media_dir)


def test_one_bad_file_does_not_refuse_the_good_ones(alice_client, clips, tmp_path) -> None:
    """(More in test_rough_edges.py.)"""
    text = tmp_path / "readme.wav"
    text.write_text("not audio")
    response = upload(alice_client, clips["mp3"], text)
    assert response.status_code == 302 and Track.objects.count() == 1
    assert "Not added: readme.wav" in alice_client.get(response.url).content.decode()


def test_no_file_at_all(alice_client) -> None:
    response = alice_client.post(reverse("separation-new"), {"mode": "4"})
    assert "Choose at least one audio file." in response.content.decode()


def scripted_upload(client: Client, path: Path):
    """As upload.js sends the form (for its progress bar): asking for JSON."""
    with path.open("rb") as fh:
        return client.post(
            reverse("separation-new"),
            {"files": fh, "mode": "4"},
            headers={"Accept": "application/json"},
        )


def test_the_pages_script_is_told_where_to_go(alice_client, clips) -> None:
    response = scripted_upload(alice_client, clips["flac"])
    job = Separation.objects.get()
    assert response.status_code == 200
    assert response.json() == {"redirect": reverse("separation-detail", args=[job.id])}


def test_the_pages_script_gets_the_refusals_the_page_would_list(
    alice_client, tmp_path, media_dir
) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("these are not the sounds you are looking for\n" * 200)
    response = scripted_upload(alice_client, text)
    assert response.status_code == 200  # as the page with its errors is
    errors = response.json()["errors"]
    assert len(errors) == 1 and errors[0].startswith("notes.mp3: not a recognised audio file")
    assert not Track.objects.exists() and media_files(media_dir / "tracks") == []
    plain = upload(alice_client, text).content.decode()  # the same lines, drawn by the server
    assert f"<p>{escape(errors[0])}</p>" in plain


def test_same_file_again_reuses_the_queued_job(alice_client, clips) -> None:
    first = upload(alice_client, clips["flac"])
    second = upload(alice_client, clips["flac"])
    assert first.url == second.url
    assert Track.objects.count() == 1 and Separation.objects.count() == 1


def test_same_file_with_other_options_is_a_new_job_on_the_same_track(alice_client, clips):
    upload(alice_client, clips["flac"], mode="4")
    upload(alice_client, clips["flac"], mode="2")
    assert Track.objects.count() == 1
    assert sorted(Separation.objects.values_list("two_stems", flat=True)) == ["", "vocals"]


def test_a_finished_result_is_reused_at_once(
    alice, alice_client, make_done_separation, engine_stems, media_dir
):
    done = make_done_separation(alice)
    original = engine_stems[0]
    files_before = media_files(media_dir)
    response = upload(alice_client, original)
    assert response.url == reverse("separation-detail", args=[done.id])
    assert Separation.objects.count() == 1 and Track.objects.count() == 1
    assert media_files(media_dir) == files_before  # the second copy was not kept
    page = alice_client.get(response.url).content.decode()
    assert "already separated" in page


def test_dedup_is_per_user(alice, bob_client, make_done_separation, engine_stems) -> None:
    make_done_separation(alice)
    response = upload(bob_client, engine_stems[0])
    bobs = Separation.objects.get(track__owner__username="bob")
    assert response.url == reverse("separation-detail", args=[bobs.id])
    assert bobs.status == Status.QUEUED


def test_uploads_stream_to_disk(alice_client, clips, monkeypatch) -> None:
    from demixer.tracks import forms

    seen = []
    real = forms.local_path

    def spy(upload):
        seen.append(type(upload).__name__)
        return real(upload)

    monkeypatch.setattr(forms, "local_path", spy)
    upload(alice_client, clips["mp3"])
    assert seen == ["HashedUploadedFile"]  # a TemporaryUploadedFile, hashed as it streamed in
