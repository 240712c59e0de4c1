"""/healthz, /readyz and /metrics: answered before the host check and the HTTPS redirect.

Load balancers, orchestrators and Prometheus address each host by its own IP over plain HTTP
inside the network: the ``Host`` they send is not in ``DEMIXER_ALLOWED_HOSTS``, and an HTTPS
redirect is no answer to a probe. None of these pages builds a URL from the host or sets a
cookie, so answering them before those checks costs nothing in safety.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST

from demixer.ops import health, metrics


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and answering: no database, no queue, nothing else."""
    return HttpResponse("ok\n", content_type="text/plain")


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, else 503; the body says which did not and why."""
    checks = health.readiness()
    ready = all(check["ok"] for check in checks.values())
    response = JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format for the scraper holding ``DEMIXER_METRICS_TOKEN``."""
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {settings.METRICS_TOKEN}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        response = HttpResponse("A valid bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics_view,
}


class OperationsMiddleware:
    """Answers GET and HEAD on the paths of :data:`ENDPOINTS`; /metrics only while a token is
    set (otherwise it is the site's ordinary 404)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        endpoint = ENDPOINTS.get(request.path_info)
        if endpoint is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if endpoint is metrics_view and not settings.METRICS_TOKEN:
            return self.get_response(request)
        return endpoint(request)
