"""Personal API tokens: made on the account page (shown once, stored as a digest), listed by
prefix, revoked; only a live token opens the API."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from demixer.api.models import ApiToken
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

SEPARATIONS = "/api/v1/separations/"


def create(client: Client, name: str = "laptop") -> str:
    page = client.post(reverse("api-tokens"), {"name": name}).content.decode()
    return re.search(r'id="token-secret">([^<]+)<', page).group(1)


def test_a_token_is_shown_once_and_stored_as_its_digest(alice, alice_client) -> None:
    secret = create(alice_client)
    assert secret.startswith("dmx_") and len(secret) > 40
    row = ApiToken.objects.get(user=alice)
    assert row.name == "laptop"
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.values().get())  # nothing stored in clear
    again = alice_client.get(reverse("api-tokens")).content.decode()
    assert secret not in again and row.prefix in again and "laptop" in again
    assert token_client(secret).get(SEPARATIONS).status_code == 200


def test_the_page_is_linked_from_the_header_and_needs_a_login(alice_client, client) -> None:
    assert reverse("api-tokens") in alice_client.get(reverse("library")).content.decode()
    response = client.get(reverse("api-tokens"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_the_forms_need_csrf(alice) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.post(reverse("api-tokens"), {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_a_revoked_token_is_refused(alice, alice_client) -> None:
    secret = create(alice_client)
    row = ApiToken.objects.get()
    response = alice_client.post(reverse("api-token-revoke", args=[row.id]))
    assert response.status_code == 302
    refused = token_client(secret).get(SEPARATIONS)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    assert row.prefix not in alice_client.get(reverse("api-tokens")).content.decode()


def test_another_users_token_cannot_be_revoked(alice_client, bob_client) -> None:
    secret = create(alice_client)
    row = ApiToken.objects.get()
    bob_client.post(reverse("api-token-revoke", args=[row.id]))
    row.refresh_from_db()
    assert row.revoked is None
    assert token_client(secret).get(SEPARATIONS).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer nonsense", "Bearer dmx_" + "a" * 43, "Basic YWxpY2U6cHc="],
)
def test_missing_and_invalid_tokens_get_json_401(alice, header) -> None:
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    response = client.get(SEPARATIONS)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] in ("not_authenticated", "invalid_token")
    assert response.json()["message"]


def test_a_token_of_a_deactivated_user_is_refused(alice, alice_token) -> None:
    alice.is_active = False
    alice.save()
    assert token_client(alice_token).get(SEPARATIONS).status_code == 401


def test_a_token_with_a_webhook_shows_its_signing_secret_once(
    alice, alice_client, fake_dns
) -> None:
    fake_dns["example.org"] = ["93.184.215.14"]  # a public address
    page = alice_client.post(
        reverse("api-tokens"), {"name": "hooked", "webhook_url": "https://example.org/hook"}
    ).content.decode()
    row = ApiToken.objects.get(user=alice)
    assert row.webhook_url == "https://example.org/hook"
    assert row.webhook_secret.startswith("whsec_") and row.webhook_secret in page
    again = alice_client.get(reverse("api-tokens")).content.decode()
    assert row.webhook_secret not in again and "https://example.org/hook" in again
    bad = alice_client.post(
        reverse("api-tokens"), {"name": "x", "webhook_url": "ftp://example.org/x"}
    )
    assert "Enter a valid URL" in bad.content.decode() and ApiToken.objects.count() == 1
