from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from demixer.accounts.forms import SignUpForm


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("library")
    return render(request, "accounts/landing.html")


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("separation-new")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="demixer.accounts.backends.UsernameOrEmailBackend")
        return redirect("separation-new")
    return render(request, "registration/signup.html", {"form": form})
