"""Who is asking: a personal token (``Authorization: Bearer``; no CSRF, the header is not sent
by browsers on their own) or the site's session (the app's own pages; CSRF on writes).

Each also counts the request against the API's rate limit: per token, per session user, or per
client address when neither is given (so guessing tokens is limited too).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from demixer.api import tokens
from demixer.api.errors import ApiError, Refused
from demixer.ops import throttles
from demixer.ops.client_ip import client_network

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _count(request: HttpRequest, key: str) -> None:
    refused = throttles.api_refusal(request, key=key)
    if refused is not None:
        raise Refused(refused)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer dmx_...``: a token that is not live is a 401 at once."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = tokens.authenticate(token.strip())
        if found is None:
            _count(request, f"ip:{client_network(request)}")
            raise ApiError(401, "invalid_token", "This API token is not valid (or was revoked).")
        request.user = found.user
        _count(request, f"token:{found.id}")
        return found


class SessionAuth(APIKeyCookie):
    """The logged-in session of the site's own pages; writes need the CSRF token as forms do."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        user = request.user
        if not user.is_authenticated:
            _count(request, f"ip:{client_network(request)}")
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise ApiError(
                403,
                "csrf_failed",
                "The CSRF check failed: send the X-CSRFToken header, or use an API token.",
            )
        _count(request, f"user:{user.pk}")
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None  # __call__ does the work; the parent's cookie lookup is for the schema
