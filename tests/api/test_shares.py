"""Share links through the API: make one (its URL shown in that answer only), list, revoke;
the link opens without a token; the schema documents the endpoints."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from demixer.sharing import services
from demixer.sharing.models import ShareLink

pytestmark = pytest.mark.django_db


def test_make_list_open_and_revoke(alice, alice_api, make_done_separation) -> None:
    job = make_done_separation(alice)
    shares = reverse("api:shares", args=[job.id])
    made = alice_api.post(
        shares, {"expires": "1d", "downloads": ["zip"]}, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["downloads"] == ["zip"] and body["live"] and body["expires"]
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    assert ShareLink.objects.get().digest == services.digest(token)
    # the link opens without any credentials; the zip is allowed, a stem is not
    visitor = Client()
    assert visitor.get(body["url"]).status_code == 200
    assert visitor.get(reverse("share-zip", args=[token])).status_code == 200
    assert visitor.get(reverse("share-stem", args=[token, "vocals", "flac"])).status_code == 404
    listed = alice_api.get(shares).json()["shares"]
    assert [s["id"] for s in listed] == [body["id"]] and "url" not in listed[0]
    gone = alice_api.delete(reverse("api:share", args=[job.id, body["id"]]))
    assert gone.status_code == 204
    assert visitor.get(body["url"]).status_code == 404
    assert alice_api.get(shares).json()["shares"][0]["live"] is False
    again = alice_api.delete(reverse("api:share", args=[job.id, body["id"]]))
    assert again.status_code == 404


def test_a_bad_request_makes_nothing(alice, alice_api, make_done_separation) -> None:
    job = make_done_separation(alice)
    shares = reverse("api:shares", args=[job.id])
    bad = alice_api.post(shares, {"expires": "30d"}, content_type="application/json")
    assert bad.status_code in (400, 422) and "code" in bad.json()
    job.status = "running"
    job.save()
    early = alice_api.post(shares, {"expires": "1d"}, content_type="application/json")
    assert early.status_code == 409 and early.json()["code"] == "not_done"
    assert not ShareLink.objects.exists()


def test_another_users_link_cannot_be_revoked(alice, bob, alice_api, make_done_separation):
    mine, theirs = make_done_separation(alice), make_done_separation(bob, title="Bob Song")
    link = services.create(theirs, "never", [])[0]
    response = alice_api.delete(reverse("api:share", args=[mine.id, link.id]))
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.revoked is None


def test_the_schema_documents_share_links(client: Client) -> None:
    paths = client.get(reverse("api:openapi-json")).json()["paths"]
    listed = paths["/api/v1/separations/{separation_id}/shares/"]
    assert set(listed) >= {"get", "post"}
    assert "delete" in paths["/api/v1/separations/{separation_id}/shares/{share_id}/"]
