"""User files are served with the type measured from their content, never one from the name the
user gave them: an audio file uploaded as ``evil.html`` or ``evil.svg`` never comes back as
HTML or SVG (web or API upload), and browsers are told not to sniff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from demixer.api import tokens
from demixer.separation.models import Separation, Status
from demixer.tracks.models import Track
from tests.web.conftest import run_worker, upload

pytestmark = pytest.mark.django_db(transaction=True)


def renamed(clip: Path, folder: Path, name: str) -> Path:
    target = folder / name
    shutil.copyfile(clip, target)
    return target


def original_of(client: Client, job: Separation):
    return client.get(reverse("separation-original", args=[job.id]))


@pytest.mark.parametrize("name", ["evil.html", "evil.svg", "evil.xhtml"])
def test_an_upload_named_as_a_page_comes_back_as_audio(
    alice_client: Client, clips, tmp_path: Path, name: str
) -> None:
    assert upload(alice_client, renamed(clips["wav16"], tmp_path, name)).status_code == 302
    run_worker()
    job = Separation.objects.get()
    assert job.status == Status.DONE
    assert not job.track.original.name.endswith(Path(name).suffix)  # not stored as a page
    response = original_of(alice_client, job)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert 'filename="evil.wav"' in response["Content-Disposition"]  # not evil.html


def test_an_api_upload_named_as_a_page_comes_back_as_audio(alice, clips, tmp_path: Path) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create(alice, 'tests')[1]}")
    with renamed(clips["flac"], tmp_path, "evil.html").open("rb") as fh:
        assert api.post(reverse("api:upload"), {"file": fh}).status_code == 201
    run_worker()
    job = Separation.objects.get()
    assert job.track.content_type == "audio/flac"
    web = Client()
    web.force_login(alice)
    response = original_of(web, job)
    assert response["Content-Type"] == "audio/flac"
    assert "html" not in response["Content-Disposition"]


@pytest.mark.parametrize(("kind", "expected"), [("webm", "audio/webm"), ("aiff", "audio/aiff")])
def test_formats_a_name_would_misname_are_served_as_measured(
    alice_client: Client, clips, kind: str, expected: str
) -> None:
    """By their names these were served as video/webm and audio/x-aiff."""
    upload(alice_client, clips[kind])
    run_worker()
    job = Separation.objects.get()
    assert original_of(alice_client, job)["Content-Type"] == expected


def test_an_original_of_unknown_type_is_a_download(alice_client: Client, clips) -> None:
    """A track from before the type was measured (or a container we have no type for)."""
    upload(alice_client, clips["wav16"])
    run_worker()
    job = Separation.objects.get()
    Track.objects.update(content_type="", original_name="evil.html")
    response = original_of(alice_client, job)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "html" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
