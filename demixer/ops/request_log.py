"""One log line and one latency observation per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path

from demixer.ops.metrics import REQUEST_SECONDS

logger = logging.getLogger("demixer.requests")

# machines ask for these every few seconds: their lines are DEBUG, not INFO
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# every metric label takes its value from a fixed set: a client chooses the method and the path
# it sends, and each new label value would be a new series kept until the process ends
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestLogMiddleware:
    """``GET /library/ 200 12ms user=3``: method, path, status, duration and user id (``-``
    when logged out). First in the chain, so it times every other middleware too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        REQUEST_SECONDS.labels(
            view_label(request), method_label(request), status_label(response)
        ).observe(seconds)
        level = logging.DEBUG if request.path_info in QUIET_PATHS else logging.INFO
        logger.log(
            level,
            "%s %s %d %.0fms user=%s",
            request.method,
            logged_path(request),
            response.status_code,
            seconds * 1000,
            user_id(request),
        )
        return response


def view_label(request: HttpRequest) -> str:
    """The URL's name: a bounded set of label values, unlike paths with ids in them."""
    match = request.resolver_match
    if match is not None:
        return match.view_name  # the URL's name, or its view's dotted path
    if request.path_info in QUIET_PATHS:
        return request.path.lstrip("/")
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


def method_label(request: HttpRequest) -> str:
    """The method when it is one of HTTP's usual ones, else "other"."""
    method = request.method or ""
    return method if method in METHODS else "other"


def status_label(response: HttpResponse) -> str:
    """The status class, "2xx" ... "5xx" (a view may answer any number; the class is what an
    alert needs)."""
    code = response.status_code
    return f"{code // 100}xx" if 100 <= code < 600 else "other"


def logged_path(request: HttpRequest) -> str:
    """The path as it was sent (percent-encoded, so a "%0A" in it cannot start a forged log
    line), with a password-reset link's token left out: logs are read by more people than
    should be able to reset someone's password."""
    path = escape_uri_path(request.path)
    match = request.resolver_match
    token = match.kwargs.get("token") if match is not None else None
    return path.replace(token, "<token>") if token else path


def user_id(request: HttpRequest) -> str:
    user = getattr(request, "user", None)  # absent when a middleware answered first
    if user is not None and user.is_authenticated:
        return str(user.pk)
    return "-"
