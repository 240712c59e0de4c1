"""The account page for personal API tokens: create (named; the secret shown once), list
(prefix only), revoke. Plain forms with CSRF, like every other page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import URLValidator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from demixer.api import tokens, webhook_targets
from demixer.api.models import ApiToken
from demixer.http import AuthedRequest


class TokenForm(forms.Form):
    name = forms.CharField(max_length=60, help_text="What the token is for, e.g. “laptop script”.")
    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],  # the worker POSTs with urllib
        help_text="Optional: a signed JSON POST goes here when a job this token started ends "
        "(public addresses only).",
    )

    def clean_webhook_url(self) -> str:
        url: str = self.cleaned_data["webhook_url"]
        if url:
            try:
                webhook_targets.check(url)
            except webhook_targets.WebhookRefused as exc:
                raise forms.ValidationError(str(exc), code="webhook_refused") from None
        return url


@login_required
def token_list(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret = created = None
    if request.method == "POST" and form.is_valid():
        created, secret = tokens.create(
            request.user, form.cleaned_data["name"], form.cleaned_data["webhook_url"]
        )
        form = TokenForm()
    rows = ApiToken.objects.filter(user=request.user, revoked__isnull=True)
    response = render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": rows, "secret": secret, "created": created},
    )
    response["Cache-Control"] = "no-store"  # the page with the secret must not be kept
    return response


@login_required
@require_POST
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    get_object_or_404(ApiToken, id=token_id, user=request.user)  # another user's: 404
    if tokens.revoke(request.user, token_id):
        messages.success(request, "Token revoked: it no longer works.")
    else:
        messages.info(request, "That token was already revoked.")
    return redirect("api-tokens")
