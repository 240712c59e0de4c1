"""The API's one error shape, ``{"code": stable, "message": human}``, for every failure: bad
input, auth, limits, missing objects, and anything unexpected (logged, never a traceback)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from demixer.ops import disk

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised anywhere in a view (or an auth check) to answer with this error."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


class Refused(Exception):
    """Raised with a finished response (the throttle's 429) to send as it is."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def error(status: int, code: str, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = error(exc.status, exc.code, exc.message)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query"))
    what = first.get("msg", "")
    message = f"{where}: {what or 'invalid'}" if where else what or "The request is invalid."
    details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors]
    return error(422, "invalid_request", message, errors=details)


HTTP_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's own refusals (a body that is not JSON, ...)."""
    return error(exc.status_code, HTTP_CODES.get(exc.status_code, "error"), str(exc.message))


def _bad_body(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return error(413, "too_large", "The request body is too large.")
    return error(400, "bad_request", "The request body could not be read.")


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if disk.is_storage_full(exc):  # a write found the disk full: the server's, for later
        logger.warning("API %s %s: storage full (%s)", request.method, request.path, exc)
        disk.warn_if_low(force=True)
        return error(507, "storage_full", disk.MESSAGE)
    logger.exception("API %s %s failed", request.method, request.path)
    return error(500, "internal_error", "Something went wrong on our side; it has been logged.")


def _on[E: Exception](
    api: NinjaAPI, kind: type[E], handler: Callable[[HttpRequest, E], HttpResponse]
) -> None:
    # ninja types a handler's exception as "the instance or its class"; it passes the instance
    api.add_exception_handler(kind, handler)  # type: ignore[arg-type]


def install(api: NinjaAPI) -> None:
    """Route every exception the API can meet to the JSON error shape."""
    _on(api, ApiError, _api_error)
    _on(api, Refused, lambda request, exc: exc.response)
    _on(api, ValidationError, _validation)
    _on(
        api,
        AuthenticationError,
        lambda request, exc: error(
            401,
            "not_authenticated",
            "Send a personal API token (Authorization: Bearer ...), or log in.",
        ),
    )
    _on(api, Http404, lambda request, exc: error(404, "not_found", "No such object."))
    _on(api, HttpError, _http_error)
    for kind in (SuspiciousOperation, MultiPartParserError, UnreadablePostError):
        _on(api, kind, _bad_body)
    _on(api, Exception, _unexpected)
