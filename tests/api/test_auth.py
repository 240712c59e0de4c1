"""Writes: a token needs no CSRF token; a session does (as forms do); neither gets JSON 401,
never the HTML "Form expired" page."""

from __future__ import annotations

import pytest
from django.test import Client

from demixer.separation.models import Separation, Status

pytestmark = pytest.mark.django_db


def cancel_url(job: Separation) -> str:
    return f"/api/v1/separations/{job.id}/cancel/"


@pytest.fixture
def queued(alice, make_done_separation) -> Separation:
    job = make_done_separation(alice)
    Separation.objects.filter(id=job.id).update(status=Status.QUEUED)
    return job


def test_a_post_without_token_or_session_is_json_401(queued) -> None:
    response = Client(enforce_csrf_checks=True).post(cancel_url(queued))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED


def test_a_session_post_without_csrf_is_json_403(alice, queued) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post(cancel_url(queued))
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED


def test_a_session_post_with_csrf_works(alice, queued) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/accounts/tokens/")  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post(cancel_url(queued), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json()["cancelled"] is True


def test_a_token_post_needs_no_csrf(alice_api, queued) -> None:
    response = alice_api.post(cancel_url(queued))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_bad_input_is_json_not_a_500(alice_api) -> None:
    for response in (
        alice_api.get("/api/v1/separations/?limit=abc"),
        alice_api.get("/api/v1/separations/?cursor=%%%"),
        alice_api.post(
            "/api/v1/tracks/", data=b"--x\r\nnot multipart", content_type="multipart/form-data"
        ),
        alice_api.post(
            "/api/v1/tracks/00000000-0000-0000-0000-000000000000/separations/",
            data="{",
            content_type="application/json",
        ),
    ):
        assert 400 <= response.status_code < 500, response.content
        assert set(response.json()) >= {"code", "message"}


def test_an_unknown_endpoint_is_json_404_even_for_a_post(alice_api) -> None:
    for response in (
        alice_api.get("/api/v1/separations/x/stems/not a slug.flac"),
        alice_api.get("/api/v1/separations/x/stems/a%0Anewline.flac"),
        Client(enforce_csrf_checks=True).post("/api/v1/nothing-here/"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
