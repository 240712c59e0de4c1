"""Throttles: sign-up per client, password reset per client and per address, the API per user.

Counts live in the database (each test starts from an empty one), or in Redis when configured.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from demixer.ops.models import ThrottleCount
from tests.services import CACHE_REDIS_URL
from tests.web.conftest import PASSWORD
from tests.web.test_redis_queue import redis_unreachable

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def signup(client: Client, n: int, password2: str = PASSWORD, **extra):
    """Sign up ``user<n>``; ``extra`` goes into the request (``REMOTE_ADDR=...``)."""
    data = {
        "username": f"user{n}",
        "email": f"user{n}@example.com",
        "password1": PASSWORD,
        "password2": password2,
    }
    return client.post(reverse("signup"), data, **extra)


def reset(client: Client, email: str, **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def accounts() -> int:
    return get_user_model().objects.count()


def test_sign_up_is_limited_per_client_address(settings) -> None:
    settings.SIGNUPS_PER_IP_HOUR = 3
    for n in range(3):
        assert signup(Client(), n).status_code == 302
    response = signup(Client(), 3)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many accounts were created from your network" in page
    assert "try again in" in page and "Traceback" not in page
    assert accounts() == 3
    # another address is not affected
    assert signup(Client(), 4, REMOTE_ADDR="198.51.100.7").status_code == 302
    assert accounts() == 4


def test_sign_up_mistakes_do_not_count(settings) -> None:
    settings.SIGNUPS_PER_IP_HOUR = 2
    for n in range(5):
        response = signup(Client(), n, password2="not the same")
        assert response.status_code == 200
    assert signup(Client(), 10).status_code == 302
    assert signup(Client(), 11).status_code == 302
    assert signup(Client(), 12).status_code == 429


def test_sign_up_limit_zero_turns_it_off(settings) -> None:
    settings.SIGNUPS_PER_IP_HOUR = 0
    for n in range(8):
        assert signup(Client(), n).status_code == 302
    assert accounts() == 8


def test_x_forwarded_for_is_ignored_unless_behind_a_trusted_proxy(settings) -> None:
    settings.SIGNUPS_PER_IP_HOUR = 1
    assert signup(Client(), 0, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 302
    # a client cannot buy a new count by sending another header
    assert signup(Client(), 1, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 429


def test_behind_a_trusted_proxy_the_address_it_saw_counts(settings) -> None:
    settings.SIGNUPS_PER_IP_HOUR = 1
    settings.TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    assert signup(Client(), 0, HTTP_X_FORWARDED_FOR="203.0.113.1", **proxy).status_code == 302
    assert signup(Client(), 1, HTTP_X_FORWARDED_FOR="203.0.113.2", **proxy).status_code == 302
    # what the client wrote on the left is not believed: the proxy appended 203.0.113.1
    forged = "198.51.100.99, 203.0.113.1"
    assert signup(Client(), 2, HTTP_X_FORWARDED_FOR=forged, **proxy).status_code == 429


def test_ipv6_clients_are_counted_per_64(settings) -> None:
    settings.SIGNUPS_PER_IP_HOUR = 1
    assert signup(Client(), 0, REMOTE_ADDR="2001:db8:1:2::1").status_code == 302
    assert signup(Client(), 1, REMOTE_ADDR="2001:db8:1:2::ffff").status_code == 429
    assert signup(Client(), 2, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


def test_password_reset_sends_at_most_the_limit_per_address(alice, settings) -> None:
    settings.PASSWORD_RESETS_PER_EMAIL_HOUR = 3
    responses = [reset(Client(), "alice@example.com") for _ in range(6)]
    assert len(mail.outbox) == 3
    # refused or not, every answer is the same page: nothing tells whether mail went out
    assert {(r.status_code, r.url) for r in responses} == {(302, reverse("password_reset_done"))}
    # the address counts whatever its case
    reset(Client(), "ALICE@example.com")
    assert len(mail.outbox) == 3


def test_a_refused_reset_looks_like_one_for_an_unknown_address(alice, settings) -> None:
    settings.PASSWORD_RESETS_PER_EMAIL_HOUR = 1
    reset(Client(), "alice@example.com")
    refused = reset(Client(), "alice@example.com")
    unknown = reset(Client(), "nobody@example.com")
    assert (refused.status_code, refused.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 1


def test_password_reset_is_limited_per_client_address(alice, bob, settings) -> None:
    settings.PASSWORD_RESETS_PER_IP_HOUR = 4
    for n in range(4):
        reset(Client(), f"someone{n}@example.com")
    response = reset(Client(), "alice@example.com")
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mail.outbox == []
    reset(Client(), "bob@example.com", REMOTE_ADDR="198.51.100.7")
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_the_api_is_limited_per_user(alice_client, bob_client, settings) -> None:
    settings.API_REQUESTS_PER_MINUTE = 5
    url = reverse("api:separations")
    for _ in range(5):
        assert alice_client.get(url).status_code == 200
    response = alice_client.get(url)
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert "at most 5 a minute" in response.json()["message"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # bob has his own count
    assert bob_client.get(url).status_code == 200


def test_the_api_limit_zero_turns_it_off(alice_client, settings) -> None:
    settings.API_REQUESTS_PER_MINUTE = 0
    url = reverse("api:separations")
    assert all(alice_client.get(url).status_code == 200 for _ in range(30))


def test_an_unreachable_cache_lets_requests_through(alice_client, settings, caplog) -> None:
    """A throttle must not take the site down with it: nothing listens on port 1."""
    settings.CACHES = {
        "default": {
            "BACKEND": REDIS_CACHE,
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    settings.THROTTLES_IN_CACHE = True
    settings.API_REQUESTS_PER_MINUTE = 1
    url = reverse("api:separations")
    assert [alice_client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert signup(Client(), 0).status_code == 302
    assert "the cache is unreachable" in caplog.text


def test_with_redis_configured_the_counts_live_in_redis(alice_client, settings) -> None:
    """Several web processes share their counts only through Redis."""
    reason = redis_unreachable(CACHE_REDIS_URL)
    if reason:
        pytest.skip(reason)
    import redis

    server = redis.Redis.from_url(CACHE_REDIS_URL)
    server.flushdb()
    settings.CACHES = {
        "default": {
            "BACKEND": REDIS_CACHE,
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": "demixer",
        }
    }
    settings.THROTTLES_IN_CACHE = True
    settings.API_REQUESTS_PER_MINUTE = 2
    try:
        url = reverse("api:separations")
        assert [alice_client.get(url).status_code for _ in range(3)] == [200, 200, 429]
        [key] = server.keys("demixer:*throttle:api:*")
        assert int(server.get(key)) == 2  # the refused request is not counted
        assert not ThrottleCount.objects.exists()
    finally:
        server.flushdb()


@pytest.mark.parametrize(
    ("env", "in_cache"),
    [
        ({}, "False"),
        ({"DEMIXER_QUEUE": "rq"}, "True"),
        ({"DEMIXER_CACHE_URL": "redis://cache:6379/1"}, "True"),
    ],
)
def test_the_counts_are_shared_where_redis_is_configured_or_in_the_database(env, in_cache) -> None:
    script = "from demixer.config import settings; print(settings.THROTTLES_IN_CACHE)"
    clean = {k: v for k, v in os.environ.items() if k not in ("DEMIXER_QUEUE", "DEMIXER_CACHE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == in_cache
