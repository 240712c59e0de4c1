"""Files through the API: FLAC masters at once (Range), conversions, the zip, the
instrumental and mixes as render jobs (202, then the worker, then the file)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client

from demixer.separation.models import Separation, Status
from tests.web.conftest import body, decode_bytes, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def done(alice, make_done_separation) -> Separation:
    return make_done_separation(alice, title="My Song")


def base(job: Separation) -> str:
    return f"/api/v1/separations/{job.id}"


def rendered(client: Client, response) -> bytes:
    assert response.status_code == 202, response.content
    data = response.json()
    assert response["Location"] == data["status_url"]
    assert data["status_url"].startswith("/api/v1/renders/")
    run_worker()
    assert client.get(data["status_url"]).json()["status"] == Status.DONE
    result = client.get(data["download_url"])
    assert result.status_code == 200
    return body(result)


def test_a_flac_master_with_range(alice_api, done, tmp_path) -> None:
    whole = alice_api.get(f"{base(done)}/stems/vocals.flac")
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/flac"
    data = body(whole)
    samples, rate = decode_bytes(data, tmp_path, ".flac")
    assert rate == 44100 and samples.shape[0] == 2
    part = alice_api.get(f"{base(done)}/stems/vocals.flac", HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and body(part) == data[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(data)}"


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_a_conversion_is_a_render_job(alice_api, done, tmp_path, fmt) -> None:
    data = rendered(alice_api, alice_api.get(f"{base(done)}/stems/vocals.{fmt}"))
    assert decode_bytes(data, tmp_path, f".{fmt}")[1] == 44100
    again = alice_api.get(f"{base(done)}/stems/vocals.{fmt}")
    assert again.status_code == 200 and body(again) == data


def test_the_zip_instrumental_and_a_mix(alice_api, done, tmp_path) -> None:
    flac_zip = alice_api.get(f"{base(done)}/stems.zip")
    assert flac_zip.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(body(flac_zip))).namelist()
    assert sorted(names) == sorted(
        f"My Song ({s}).flac" for s in ("drums", "bass", "other", "vocals")
    )
    mp3_zip = rendered(alice_api, alice_api.get(f"{base(done)}/stems.zip?format=mp3"))
    assert len(zipfile.ZipFile(io.BytesIO(mp3_zip)).namelist()) == 4
    instrumental = rendered(alice_api, alice_api.get(f"{base(done)}/instrumental.wav"))
    assert decode_bytes(instrumental, tmp_path, ".wav")[1] == 44100
    mix = alice_api.post(
        f"{base(done)}/mix/",
        {"format": "flac", "gains": {"vocals": 0}},
        content_type="application/json",
    )
    assert decode_bytes(rendered(alice_api, mix), tmp_path, ".flac")[1] == 44100


def test_bad_download_requests(alice, alice_api, done, make_done_separation) -> None:
    assert alice_api.get(f"{base(done)}/stems/vocals.ogg").status_code == 422
    assert alice_api.get(f"{base(done)}/stems/kazoo.flac").status_code == 404
    assert alice_api.get(f"{base(done)}/stems.zip?format=ogg").status_code == 422
    for mix, code in (
        ({"gains": {"kazoo": 1}}, "unknown_stem"),
        ({"gains": {"vocals": 3}}, "invalid_gain"),
        ({"pans": {"vocals": -1.5}}, "invalid_pan"),
        ({"pans": {"kazoo": 0.5}}, "unknown_stem"),
        ({"tempo": 2}, "invalid_tempo"),
    ):
        response = alice_api.post(f"{base(done)}/mix/", mix, content_type="application/json")
        assert (response.status_code, response.json()["code"]) == (400, code)
    queued = make_done_separation(alice, title="Queued")
    Separation.objects.filter(id=queued.id).update(status=Status.QUEUED)
    response = alice_api.get(f"{base(queued)}/stems/vocals.flac")
    assert (response.status_code, response.json()["code"]) == (409, "not_done")


@pytest.mark.parametrize("sent", ["[null, null]", "[]", "3", '"wav"', "null"])
def test_a_mix_body_that_is_not_an_object_is_refused(alice_api, done, sent) -> None:
    response = alice_api.post(f"{base(done)}/mix/", sent, content_type="application/json")
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_request",
        "message": "The body must be a JSON object.",
        "errors": [{"loc": ["body", "body"], "msg": "The body must be a JSON object."}],
    }
    assert not done.renders.exists()
