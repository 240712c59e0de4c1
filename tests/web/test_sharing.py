"""Share links: the owner makes one from the result page (shown once, stored hashed), a visitor
opens it without an account and gets a read-only page with only what the owner allowed, the
owner revokes it; every answer says noindex, and a client making too many requests is refused.
(Which URLs answer whom: tests/web/test_permissions.py.)"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from demixer.sharing import services
from demixer.sharing.models import ShareLink

pytestmark = pytest.mark.django_db


def make_link(alice_client: Client, job, **form: str) -> str:
    """The owner's Share form, posted; the link the page then shows (once)."""
    data = {"expires": "7d", **form}
    response = alice_client.post(reverse("share-create", args=[job.id]), data)
    assert response.status_code == 302
    page = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    match = re.search(r'id="share-new-url"[^>]*value="([^"]+)"', page)
    assert match, "the new link is shown on the result page"
    return match.group(1)


def test_the_owner_makes_a_link_that_is_shown_once_and_stored_hashed(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    url = make_link(alice_client, job, allow_stems="1")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 43
    link = ShareLink.objects.get()
    assert link.digest == services.digest(token) and token not in str(link.__dict__)
    assert link.allowed == ["stems"] and link.expires is not None
    # not shown again: the panel lists it by its first characters only
    again = alice_client.get(reverse("separation-detail", args=[job.id])).content.decode()
    assert token not in again and f"/s/{link.prefix}" in again


def test_a_visitor_gets_the_player_read_only(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    url = make_link(alice_client, job, allow_stems="1")
    response = Client().get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<meta name="robots" content="noindex' in page
    assert response["X-Robots-Tag"].startswith("noindex")
    assert 'data-shared="true"' in page and 'data-stem="vocals"' in page
    # none of the owner's URLs, no original, no share panel, no zip or mix (not allowed)
    assert f"/separations/{job.id}" not in page
    assert "data-original-url" not in page and 'id="share"' not in page
    assert "stems.zip" not in page and "Download this mix" not in page
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert reverse("share-stem", args=[token, "vocals", "flac"]) in page


def test_a_link_with_every_download_shows_them_all(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    url = make_link(alice_client, job, allow_stems="1", allow_zip="1", allow_mix="1")
    page = Client().get(url).content.decode()
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert reverse("share-zip", args=[token]) in page
    assert f'action="{reverse("share-mix", args=[token])}"' in page


def test_a_revoked_link_no_longer_opens(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    url = make_link(alice_client, job)
    assert Client().get(url).status_code == 200
    link = ShareLink.objects.get()
    response = alice_client.post(reverse("share-revoke", args=[job.id, link.id]))
    assert response.status_code == 302
    gone = Client().get(url)
    assert gone.status_code == 404 and gone["X-Robots-Tag"].startswith("noindex")
    link.refresh_from_db()
    assert link.revoked is not None


def test_an_unfinished_separation_cannot_be_shared(
    alice, alice_client, make_done_separation
) -> None:
    job = make_done_separation(alice)
    job.status = "running"
    job.save()
    alice_client.post(reverse("share-create", args=[job.id]), {"expires": "1d"})
    assert not ShareLink.objects.exists()
    with pytest.raises(services.BadShare):
        services.create(job, "1d", [])


def test_a_bad_expiry_makes_nothing(alice, make_done_separation) -> None:
    job = make_done_separation(alice)
    with pytest.raises(services.BadShare, match="expires"):
        services.create(job, "30d", [])
    assert not ShareLink.objects.exists()


def test_share_links_are_rate_limited_per_client(settings, alice, make_done_separation) -> None:
    settings.SHARE_REQUESTS_PER_MINUTE = 3
    job = make_done_separation(alice)
    token = services.create(job, "never", ["stems"])[1]
    visitor = Client()
    codes = [visitor.get(reverse("share-page", args=[token])).status_code for _ in range(3)]
    refused = visitor.get(reverse("share-preview", args=[token, "vocals"]))
    assert codes == [200, 200, 200]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused["X-Robots-Tag"].startswith("noindex")
    # guessing counts too: an unknown token uses up the same room
    assert visitor.get(reverse("share-page", args=["y" * 43])).status_code == 429
    # another client is counted on its own
    other = Client(REMOTE_ADDR="192.0.2.9")
    assert other.get(reverse("share-page", args=[token])).status_code == 200
