"""Every output format of the table (``demixer/engine/formats.py``) is offered by the result
page and the API and comes back from the download views as the file it claims to be: its
declared MIME type, its extension, audio that decodes. Stems carry their colour to the player.
The real render worker encodes what is not the master."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from demixer.engine import formats, stems
from tests.web.conftest import body, decode_bytes, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def done(alice, make_done_separation):
    return make_done_separation(alice, title="My Song")


def download(client: Client, url: str):
    """The file at ``url``: at once (the master), or once the real worker has rendered it."""
    response = client.get(url)
    if response.status_code == 202:
        run_worker()
        response = client.get(response.json()["download_url"])
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("name", formats.NAMES)
def test_each_format_comes_back_with_its_declared_type(alice_client, done, tmp_path, name) -> None:
    fmt = formats.get(name)
    response = download(alice_client, reverse("stem-download", args=[done.id, "vocals", name]))
    assert response["Content-Type"] == fmt.mime
    assert response["Content-Disposition"].rstrip('"').endswith(fmt.extension)
    samples, rate = decode_bytes(body(response), tmp_path, fmt.extension)
    assert rate == 44100 and samples.shape[0] == 2 and samples.shape[-1] > 44100


def test_an_unknown_format_is_not_a_url(alice_client, done) -> None:
    assert alice_client.get(f"/separations/{done.id}/stems/vocals.ogg").status_code == 404
    assert alice_client.get(f"/separations/{done.id}/instrumental.ogg").status_code == 404


def test_the_result_page_offers_every_format_and_colours_every_stem(alice_client, done) -> None:
    page = alice_client.get(reverse("separation-detail", args=[done.id])).content.decode()
    for fmt in formats.FORMATS.values():
        url = reverse("stem-download", args=[done.id, "drums", fmt.name])
        assert f'href="{url}"' in page
        assert f'aria-label="Download Drums as {fmt.label}"' in page
        assert re.search(rf'<option value="{fmt.name}"( selected)?>{fmt.label}</option>', page)
    data = json.loads(re.search(r'id="stem-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert {s["name"]: s["colour"] for s in data} == {
        s["name"]: stems.colour(s["name"]) for s in data
    }
    assert [s["label"] for s in data] == [stems.label(s["name"]) for s in data]


def test_the_api_offers_the_table(alice_client, done) -> None:
    schema = alice_client.get("/api/v1/openapi.json").json()
    enums = [
        param["schema"].get("enum")
        for path in schema["paths"].values()
        for operation in path.values()
        for param in operation.get("parameters", [])
        if param["name"] in ("fmt", "format")
    ]
    mix = schema["components"]["schemas"]["MixIn"]["properties"]["format"]["enum"]
    # a stem's and the instrumental's URL, the zip's query, the mix's body
    assert [tuple(enum) for enum in [*enums, mix]] == [formats.NAMES] * 4
