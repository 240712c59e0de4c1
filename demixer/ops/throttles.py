"""Throttles on sign-up, password reset and the API, counted in Django's cache.

django-ratelimit does the counting (fixed windows: a counter per key and window, made with the
cache's atomic ``add``/``incr``); the limits come from settings, and 0 turns one off. The counts
live in ``CACHES["default"]``: per process by default, in Redis when several processes or hosts
serve the app. If the cache cannot be reached, requests are let through and a warning logged:
a throttle must not take the site down with it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django_ratelimit.core import get_usage

from demixer.ops.client_ip import client_network

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``period`` ("m" or "h") for one key; 0 = no limit."""

    group: str
    count: int
    period: str

    @property
    def rate(self) -> str:
        return f"{self.count}/{self.period}"


def _usage(request: HttpRequest, limit: Limit, key: str, *, increment: bool) -> dict | None:
    """django-ratelimit's count for ``key`` in this window (None: not limited or no cache)."""
    if limit.count <= 0:
        return None
    try:
        return get_usage(
            request,
            group=limit.group,
            key=lambda _group, _request: key,
            rate=limit.rate,
            increment=increment,
        )
    except Exception:  # any cache backend's error: let the request through
        logger.warning("throttle %s: the cache is unreachable; not limiting", limit.group)
        return None


def _retry_after(usage: dict) -> int:
    return max(1, int(usage["time_left"]))


def signup_limit() -> Limit:
    return Limit("signup", settings.SIGNUPS_PER_IP_HOUR, "h")


def signup_refused(request: HttpRequest) -> int | None:
    """Seconds until this client may create another account, if it has made its limit of
    accounts in this window; None when it may. Counts nothing (see :func:`count_signup`)."""
    usage = _usage(request, signup_limit(), client_network(request), increment=False)
    if usage is None or usage["count"] < usage["limit"]:
        return None
    return _retry_after(usage)


def count_signup(request: HttpRequest) -> None:
    """Count an account created: typing mistakes on the form cost nothing."""
    _usage(request, signup_limit(), client_network(request), increment=True)


def password_reset_refused(request: HttpRequest, email: str) -> bool:
    """Count one reset request against this client and this address; True when either has
    made its limit (then no mail goes out, and the page says the same as ever)."""
    by_ip = Limit("password-reset-ip", settings.PASSWORD_RESETS_PER_IP_HOUR, "h")
    by_email = Limit("password-reset-email", settings.PASSWORD_RESETS_PER_EMAIL_HOUR, "h")
    usages = [
        _usage(request, by_ip, client_network(request), increment=True),
        _usage(request, by_email, email.strip().lower(), increment=True),
    ]
    return any(usage is not None and usage["should_limit"] for usage in usages)


def api_refusal(request: HttpRequest, key: str | None = None) -> JsonResponse | None:
    """Count one API request against ``key`` (the API passes its token's; by default the
    user's, or logged out the client address's); a 429 with ``Retry-After`` once past
    ``DEMIXER_API_REQUESTS_PER_MINUTE``, else None."""
    limit = Limit("api", settings.API_REQUESTS_PER_MINUTE, "m")
    if key is None:
        user = request.user
        key = f"user:{user.pk}" if user.is_authenticated else f"ip:{client_network(request)}"
    usage = _usage(request, limit, key, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    retry = _retry_after(usage)
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
