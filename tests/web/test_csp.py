"""Content-Security-Policy: every page is sent with a strict policy, and no template carries
what that policy refuses (inline scripts, style attributes, on* handlers). The browser tests
(tests/e2e/conftest.py) fail on any violation a real page reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "demixer").rglob("templates/**/*.html"))
# a <script> without src= runs inline, unless it is a data block (json_script)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("name", ["landing", "login", "signup", "password_reset"])
def test_pages_carry_a_strict_policy(client: Client, name: str) -> None:
    directives = policy(client.get(reverse(name)))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no nonce is used on these pages: none sent
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_the_admin_gets_nonces_for_its_inline_blocks(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))
    nonce = re.search(r"'nonce-([^']+)'", policy(response)["script-src"]).group(1)
    assert f'nonce="{nonce}"' in response.content.decode()


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_template_has_inline_code(template: Path) -> None:
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to a static file"
    assert not INLINE_STYLE.search(text), "inline style: use a class (or set it from script)"
    assert not HANDLER.search(text), "on* handler: use addEventListener in a static file"
