"""The owner's side of share links on the site: make one, revoke one (the result page's Share
panel, ``templatetags/sharing.py``). Every query filters by the owner."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from demixer.separation.views import owned_job
from demixer.sharing import services

NEW_LINK = "share_new_link"  # session key: the link just made, shown once in the panel


@login_required
@require_POST
def create(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = owned_job(request, separation_id)
    allow = [name for name in services.DOWNLOADS if request.POST.get(f"allow_{name}")]
    try:
        link, token = services.create(job, request.POST.get("expires", "7d"), allow)
    except services.BadShare as exc:
        messages.error(request, str(exc))
    else:
        url = request.build_absolute_uri(reverse("share-page", args=[token]))
        request.session[NEW_LINK] = {"separation": str(job.id), "id": link.id, "url": url}
    return redirect(reverse("separation-detail", args=[job.id]) + "#share")


@login_required
@require_POST
def revoke(request: HttpRequest, separation_id: object, share_id: int) -> HttpResponse:
    job = owned_job(request, separation_id)
    if services.revoke(job, share_id):
        messages.success(request, "The share link is revoked: it no longer opens.")
    else:
        messages.info(request, "That link was already revoked.")
    return redirect(reverse("separation-detail", args=[job.id]) + "#share")
