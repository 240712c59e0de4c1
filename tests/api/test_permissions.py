"""Every API URL that takes an id: another user's object is a 404 (nothing of it changes), a
request without a token a 401; each is listed here, so a new endpoint cannot be forgotten."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from demixer.separation.models import Render, Separation, Status
from demixer.sharing import services as sharing

pytestmark = pytest.mark.django_db

# url name -> [(method, extra args after the id, JSON body, the owner's status)]
CASES = {
    "track": [("get", (), None, 200), ("delete", (), None, 204)],
    "separate": [("post", (), {"mode": "2"}, 201)],
    "track-separations": [("get", (), None, 200)],
    "separation": [("get", (), None, 200), ("delete", (), None, 204)],
    "cancel": [("post", (), None, 200)],
    "piece": [("get", ("0" * 16, "0"), None, 404)],  # a done job's: none (test_pieces.py)
    "stem": [("get", ("vocals", "flac"), None, 200), ("get", ("vocals", "wav"), None, 202)],
    "zip": [("get", (), None, 200)],
    "instrumental": [("get", ("mp3",), None, 202)],
    "mix": [("post", (), {"gains": {"vocals": 0.5}}, 202)],
    "midi": [("get", ("vocals",), None, 202)],
    "chords-lab": [("get", (), None, 202)],
    "chords": [("get", (), None, 202)],
    "render": [("get", (), None, 200)],
    "render-file": [("get", (), None, 202)],
    "shares": [("get", (), None, 200), ("post", (), {"expires": "1d"}, 201)],
    "share": [("delete", (), None, 204)],
}
TRACK_NAMES = {"track", "separate", "track-separations"}
RENDER_NAMES = {"render", "render-file"}


def api_names_taking_an_id() -> set[str]:
    api = next(r for r in get_resolver().url_patterns if getattr(r, "namespace", "") == "api")
    return {
        p.name
        for p in api.url_patterns
        if isinstance(p, URLPattern) and p.name and "_id>" in str(p.pattern)
    }


def test_every_api_url_that_takes_an_id_is_covered() -> None:
    assert api_names_taking_an_id() == set(CASES)


def url_for(name: str, job: Separation, extra: tuple) -> str:
    if name in RENDER_NAMES:
        item = Render.objects.get_or_create(
            separation=job,
            key="vocals.mp3",
            defaults={"kind": "stem", "fmt": "mp3", "params": {"stem": "vocals"}},
        )[0]
        return reverse(f"api:{name}", args=[item.id])
    if name == "share":  # one of the job's share links
        link = sharing.create(job, "never", [])[0]
        return reverse(f"api:{name}", args=[job.id, link.id])
    owner_id = job.track.id if name in TRACK_NAMES else job.id
    return reverse(f"api:{name}", args=[owner_id, *extra])


def call(client: Client, method: str, url: str, body: dict | None):
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type="application/json")


PARAMS = [
    pytest.param(name, *case, id=f"{name}-{case[0]}-{'-'.join(case[1])}")
    for name, cases in CASES.items()
    for case in cases
]


@pytest.mark.parametrize(("name", "method", "extra", "body", "expected"), PARAMS)
def test_another_user_gets_404(
    name, method, extra, body, expected, alice, bob_api, make_done_separation
) -> None:
    job = make_done_separation(alice)
    response = call(bob_api, method, url_for(name, job, extra), body)
    assert response.status_code == 404
    assert response.json()["code"] in ("not_found",)
    job.refresh_from_db()
    assert job.status == Status.DONE and Separation.objects.count() == 1


@pytest.mark.parametrize(("name", "method", "extra", "body", "expected"), PARAMS)
def test_without_a_token_401(name, method, extra, body, expected, alice, make_done_separation):
    job = make_done_separation(alice)
    response = call(Client(), method, url_for(name, job, extra), body)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("name", "method", "extra", "body", "expected"), PARAMS)
def test_the_owner_gets_through(
    name, method, extra, body, expected, alice, alice_api, make_done_separation
) -> None:
    job = make_done_separation(alice)
    response = call(alice_api, method, url_for(name, job, extra), body)
    assert response.status_code == expected, response.content
