"""What a share link opens, for anyone holding it (no account): the result page read-only and
the files its owner allowed, each through a URL under the link's own token.

Every view finds the link by its token first (:func:`shared`): unknown, expired or revoked is a
404, and every object after that is looked up *within the link's separation*, so no other
separation, stem or render is reachable from it. Each request counts against the client's
throttle (``DEMIXER_SHARE_REQUESTS_PER_MINUTE``), and each answer says ``noindex``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST, require_safe
from django.views.defaults import page_not_found

from demixer.exports import controller, render_jobs
from demixer.exports import views as export_views
from demixer.exports.controller import Outcome
from demixer.ops import throttles
from demixer.ops.client_ip import client_network
from demixer.player.context import PageUrls, result_context
from demixer.separation import files, masters
from demixer.separation.masters import MASTER
from demixer.separation.models import Render, RenderKind, Stem
from demixer.sharing import services
from demixer.sharing.models import ShareLink

NOINDEX = "noindex, nofollow, noarchive"
# which allowed download each kind of render belongs to
RENDER_DOWNLOADS = {
    RenderKind.STEM: "stems",
    RenderKind.INSTRUMENTAL: "stems",
    RenderKind.ZIP: "zip",
    RenderKind.MIX: "mix",
}

ShareView = Callable[Concatenate[HttpRequest, ShareLink, ...], HttpResponseBase]


def throttle_limit() -> throttles.Limit:
    return throttles.Limit("share", settings.SHARE_REQUESTS_PER_MINUTE, "m")


def _too_many(retry: int) -> HttpResponse:
    response = HttpResponse(
        f"Too many requests for shared files: try again in {retry} s.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(retry)
    return response


def shared(view: ShareView) -> Callable[..., HttpResponseBase]:
    """Throttle, then find the live link of ``token`` (else 404) and pass it to ``view``; the
    answer, a 404 included, carries ``X-Robots-Tag: noindex`` and is never cached."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: object) -> HttpResponseBase:
        retry = throttles.take(throttle_limit(), client_network(request))
        if retry is not None:
            response: HttpResponseBase = _too_many(retry)
        else:
            try:
                link = services.find(token)
                if link is None:
                    raise Http404("no such share link")
                response = view(request, link, **kwargs)
            except Http404 as exc:
                response = page_not_found(request, exc)
        response["X-Robots-Tag"] = NOINDEX
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def _allowed(link: ShareLink, download: str) -> None:
    if download not in link.allowed:
        raise Http404("this link does not share that download")


@dataclass(frozen=True)
class ShareUrls(PageUrls):
    """The result page's URLs under this link: previews and downloads through its token; no
    original to compare with, no job status (the page shows finished stems only)."""

    token: str = ""

    def _share(self, view: str, *args: object) -> str:
        return reverse(view, args=[self.token, *args])

    def preview(self, stem: str) -> str:
        return self._share("share-preview", stem)

    def stem_download(self, stem: str, fmt: str) -> str:
        return self._share("share-stem", stem, fmt)

    def zip(self) -> str:
        return self._share("share-zip")

    def instrumental(self, fmt: str) -> str:
        return self._share("share-instrumental", fmt)

    def mix(self) -> str:
        return self._share("share-mix")

    def original(self) -> str | None:
        return None

    def status(self) -> str | None:
        return None


def shared_context(link: ShareLink, token: str) -> dict[str, object]:
    """``result_context`` for a visitor: the share's URLs, and nothing it does not allow (no
    original to compare with; no links, zip or mix form the owner left out)."""
    job = link.separation
    share = {"expires": link.expires, "allowed": link.allowed}
    context = result_context(job, share=share, urls=ShareUrls(job, token))
    stems = context["stems"]
    assert isinstance(stems, list)
    if not link.allow_stems:
        for stem in stems:
            stem["files"], stem["downloads"] = [], {}
        context["instrumental_url"] = context["instrumental_href"] = None
    if not link.allow_zip:
        context["zip_url"] = None
    if not link.allow_mix:
        context["mix_url"] = None
    options = context["download_options"]
    assert isinstance(options, dict)
    options["zip"], options["instrumental"] = (
        context["zip_url"],
        (options["instrumental"] if link.allow_stems else None),
    )
    return context


