"""Request types for views (annotations only)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthedRequest(HttpRequest):
    """The request of a view behind ``login_required`` (or a token check): a signed-in user,
    never ``AnonymousUser``, so ``request.user`` goes straight into owner filters."""

    user: User
