"""Error pages are the product's own, with no traceback and no Django default text."""

from __future__ import annotations

import uuid

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse

from demixer.config.urls import urlpatterns as site_urls
from tests.web.conftest import upload

pytestmark = pytest.mark.django_db


def test_someone_elses_or_a_missing_job_is_a_friendly_404(alice_client: Client) -> None:
    response = alice_client.get(reverse("separation-detail", args=[uuid.uuid4()]))
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="error-404"' in page and "belongs to someone else" in page
    assert "Library" in page  # the normal site header, still logged in


def test_a_post_without_csrf_token_gets_the_expired_form_page(alice) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("separation-new"), {})
    assert response.status_code == 403
    assert 'id="error-csrf"' in response.content.decode()


def test_too_many_files_is_a_friendly_400(alice_client: Client, settings, tmp_path) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    paths = []
    for i in range(3):
        path = tmp_path / f"f{i}.wav"
        path.write_bytes(b"x")
        paths.append(path)
    response = upload(alice_client, *paths)
    assert response.status_code == 400
    assert 'id="error-400"' in response.content.decode()


def _broken_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug with a secret in its message: s3cr3t")


# this module doubles as the URL conf of the next test: the site's URLs plus a broken view
urlpatterns = [*site_urls, path("broken/", _broken_view)]


def test_server_errors_get_the_own_500_page_through_the_handler(alice, settings) -> None:
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/broken/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'id="error-500"' in page and "Something went wrong" in page
    assert "Traceback" not in page and "s3cr3t" not in page and "RuntimeError" not in page
