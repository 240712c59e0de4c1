from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from demixer.accounts.forms import SignUpForm
from demixer.ops import throttles

logger = logging.getLogger(__name__)


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("library")
    return render(request, "accounts/landing.html")


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("separation-new")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        if (retry := throttles.signup_refused(request)) is not None:
            return _too_many(request, form, retry)
        if form.is_valid():
            # counted before the account is made: of sign-ups racing for the last one, one wins
            if (retry := throttles.take_signup(request)) is not None:
                return _too_many(request, form, retry)
            try:
                user = form.save()
            except BaseException:
                throttles.give_back_signup(request)
                raise
            login(request, user, backend="demixer.accounts.backends.UsernameOrEmailBackend")
            return redirect("separation-new")
    return render(request, "registration/signup.html", {"form": form})


def _too_many(request: HttpRequest, form: SignUpForm, retry: int) -> HttpResponse:
    form.add_error(
        None,
        "Too many accounts were created from your network in the last hour; "
        f"please try again in {throttles.in_minutes(retry)}.",
    )
    return render(request, "registration/signup.html", {"form": form}, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, throttled per client and per address. A refused request gets the same page as
    any other ("if an account uses that address, a mail is on its way"), so the throttle tells
    nobody whether an account exists; it only sends nothing."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        self.extra_email_context = mail_context()
        if throttles.password_reset_refused(self.request, form.cleaned_data["email"]):
            logger.warning("password reset refused: too many requests")
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def mail_context() -> dict[str, str]:
    """What a mail calls the site and where its links lead: the site name setting, and the
    site's address when one is set (the request's host is whatever the client sent, and
    behind a proxy it is the proxy's view of it, "127.0.0.1:8101")."""
    context = {"site_name": settings.SITE_NAME}
    if settings.SITE_URL:
        site = urlsplit(settings.SITE_URL)
        context.update(domain=site.netloc, protocol=site.scheme)
    return context
