"""API fixtures: the web suite's named users, clips and finished separation, plus tokens and
clients that send them (with CSRF checks on, as a browser's session would have them)."""

from __future__ import annotations

import socket
from collections.abc import Callable

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


@pytest.fixture
def fake_dns(monkeypatch) -> dict[str, list[str]]:
    """Names the resolver answers from this dict (name -> addresses); the rest as usual. The
    test machine may have no DNS at all, and the tests need names with chosen addresses."""
    names: dict[str, list[str]] = {}
    real: Callable[..., list] = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host.lower() in names:
            return [
                (
                    socket.AF_INET6 if ":" in address else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (address, port),
                )
                for address in names[host.lower()]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names
