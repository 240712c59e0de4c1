"""API fixtures: the web suite's named users, clips and finished separation, plus tokens and
clients that send them (with CSRF checks on, as a browser's session would have them)."""

from __future__ import annotations

import pytest
from django.test import Client

from demixer.api import tokens
from tests.web.conftest import *  # noqa: F403 (alice, bob, clips, make_done_separation, ...)


def token_client(raw: str) -> Client:
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def alice_token(alice) -> str:
    return tokens.create(alice, "tests")[1]


@pytest.fixture
def alice_api(alice_token) -> Client:
    return token_client(alice_token)


@pytest.fixture
def bob_api(bob) -> Client:
    return token_client(tokens.create(bob, "tests")[1])
