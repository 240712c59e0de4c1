"""Throttles on sign-up, password reset and the API: fixed windows, a count per key and window.

The counts live where every web process and host sees the same one and a restart keeps it: in
the database (:class:`~demixer.ops.models.ThrottleCount`), or in Redis when one is configured
(``THROTTLES_IN_CACHE``). Each event is counted by one atomic step that also checks the limit
(a conditional ``UPDATE ... WHERE count < limit``, or Redis's ``INCR``), so requests racing
each other stop exactly at the limit. The limits come from settings, and 0 turns one off. If
Redis cannot be reached, requests are let through and a warning logged: a throttle must not
take the site down with it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse

from demixer.ops.client_ip import client_network
from demixer.ops.models import ThrottleCount

logger = logging.getLogger(__name__)
PERIODS = {"m": 60, "h": 3600}


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``period`` ("m" or "h") for one key; 0 = no limit."""

    group: str
    count: int
    period: str

    @property
    def seconds(self) -> int:
        return PERIODS[self.period]


@dataclass(frozen=True)
class Window:
    """One key's count in the window open now."""

    key: str
    start: int
    end: int
    seconds_left: int

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)


def _window(limit: Limit, key: str) -> Window:
    now = time.time()
    start = int(now // limit.seconds * limit.seconds)
    # a digest: the same length for any key, and no address or e-mail kept in the table
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    end = start + limit.seconds
    return Window(f"{limit.group}:{digest}", start, end, max(1, math.ceil(end - now)))


def take(limit: Limit, key: str) -> int | None:
    """Count one event for ``key`` if its window has room: None. Else seconds until the next
    window opens (and nothing is counted)."""
    if limit.count <= 0:
        return None
    window = _window(limit, key)
    if not settings.THROTTLES_IN_CACHE:
        return None if _take_row(window, limit.count) else window.seconds_left
    try:
        return None if _take_cached(window, limit) else window.seconds_left
    except Exception:  # any cache backend's error: let the request through
        logger.warning("throttle %s: the cache is unreachable; not limiting", limit.group)
        return None


def peek(limit: Limit, key: str) -> int | None:
    """:func:`take`'s answer without counting anything."""
    if limit.count <= 0:
        return None
    window = _window(limit, key)
    try:
        count = _count(window)
    except Exception:
        logger.warning("throttle %s: the cache is unreachable; not limiting", limit.group)
        return None
    return window.seconds_left if count >= limit.count else None


def give_back(limit: Limit, key: str) -> None:
    """Undo a :func:`take` whose event did not happen after all."""
    if limit.count <= 0:
        return
    window = _window(limit, key)
    if not settings.THROTTLES_IN_CACHE:
        rows = ThrottleCount.objects.filter(key=window.key, window=window.start, count__gt=0)
        rows.update(count=F("count") - 1)
        return
    try:
        cache.decr(_cache_key(window))
    except Exception:  # gone with its window, or the cache is unreachable
        logger.warning("throttle %s: could not give a count back", limit.group)


def _take_row(window: Window, limit: int) -> bool:
    rows = ThrottleCount.objects.filter(key=window.key, window=window.start, count__lt=limit)
    if rows.update(count=F("count") + 1):
        return True
    try:
        with transaction.atomic():
            ThrottleCount.objects.create(
                key=window.key, window=window.start, count=1, expires=window.expires
            )
    except IntegrityError:
        # the window's row exists: full, or another request made it a moment ago
        return bool(rows.update(count=F("count") + 1))
    # a new window: drop the ended ones (of every key) while here
    ThrottleCount.objects.filter(expires__lt=datetime.fromtimestamp(time.time(), UTC)).delete()
    return True


def _cache_key(window: Window) -> str:
    return f"throttle:{window.key}:{window.start}"


def _take_cached(window: Window, limit: Limit) -> bool:
    key = _cache_key(window)
    cache.add(key, 0, timeout=limit.seconds + 60)
    if cache.incr(key) <= limit.count:
        return True
    cache.decr(key)  # not counted: a refused request does not use up a later one's room
    return False


def _count(window: Window) -> int:
    if settings.THROTTLES_IN_CACHE:
        return int(cache.get(_cache_key(window), 0))
    row = ThrottleCount.objects.filter(key=window.key, window=window.start).first()
    return row.count if row else 0


def signup_limit() -> Limit:
    return Limit("signup", settings.SIGNUPS_PER_IP_HOUR, "h")


def signup_refused(request: HttpRequest) -> int | None:
    """Seconds until this client may create another account, if it has made its limit of
    accounts in this window; None when it may. Counts nothing (see :func:`take_signup`)."""
    return peek(signup_limit(), client_network(request))


def take_signup(request: HttpRequest) -> int | None:
    """Count an account about to be created (None), or refuse it (seconds to wait): typing
    mistakes on the form cost nothing, and sign-ups racing each other stop at the limit."""
    return take(signup_limit(), client_network(request))


def give_back_signup(request: HttpRequest) -> None:
    """The account counted was not created after all."""
    give_back(signup_limit(), client_network(request))


def password_reset_refused(request: HttpRequest, email: str) -> bool:
    """Count one reset request against this client and this address; True when either has
    made its limit (then no mail goes out, and the page says the same as ever)."""
    by_ip = Limit("password-reset-ip", settings.PASSWORD_RESETS_PER_IP_HOUR, "h")
    by_email = Limit("password-reset-email", settings.PASSWORD_RESETS_PER_EMAIL_HOUR, "h")
    waits = [
        take(by_ip, client_network(request)),
        take(by_email, email.strip().lower()),
    ]
    return any(wait is not None for wait in waits)


def api_refusal(request: HttpRequest, key: str | None = None) -> JsonResponse | None:
    """Count one API request against ``key`` (the API passes its token's; by default the
    user's, or logged out the client address's); a 429 with ``Retry-After`` once past
    ``DEMIXER_API_REQUESTS_PER_MINUTE``, else None."""
    limit = Limit("api", settings.API_REQUESTS_PER_MINUTE, "m")
    if key is None:
        user = request.user
        key = f"user:{user.pk}" if user.is_authenticated else f"ip:{client_network(request)}"
    retry = take(limit, key)
    if retry is None:
        return None
    response = JsonResponse(
        {
            "code": "rate_limited",
            "message": f"Too many requests: at most {limit.count} a minute. "
            f"Try again in {retry} s.",
        },
        status=429,
    )
    response["Retry-After"] = str(retry)
    return response


def in_minutes(seconds: int) -> str:
    """The wait in whole minutes, rounded up: "12 minutes", for "please try again in ..."."""
    count = max(1, math.ceil(seconds / 60))
    return "1 minute" if count == 1 else f"{count} minutes"
