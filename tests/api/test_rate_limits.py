"""Rate limits count per token: one busy script does not lock out its owner's other tokens."""

from __future__ import annotations

import pytest

from demixer.api import tokens
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/separations/"


def test_each_token_has_its_own_count(alice, alice_api, settings) -> None:
    settings.API_REQUESTS_PER_MINUTE = 3
    assert [alice_api.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    refused = alice_api.get(URL)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    other = token_client(tokens.create(alice, "second")[1])
    assert other.get(URL).status_code == 200


def test_guessing_tokens_is_limited_per_client_address(alice, settings) -> None:
    settings.API_REQUESTS_PER_MINUTE = 2
    guesses = [token_client(f"dmx_guess{n}").get(URL).status_code for n in range(3)]
    assert guesses == [401, 401, 429]
