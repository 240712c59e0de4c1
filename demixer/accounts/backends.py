from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


def find_user(login: str) -> Any:
    """The account a log-in names: by email if it has an @, else by username; any case."""
    User = get_user_model()
    field = "email__iexact" if "@" in login else "username__iexact"
    # emails are unique case-insensitively at sign-up; .first() keeps old data from crashing
    return User._default_manager.filter(**{field: login}).order_by("pk").first()


def lockout_username(request: HttpRequest | None, credentials: dict | None = None) -> str:
    """What django-axes counts failures against (``AXES_USERNAME_CALLABLE``): the account, not
    the text typed, so "Alice", "ALICE" and alice's email share one limit."""
    data = credentials if credentials is not None else getattr(request, "POST", {})
    login = str(data.get("username") or "").strip()
    user = find_user(login) if login else None
    return (user.get_username() if user is not None else login).lower()


class UsernameOrEmailBackend(ModelBackend):
    """Log in with either the username or the email address, both case-insensitive."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not username or password is None:
            return None
        user = find_user(username)
        if user is None:
            get_user_model()().set_password(password)  # same cost as a real check: no enumeration
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
