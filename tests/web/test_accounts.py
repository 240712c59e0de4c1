"""Sign-up, log in (username or email), log out, password change and reset, throttling."""

from __future__ import annotations

import re
import runpy
from importlib.util import find_spec
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import resolve, reverse
from django.utils.http import urlsafe_base64_decode

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much better passphrase 42"


def signup(client: Client, username: str = "carol", email: str = "carol@example.com", **extra):
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    data.update(extra)
    return client.post(reverse("signup"), data)


def test_landing_says_what_the_app_does_and_links_to_sign_up_and_log_in(client: Client) -> None:
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "stems" in page
    assert reverse("signup") in page and reverse("login") in page
    assert "personal and research use" in page  # the weights' licence note


def test_landing_sends_a_logged_in_user_to_the_library(alice_client: Client) -> None:
    assert alice_client.get("/").url == reverse("library")


def test_sign_up_logs_in_and_lands_on_the_new_separation_page(client: Client) -> None:
    response = signup(client)
    assert response.status_code == 302
    assert response.url == reverse("separation-new")
    user = get_user_model().objects.get(username="carol")
    assert user.email == "carol@example.com"
    assert client.get(reverse("separation-new")).status_code == 200
    assert int(client.session["_auth_user_id"]) == user.pk


def test_sign_up_refuses_a_taken_username_or_email_whatever_the_case(alice, client: Client):
    response = signup(client, username="ALICE", email="new@example.com")
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = signup(client, username="alice2", email="Alice@Example.COM")
    assert "An account with this email address already exists." in response.content.decode()
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        ("abc", "abc", "too short"),
        ("password123", "password123", "too common"),
        (PASSWORD, PASSWORD + "x", "didn’t match"),
    ],
)
def test_sign_up_applies_djangos_password_validators(client, password1, password2, message):
    response = signup(client, password1=password1, password2=password2)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", "Alice@Example.com"])
def test_log_in_with_username_or_email(alice, client: Client, login: str) -> None:
    response = client.post(reverse("login"), {"username": login, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("library")
    assert int(client.session["_auth_user_id"]) == alice.pk


def test_wrong_password_stays_on_the_login_page(alice, client: Client) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "do not match an account" in response.content.decode()


def test_log_out_is_a_post(alice_client: Client) -> None:
    assert alice_client.get(reverse("logout")).status_code == 405
    response = alice_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("landing")
    assert alice_client.get(reverse("library")).status_code == 302  # to the login page


def test_password_change(alice, alice_client: Client) -> None:
    response = alice_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_password_reset_by_email(alice, client: Client) -> None:
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link).url  # Django swaps the token for a session marker
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_the_reset_mail_is_signed_with_the_site_name_not_the_host(
    alice, client: Client, settings
) -> None:
    settings.SITE_NAME = "Band Room"
    client.post(reverse("password_reset"), {"email": alice.email}, HTTP_HOST="127.0.0.1:8101")
    [message] = mail.outbox
    assert message.subject == "Password reset on Band Room"
    assert "The Band Room team" in message.body
    assert "127.0.0.1:8101 team" not in message.body
    assert "http://127.0.0.1:8101/accounts/reset/" in message.body  # no site address set


def test_the_reset_link_uses_the_site_address_when_one_is_set(
    alice, client: Client, settings
) -> None:
    settings.SITE_URL = "https://music.example.org"
    client.post(reverse("password_reset"), {"email": alice.email}, HTTP_HOST="127.0.0.1:8101")
    [message] = mail.outbox
    assert message.subject == "Password reset on demixer"  # the default name
    assert "https://music.example.org/accounts/reset/" in message.body


def test_the_console_mail_prints_the_reset_link_whole(
    alice, client: Client, settings, monkeypatch, capsys
) -> None:
    """Development mail goes to the console: the link must be copyable from there, not cut by
    quoted-printable soft line breaks ("=" at the end of a line, "=3D")."""
    monkeypatch.setenv("DEMIXER_EMAIL_BACKEND", "console")
    monkeypatch.delenv("EMAIL_HOST", raising=False)
    # what settings.py configures for that environment, read from a fresh run of the module
    settings.MAILERS = runpy.run_path(find_spec("demixer.config.settings").origin)["MAILERS"]
    # the address `make run` serves: a link of ~80 characters, as long as they usually are
    client.post(reverse("password_reset"), {"email": alice.email}, HTTP_HOST="127.0.0.1:8000")
    printed = capsys.readouterr().out
    [line] = [line for line in printed.splitlines() if "/accounts/reset/" in line]
    url = line.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/accounts/reset/[\w-]+/[\w-]+/", url), printed
    match = resolve(urlsplit(url).path)
    assert match.url_name == "password_reset_confirm", url
    assert urlsafe_base64_decode(match.kwargs["uidb64"]).decode() == str(alice.pk)
    assert default_token_generator.check_token(alice, match.kwargs["token"]), url
    form_url = client.get(urlsplit(url).path).url  # Django swaps the token for a session marker
    assert 'name="new_password1"' in client.get(form_url).content.decode()


def test_five_failed_logins_lock_the_account_for_a_while(alice, client: Client) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    # even the right password is refused during the cool-off
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins" in page
    assert "Try again in\n    15 minutes," in page  # said, not "PT15M"
    assert "PT15M" not in page
    assert "_auth_user_id" not in client.session


def test_lockout_counts_every_spelling_of_the_account(alice, client: Client) -> None:
    """The log-in accepts any case and the email: changing the case must not buy more tries."""
    spellings = ["alice", "Alice", "ALICE", "aLice", "Alice@Example.com"]
    for login in spellings[: settings.AXES_FAILURE_LIMIT]:
        client.post(reverse("login"), {"username": login, "password": "wrong"})
    for login in spellings:
        response = client.post(reverse("login"), {"username": login, "password": PASSWORD})
        assert response.status_code == 429, login
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username(alice, bob, client: Client) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302


def test_forms_carry_csrf_tokens_and_are_enforced(alice) -> None:
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(reverse("login")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    response = strict.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403


def test_session_cookie_is_httponly_and_samesite(alice, client: Client) -> None:
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


@pytest.mark.parametrize("name", ["login", "password_reset", "signup"])
def test_account_pages_carry_the_product_name_not_the_host(client: Client, name: str) -> None:
    """Django's auth views put the request's host in ``site_name``; the brand must not use it."""
    page = client.get(reverse(name)).content.decode()
    assert f"· {settings.SITE_NAME}</title>" in page
    assert "testserver" not in page  # before the fix the header and footer named the host
