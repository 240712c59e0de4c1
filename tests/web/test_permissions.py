"""Each track, job and file is its owner's only: for every URL that takes an id, another user
gets 404 and a logged-out visitor gets the login page (the API's own: tests/api)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from demixer.api import tokens
from demixer.separation.models import Render, Separation, Status
from demixer.tracks.models import Track

pytestmark = pytest.mark.django_db

# name -> (method, extra path args after the id, form data, alice's expected status)
TRACK_URLS = {
    "track-rename": [("get", (), {}, 200), ("post", (), {"title": "Mine"}, 302)],
    "track-delete": [("get", (), {}, 200), ("post", (), {}, 302)],
    "track-separate": [("post", (), {"mode": "2"}, 302)],
}
SEPARATION_URLS = {
    "separation-detail": [("get", (), {}, 200)],
    "separation-status": [("get", (), {}, 200)],
    "separation-cancel": [("post", (), {}, 302)],
    # a done job has no stretches left: 404 for its owner too (tests/web/test_stretches.py
    # serves a running job's to its owner)
    "separation-stretch": [("get", ("0" * 16, "0"), {}, 404)],
    "stem-download": [("get", ("vocals", "wav"), {}, 202), ("get", ("vocals", "flac"), {}, 200)],
    "stem-preview": [("get", ("vocals",), {}, 200)],
    "separation-zip": [("get", (), {}, 200)],
    "separation-instrumental": [("get", ("mp3",), {}, 202)],
    "separation-mix": [("post", (), {"gain_vocals": "1", "format": "wav"}, 202)],
    "separation-original": [("get", (), {}, 200)],  # the player's "compare with the original"
    "stem-midi": [("get", ("vocals",), {}, 202)],
    "separation-chords": [("get", (), {}, 202)],
    "separation-chords-json": [("get", (), {}, 202)],
}
# downloads being rendered: their status and their file
RENDER_URLS = {
    "render-status": [("get", (), {}, 200)],
    "render-file": [("get", (), {}, 202)],
}
# the owner's personal API tokens
TOKEN_URLS = {"api-token-revoke": [("post", (), {}, 302)]}


def _cases():
    for name, calls in {**TRACK_URLS, **SEPARATION_URLS, **RENDER_URLS, **TOKEN_URLS}.items():
        for method, extra, data, expected in calls:
            yield pytest.param(name, method, extra, data, expected, id=f"{name}-{method}")


CASES = list(_cases())


def url_for(name: str, job: Separation, extra: tuple) -> str:
    if name in TOKEN_URLS:
        token = tokens.create(job.track.owner, "tests")[0]
        return reverse(name, args=[token.id])
    if name in RENDER_URLS:
        item = Render.objects.get_or_create(
            separation=job,
            key="vocals.mp3",
            defaults={"kind": "stem", "fmt": "mp3", "params": {"stem": "vocals"}},
        )[0]
        return reverse(name, args=[item.id])
    owner_id = job.track.id if name in TRACK_URLS else job.id
    return reverse(name, args=[owner_id, *extra])


def call(client: Client, method: str, url: str, data: dict):
    return getattr(client, method)(url, data)


def patterns_taking_an_id(resolver: URLResolver | None = None, prefix: str = ""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":  # staff only, guarded by Django's admin itself
                continue
            if entry.namespace == "api":  # tests/api/test_permissions.py walks the API's own
                continue
            yield from patterns_taking_an_id(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name and "_id>" in str(entry.pattern):
            yield entry.name


def test_every_url_that_takes_an_id_is_covered_here() -> None:
    assert set(patterns_taking_an_id()) == (
        set(TRACK_URLS) | set(SEPARATION_URLS) | set(RENDER_URLS) | set(TOKEN_URLS)
    )


@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), CASES)
def test_another_user_gets_404(
    name, method, extra, data, expected, alice, bob_client, make_done_separation
):
    job = make_done_separation(alice)
    response = call(bob_client, method, url_for(name, job, extra), data)
    assert response.status_code == 404
    # and nothing of alice's changed
    job.refresh_from_db()
    assert job.status == Status.DONE and job.stems.count() == 4
    assert Track.objects.get(id=job.track.id).title == "Song"
    assert Separation.objects.count() == 1


@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), CASES)
def test_logged_out_visitors_get_the_login_page(
    name, method, extra, data, expected, alice, client, make_done_separation
):
    job = make_done_separation(alice)
    url = url_for(name, job, extra)
    response = call(client, method, url, data)
    assert response.status_code == 302
    target = urlparse(response.url)
    assert target.path == reverse("login")
    assert url in response.url  # ?next=
    job.refresh_from_db()
    assert job.status == Status.DONE


@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), CASES)
def test_the_owner_gets_through(
    name, method, extra, data, expected, alice, alice_client, make_done_separation
):
    job = make_done_separation(alice)
    assert call(alice_client, method, url_for(name, job, extra), data).status_code == expected


def test_lists_show_only_the_users_own(alice, bob, alice_client, bob_client, make_done_separation):
    make_done_separation(alice, title="Alice Song")
    assert "Alice Song" in alice_client.get(reverse("library")).content.decode()
    assert "Alice Song" not in bob_client.get(reverse("library")).content.decode()
    assert bob_client.get(reverse("api:separations")).json()["separations"] == []
    assert len(alice_client.get(reverse("api:separations")).json()["separations"]) == 1
