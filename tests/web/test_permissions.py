"""Each track, job and file is its owner's only: for every URL that takes an id, another user
gets 404 and a logged-out visitor gets the login page (the API's own: tests/api).

A share link's URLs (under ``/s/<token>/``) open without an account, to anyone holding a live
link, and reach that one separation only: each is listed here too, with what an anonymous
visitor and another user get, and the 404 of an expired, a revoked and an unknown link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from demixer.api import tokens
from demixer.separation.models import Render, Separation, Status
from demixer.sharing import services as sharing
from demixer.sharing.models import ShareLink
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
    # the stems the player loads to compare with another separation of the track
    "separation-stems-json": [("get", (), {}, 200)],
    "separation-status": [("get", (), {}, 200)],
    "separation-cancel": [("post", (), {}, 302)],
    # a done job has no pieces left: 404 for its owner too (tests/web/test_pieces.py
    # serves a running job's to its owner)
    "separation-piece": [("get", ("0" * 16, "0"), {}, 404)],
    "stem-download": [("get", ("vocals", "wav"), {}, 202), ("get", ("vocals", "flac"), {}, 200)],
    "stem-preview": [("get", ("vocals",), {}, 200)],
    "separation-zip": [("get", (), {}, 200)],
    "separation-instrumental": [("get", ("mp3",), {}, 202)],
    "separation-mix": [("post", (), {"gain_vocals": "1", "format": "wav"}, 202)],
    "separation-original": [("get", (), {}, 200)],  # the player's "compare with the original"
    "stem-midi": [("get", ("vocals",), {}, 202)],
    "separation-chords": [("get", (), {}, 202)],
    "separation-chords-json": [("get", (), {}, 202)],
    # the owner's share links: make one, revoke one
    "share-create": [("post", (), {"expires": "1d", "allow_stems": "1"}, 302)],
    "share-revoke": [("post", (), {}, 302)],
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
    if name == "share-revoke":
        link = sharing.create(job, "never", [])[0]
        return reverse(name, args=[job.id, link.id])
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
    # a share link's URLs (after its token) are SHARED_URLS, below
    assert set(patterns_taking_an_id()) - SHARED_RENDER_URLS == (
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


# a share link's URLs, all after its token: name -> (method, extra args, form data, what anyone
# holding a live link that allows every download gets, logged in or not)
SHARED_URLS = {
    "share-page": [("get", (), {}, 200)],
    "share-preview": [("get", ("vocals",), {}, 200)],
    "share-stem": [("get", ("vocals", "flac"), {}, 200), ("get", ("vocals", "wav"), {}, 202)],
    "share-zip": [("get", (), {}, 200)],
    "share-instrumental": [("get", ("mp3",), {}, 202)],
    "share-mix": [("post", (), {"gain_vocals": "1", "format": "wav"}, 202)],
    "share-render-status": [("get", (), {}, 200)],
    "share-render-file": [("get", (), {}, 202)],
}
SHARED_CASES = [
    pytest.param(name, *case, id=f"{name}-{'-'.join(case[1]) or case[0]}")
    for name, cases in SHARED_URLS.items()
    for case in cases
]
SHARED_RENDER_URLS = {"share-render-status", "share-render-file"}


def patterns_under_a_token(resolver: URLResolver | None = None):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace not in ("admin", "api"):
                yield from patterns_under_a_token(entry)
        elif isinstance(entry, URLPattern) and "<slug:token>" in str(entry.pattern):
            yield entry.name


def shared_url(name: str, token: str, job: Separation, extra: tuple) -> str:
    if name in SHARED_RENDER_URLS:
        item = Render.objects.get_or_create(
            separation=job,
            key="vocals.mp3",
            defaults={"kind": "stem", "fmt": "mp3", "params": {"stem": "vocals"}},
        )[0]
        return reverse(name, args=[token, item.id])
    return reverse(name, args=[token, *extra])


def share(job: Separation, expiry: str = "never", allow=sharing.DOWNLOADS) -> str:
    return sharing.create(job, expiry, allow)[1]


def test_every_url_under_a_share_token_is_covered_here() -> None:
    assert set(patterns_under_a_token()) == set(SHARED_URLS)


@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), SHARED_CASES)
def test_a_live_link_opens_without_an_account(
    name, method, extra, data, expected, alice, client, make_done_separation
):
    job = make_done_separation(alice)
    response = call(client, method, shared_url(name, share(job), job, extra), data)
    assert response.status_code == expected
    assert response["X-Robots-Tag"].startswith("noindex")


@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), SHARED_CASES)
def test_another_user_holding_the_link_gets_what_anyone_gets(
    name, method, extra, data, expected, alice, bob_client, make_done_separation
):
    job = make_done_separation(alice)
    response = call(bob_client, method, shared_url(name, share(job), job, extra), data)
    assert response.status_code == expected


def expired(job: Separation) -> str:
    token = share(job, "1d")
    ShareLink.objects.update(expires=timezone.now() - timedelta(seconds=1))
    return token


def revoked(job: Separation) -> str:
    token = share(job, "never")
    link = ShareLink.objects.get(digest=sharing.digest(token))
    assert sharing.revoke(job, link.id)
    return token


def unknown(job: Separation) -> str:
    share(job)
    return "x" * 43


@pytest.mark.parametrize("link", [expired, revoked, unknown])
@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), SHARED_CASES)
def test_an_expired_revoked_or_unknown_link_is_a_404(
    link, name, method, extra, data, expected, alice, client, make_done_separation
):
    job = make_done_separation(alice)
    url = shared_url(name, link(job), job, extra)
    renders_before = Render.objects.filter(separation=job).count()
    response = call(client, method, url, data)
    assert response.status_code == 404
    assert response["X-Robots-Tag"].startswith("noindex")
    assert Render.objects.filter(separation=job).count() == renders_before  # nothing started


@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), SHARED_CASES)
def test_a_link_reaches_its_own_separation_only(
    name, method, extra, data, expected, alice, bob, client, make_done_separation
):
    """The link of bob's separation, with the ids of alice's: her renders are a 404."""
    mine, theirs = make_done_separation(alice), make_done_separation(bob, title="Bob Song")
    token = share(theirs)
    url = shared_url(name, token, mine, extra)
    response = call(client, method, url, data)
    if name in SHARED_RENDER_URLS:
        assert response.status_code == 404
    else:  # these name stems, not ids: they answer with bob's own files, never alice's
        assert response.status_code == expected
        if response.get("Content-Disposition", "").startswith("attachment"):
            assert "Bob Song" in response["Content-Disposition"]
    assert not Render.objects.filter(separation=mine).exclude(key="vocals.mp3").exists()


@pytest.mark.parametrize(("name", "method", "extra", "data", "expected"), SHARED_CASES)
def test_a_listening_only_link_serves_no_download(
    name, method, extra, data, expected, alice, client, make_done_separation
):
    job = make_done_separation(alice)
    response = call(client, method, shared_url(name, share(job, allow=[]), job, extra), data)
    listening = name in ("share-page", "share-preview")
    assert response.status_code == (expected if listening else 404)
