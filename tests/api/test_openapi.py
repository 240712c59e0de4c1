"""The OpenAPI document is public; the docs page runs under the site's CSP from our own files."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_schema_is_readable_without_login(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/tracks/" in schema["paths"]
    assert "/api/v1/separations/{separation_id}/stems/{name}.{fmt}" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"} in schemes.values()


def test_the_published_pieces_are_documented_by_their_name_and_their_old_one(
    client: Client,
) -> None:
    """``ready.pieces`` is the documented list; ``ready.stretches`` (its name before) is still
    in the schema, marked deprecated, so clients generated from it keep working."""
    schema = client.get("/api/v1/openapi.json").json()
    ready = schema["components"]["schemas"]["ReadyOut"]
    assert "pieces" in ready["required"]
    assert ready["properties"]["stretches"]["deprecated"] is True
    assert "deprecated" not in ready["properties"]["pieces"]
    assert ready["properties"]["pieces"]["items"] == {"$ref": "#/components/schemas/PieceOut"}


def test_the_docs_page_loads_only_our_own_scripts_and_styles(client: Client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = response.content.decode()
    sources = re.findall(r'<script[^>]*src="([^"]+)"', page) + re.findall(
        r'<link[^>]*href="([^"]+)"', page
    )
    assert sources and all(src.startswith("/static/") for src in sources)
    # no inline script that would run: only the JSON settings block
    inline = re.findall(r"<script(?![^>]*src=)([^>]*)>", page)
    assert all('type="application/json"' in attrs for attrs in inline)
    for src in sources:
        assert client.get(src).status_code == 200