@shared
@require_safe
@csp_override(settings.PLAYER_CSP)  # the player's tempo/pitch: WebAssembly in a worklet
def page(request: HttpRequest, link: ShareLink) -> HttpResponse:
    return render(request, "player/result.html", shared_context(link, request_token(request)))


def request_token(request: HttpRequest) -> str:
    match = request.resolver_match
    assert match is not None
    return str(match.kwargs["token"])


def _stem(link: ShareLink, name: str) -> Stem:
    return get_object_or_404(Stem, separation=link.separation, name=name)


@shared
@require_safe
def preview(request: HttpRequest, link: ShareLink, name: str) -> HttpResponseBase:
    stem = _stem(link, name)
    filename = masters.preview_file(name)
    return files.serve(request, files.name_of(stem.preview), filename, attachment=False)


def _options(request: HttpRequest) -> tuple[str | None, str | None]:
    return request.GET.get("rate"), request.GET.get("bit_depth")


def _answer(request: HttpRequest, decide: Callable[[bool], Outcome]) -> HttpResponseBase:
    """The site's download answer (:func:`~demixer.exports.views.answer`), with this link's
    status URLs and way back."""
    return export_views.answer(request, decide, _status)


@shared
@require_safe
def stem_download(request: HttpRequest, link: ShareLink, name: str, fmt: str) -> HttpResponseBase:
    _allowed(link, "stems")
    job, asked = link.separation, _options(request)
    return _answer(request, lambda file: controller.stem(job, name, fmt, *asked, file))


@shared
@require_safe
def instrumental(request: HttpRequest, link: ShareLink, fmt: str) -> HttpResponseBase:
    _allowed(link, "stems")
    job, asked = link.separation, _options(request)
    return _answer(request, lambda file: controller.instrumental(job, fmt, *asked, file))


@shared
@require_safe
def stems_zip(request: HttpRequest, link: ShareLink) -> HttpResponseBase:
    _allowed(link, "zip")
    job, asked = link.separation, _options(request)
    fmt = request.GET.get("format", MASTER.name)
    return _answer(request, lambda file: controller.stems_zip(job, fmt, *asked, file))


@shared
@require_POST
def mix(request: HttpRequest, link: ShareLink) -> HttpResponseBase:
    _allowed(link, "mix")
    job, post = link.separation, request.POST
    form = export_views.mix_form(job, post)
    if isinstance(form, HttpResponse):
        return form
    fmt, setting = form
    asked = post.get("rate"), post.get("bit_depth")
    return _answer(request, lambda file: controller.mix(job, fmt, setting, *asked, file))


def _payload(request: HttpRequest, item: Render) -> dict[str, object]:
    """The render's status JSON with this link's URLs, not the owner's."""
    token = request_token(request)
    return {
        **render_jobs.payload(item),
        "status_url": reverse("share-render-status", args=[token, item.id]),
        "download_url": reverse("share-render-file", args=[token, item.id]),
    }


def _status(request: HttpRequest, item: Render) -> HttpResponse:
    back = reverse("share-page", args=[request_token(request)])
    return export_views.status_answer(request, item, _payload(request, item), back)


def _render_of(link: ShareLink, render_id: object) -> Render:
    """One of this link's separation's renders, of a kind the link allows."""
    item = get_object_or_404(
        Render.objects.select_related("separation__track"),
        id=render_id,
        separation=link.separation,
    )
    if RenderKind(item.kind) not in RENDER_DOWNLOADS:
        raise Http404("this link does not share that download")
    _allowed(link, RENDER_DOWNLOADS[RenderKind(item.kind)])
    return item


@shared
@require_safe
def render_status(request: HttpRequest, link: ShareLink, render_id: object) -> JsonResponse:
    item = controller.render_status(_render_of(link, render_id))
    return JsonResponse(_payload(request, item))


@shared
@require_safe
def render_file(request: HttpRequest, link: ShareLink, render_id: object) -> HttpResponseBase:
    item = _render_of(link, render_id)
    return _answer(request, lambda file: controller.render_file(item))
