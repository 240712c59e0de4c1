"""Downloads at a chosen sample rate and bit depth: the options reach the render's
params, its cache name and the file the real render worker writes (read back here: rate,
subtype, samples); the defaults find the files made without options; values the server does
not offer are refused with one sentence, before anything is queued; another user's job stays a
404; a zip in a chosen format holds files of that format. The same options through the API."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest
import soundfile as sf
from django.test import Client
from django.urls import reverse

from demixer.api import tokens
from demixer.engine import audio, formats
from demixer.separation import masters
from demixer.separation.models import Render, Status
from tests.web.conftest import body, decode_bytes, run_worker
from tests.web.test_files import master

pytestmark = pytest.mark.django_db(transaction=True)

STEMS = ("drums", "bass", "other", "vocals")
SECONDS = 6.0  # make_done_separation's stems


@pytest.fixture
def done(alice, make_done_separation):
    return make_done_separation(alice, title="My Song")


def rendered(client: Client, response) -> bytes:
    """202 and where to look; the real worker renders; then the file."""
    assert response.status_code == 202, (response.status_code, response.content[:200])
    data = response.json()
    run_worker()
    status = client.get(data["status_url"]).json()
    assert status["status"] == Status.DONE, status
    result = client.get(data["download_url"])
    assert result.status_code == 200
    return body(result)


def stem_url(job, name: str, fmt: str, query: str = "") -> str:
    return reverse("stem-download", args=[job.id, name, fmt]) + (f"?{query}" if query else "")


def refusal(response) -> str:
    """A 400 with one plain sentence (never a page, never a traceback)."""
    assert response.status_code == 400, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "\n" not in text.strip() and text.endswith(".") and "Traceback" not in text
    return text


@pytest.mark.parametrize(
    ("fmt", "rate", "bit_depth", "subtype"),
    [
        ("wav", 48000, 16, "PCM_16"),
        ("wav", 96000, 32, "FLOAT"),
        ("flac", 48000, 16, "PCM_16"),  # a FLAC other than the master: rendered
        ("wav", None, 16, "PCM_16"),
        ("flac", 88200, None, "PCM_24"),
    ],
)
def test_rate_and_bit_depth_reach_the_render_and_the_file(
    alice_client, done, media_dir, tmp_path, fmt, rate, bit_depth, subtype
) -> None:
    query = "&".join(
        f"{key}={value}" for key, value in (("rate", rate), ("bit_depth", bit_depth)) if value
    )
    data = rendered(alice_client, alice_client.get(stem_url(done, "vocals", fmt, query)))
    item = Render.objects.get()
    chosen = {key: value for key, value in (("rate", rate), ("bit_depth", bit_depth)) if value}
    assert item.params == {"stem": "vocals", **chosen}
    info = sf.info(io.BytesIO(data))
    assert info.samplerate == (rate or 44100) and info.subtype == subtype
    assert info.frames == pytest.approx(SECONDS * info.samplerate, abs=0.01 * info.samplerate)
    # the master's samples, resampled as the engine resamples (soxr VHQ)
    samples, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    expected = audio.resample(master(media_dir, done, "vocals"), 44100, info.samplerate)
    n = min(samples.shape[0], expected.shape[-1])
    tolerance = 2.0 / 2**15 if subtype == "PCM_16" else 1e-4
    assert np.abs(samples[:n].T - expected[:, :n]).max() < tolerance
    # named as every download is; cached under a name of its own
    again = alice_client.get(stem_url(done, "vocals", fmt, query))
    assert again.status_code == 200 and body(again) == data
    assert f"My Song (vocals).{fmt}" in again["Content-Disposition"]
    cached = [p.name for p in (media_dir / done.storage_dir() / "cache").iterdir()]
    suffix = "".join(f"-{v}{u}" for v, u in ((rate, "hz"), (bit_depth, "bit")) if v)
    assert cached == [f"vocals{suffix}.{fmt}"]


def test_different_settings_are_different_files_and_the_defaults_the_same(
    alice_client, done, media_dir
) -> None:
    plain = rendered(alice_client, alice_client.get(stem_url(done, "bass", "wav")))
    sixteen = rendered(
        alice_client, alice_client.get(stem_url(done, "bass", "wav", "bit_depth=16"))
    )
    assert sf.info(io.BytesIO(plain)).subtype == "PCM_24"
    assert sf.info(io.BytesIO(sixteen)).subtype == "PCM_16"
    # the defaults asked for by name find the file made without asking: no new render
    explicit = alice_client.get(stem_url(done, "bass", "wav", "rate=44100&bit_depth=24"))
    assert explicit.status_code == 200 and body(explicit) == plain
    assert Render.objects.count() == 2
    assert Render.objects.filter(attempts=1).count() == 2  # each rendered once
    # and the master itself, as stored, when FLAC is asked for at its own rate and depth
    flac = alice_client.get(stem_url(done, "bass", "flac", "rate=44100&bit_depth=24"))
    assert flac.status_code == 200 and Render.objects.count() == 2
    assert body(flac) == (media_dir / done.stems.get(name="bass").master.name).read_bytes()
    cached = sorted(p.name for p in (media_dir / done.storage_dir() / "cache").iterdir())
    assert cached == ["bass-16bit.wav", "bass.wav"]


@pytest.mark.parametrize(
    ("fmt", "query", "said"),
    [
        ("wav", "rate=12345", "rate must be 44100, 48000, 88200 or 96000 (Hz) for wav."),
        ("mp3", "rate=96000", "rate must be 44100 or 48000 (Hz) for mp3."),  # MPEG audio's top
        ("wav", "rate=48k", "rate must be a whole number."),
        ("wav", "rate=-48000", "rate must be a whole number."),
        ("wav", "bit_depth=20", "bit_depth must be 16, 24 or 32 for wav."),
        ("flac", "bit_depth=32", "bit_depth must be 16 or 24 for flac."),
        ("mp3", "bit_depth=16", "mp3 has no bit depth (it is lossy): leave bit_depth out."),
        ("mp3", "rate=%3Cscript%3E", "rate must be a whole number."),
    ],
)
def test_values_not_offered_are_refused_in_one_sentence(
    alice_client, done, fmt, query, said
) -> None:
    urls = [
        stem_url(done, "drums", fmt, query),
        reverse("separation-instrumental", args=[done.id, fmt]) + f"?{query}",
        reverse("separation-zip", args=[done.id]) + f"?format={fmt}&{query}",
    ]
    for url in urls:
        assert refusal(alice_client.get(url)) == said, url
    form = {"format": fmt, **dict(part.split("=") for part in query.split("&"))}
    form = {key: value.replace("%3C", "<").replace("%3E", ">") for key, value in form.items()}
    assert refusal(alice_client.post(reverse("separation-mix", args=[done.id]), form)) == said
    assert Render.objects.count() == 0


def test_an_unknown_format_with_options_is_still_not_a_url(alice_client, done) -> None:
    stem = f"/separations/{done.id}/stems/drums.ogg?rate=48000"
    assert alice_client.get(stem).status_code == 404
    zip_url = reverse("separation-zip", args=[done.id])
    assert alice_client.get(f"{zip_url}?format=ogg&rate=48000").status_code == 404


def test_another_users_job_is_404_whatever_the_options(alice_client, bob_client, done) -> None:
    query = "rate=48000&bit_depth=16"
    urls = [
        stem_url(done, "drums", "wav", query),
        stem_url(done, "drums", "flac", query),
        reverse("separation-instrumental", args=[done.id, "wav"]) + f"?{query}",
        reverse("separation-zip", args=[done.id]) + f"?format=wav&{query}",
    ]
    for url in urls:
        assert bob_client.get(url).status_code == 404, url
    mix = reverse("separation-mix", args=[done.id])
    assert bob_client.post(mix, {"format": "wav", "rate": "48000"}).status_code == 404
    assert Render.objects.count() == 0
    # alice's render of those options is hers alone
    asked = alice_client.get(urls[0])
    assert asked.status_code == 202
    assert bob_client.get(asked.json()["status_url"]).status_code == 404
    assert bob_client.get(asked.json()["download_url"]).status_code == 404


@pytest.mark.parametrize(
    ("fmt", "query", "rate", "subtype"),
    [
        ("wav", "rate=48000&bit_depth=16", 48000, "PCM_16"),
        ("flac", "bit_depth=16", 44100, "PCM_16"),  # not the 24-bit masters
        ("mp3", "rate=48000", 48000, None),
    ],
)
def test_a_zip_in_a_chosen_format_holds_files_of_that_format(
    alice_client, done, media_dir, tmp_path, fmt, query, rate, subtype
) -> None:
    url = reverse("separation-zip", args=[done.id]) + f"?format={fmt}&{query}"
    archive = zipfile.ZipFile(io.BytesIO(rendered(alice_client, alice_client.get(url))))
    assert sorted(archive.namelist()) == sorted(f"My Song ({s}).{fmt}" for s in STEMS)
    for name in archive.namelist():
        data = archive.read(name)
        if subtype:
            info = sf.info(io.BytesIO(data))
            assert (info.format, info.samplerate, info.subtype) == (fmt.upper(), rate, subtype)
        else:
            samples, decoded_rate = decode_bytes(data, tmp_path, f".{fmt}")
            assert decoded_rate == rate and samples.shape[0] == 2
            assert data[:3] == b"ID3" or data[0] == 0xFF  # an MPEG stream, not a WAV or FLAC
    # the members are the stems' own downloads with the same options: ready at once now
    single = alice_client.get(stem_url(done, "bass", fmt, query))
    assert single.status_code == 200
    assert body(single) == archive.read(f"My Song (bass).{fmt}")
    assert Render.objects.count() == 2
    assert Render.objects.filter(attempts=1).count() == 1  # each rendered once


def test_the_instrumental_and_the_mix_take_the_options(alice_client, done, media_dir) -> None:
    url = reverse("separation-instrumental", args=[done.id, "flac"]) + "?rate=48000&bit_depth=16"
    info = sf.info(io.BytesIO(rendered(alice_client, alice_client.get(url))))
    assert (info.format, info.samplerate, info.subtype) == ("FLAC", 48000, "PCM_16")

    form = {"format": "wav", "rate": "96000", "bit_depth": "32", "gain_drums": "0"}
    mix = alice_client.post(reverse("separation-mix", args=[done.id]), form)
    info = sf.info(io.BytesIO(rendered(alice_client, mix)))
    assert (info.samplerate, info.subtype) == (96000, "FLOAT")
    assert Render.objects.get(kind="mix").params == {
        "gains": {"drums": 0.0, "bass": 1.0, "other": 1.0, "vocals": 1.0},
        "rate": 96000,
        "bit_depth": 32,
    }
    # the page's form posts empty choices as the defaults: the plain mix's file
    plain = {"format": "wav", "rate": "", "bit_depth": "", "gain_drums": "0"}
    again = alice_client.post(reverse("separation-mix", args=[done.id]), plain)
    assert again.status_code == 202
    assert Render.objects.filter(kind="mix").count() == 2
    assert Render.objects.filter(kind="mix", params__has_key="rate").count() == 1


def test_the_tracks_own_rate_is_offered_when_it_is_not_a_session_rate(alice_client, done) -> None:
    assert refusal(alice_client.get(stem_url(done, "drums", "wav", "rate=32000"))).startswith(
        "rate must be"
    )
    done.track.sample_rate = 32000
    done.track.save()
    data = rendered(alice_client, alice_client.get(stem_url(done, "drums", "wav", "rate=32000")))
    assert sf.info(io.BytesIO(data)).samplerate == 32000
    page = alice_client.get(reverse("separation-detail", args=[done.id]))
    rates = [rate["value"] for rate in page.context["download_rates"]]
    assert rates == [44100, 48000, 88200, 96000, 32000]
    html = page.content.decode()
    assert "44.1 kHz (as separated)" in html and "32 kHz (the original&#x27;s)" in html


def test_the_result_page_offers_the_settings_from_the_format_table(alice_client, done) -> None:
    page = alice_client.get(reverse("separation-detail", args=[done.id]))
    html = page.content.decode()
    settings = re.search(r'<fieldset class="[^"]*download-settings.*?</fieldset>', html, re.S)
    assert settings is not None and "<legend>Download settings</legend>" in settings.group(0)
    for label, name in (("Format", "format"), ("Sample rate", "rate"), ("Bit depth", "bit_depth")):
        assert re.search(rf"<label[^>]*><span>{label}</span>\s*<select[^>]*name=\"{name}\"", html)
    depths = [d["value"] for d in page.context["download_bit_depths"]]
    assert depths == list(formats.BIT_DEPTHS)
    assert page.context["download_rates"][0]["value"] == masters.STORED_RATE
    data = json.loads(re.search(r'id="download-options"[^>]*>(.*?)</script>', html, re.S)[1])
    assert data["bit_depths"] == {f.name: list(f.bit_depths) for f in formats.FORMATS.values()}
    assert data["rates"] == {
        "wav": [44100, 48000, 88200, 96000],
        "flac": [44100, 48000, 88200, 96000],
        "mp3": [44100, 48000],
    }
    assert data["instrumental"] == {
        f: reverse("separation-instrumental", args=[done.id, f]) for f in formats.NAMES
    }
    # the settings live in the mix's form, which posts them
    form = re.search(r'<form[^>]*id="mix-form".*?</form>', html, re.S)
    assert form is not None and 'name="bit_depth"' in form.group(0)


# -- the API ----------------------------------------------------------------------------------


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create(user, 'tests')[1]}")


def test_the_api_takes_the_same_options(alice, done) -> None:
    client = api(alice)
    base = f"/api/v1/separations/{done.id}"
    response = client.get(f"{base}/stems/vocals.flac?rate=48000&bit_depth=16")
    info = sf.info(io.BytesIO(rendered(client, response)))
    assert (info.samplerate, info.subtype) == (48000, "PCM_16")
    assert Render.objects.get().params == {"stem": "vocals", "rate": 48000, "bit_depth": 16}
    zipped = client.get(f"{base}/stems.zip?format=wav&bit_depth=32")
    archive = zipfile.ZipFile(io.BytesIO(rendered(client, zipped)))
    assert {sf.info(io.BytesIO(archive.read(n))).subtype for n in archive.namelist()} == {"FLOAT"}
    mix = client.post(
        f"{base}/mix/",
        {"format": "flac", "rate": 88200, "gains": {"vocals": 0}},
        content_type="application/json",
    )
    assert sf.info(io.BytesIO(rendered(client, mix))).samplerate == 88200


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("stems/vocals.wav?rate=12345", "invalid_option"),
        ("stems/vocals.mp3?bit_depth=24", "invalid_option"),
        ("instrumental.flac?bit_depth=32", "invalid_option"),
        ("stems.zip?format=wav&rate=abc", "invalid_request"),  # not a number: the schema's
    ],
)
def test_the_api_refuses_what_is_not_offered(alice, bob, done, path, code) -> None:
    response = api(alice).get(f"/api/v1/separations/{done.id}/{path}")
    assert response.status_code in (400, 422) and response.json()["code"] == code
    assert response.json()["message"]
    assert api(bob).get(f"/api/v1/separations/{done.id}/{path}").status_code in (404, 422)
    assert Render.objects.count() == 0


def test_the_openapi_document_states_the_options(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("stems/{name}.{fmt}", "stems.zip", "instrumental.{fmt}"):
        operation = schema["paths"][f"/api/v1/separations/{{separation_id}}/{path}"]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert "48000" in params["rate"]["description"], path
        assert "bit_depth" in params
    mix = schema["components"]["schemas"]["MixIn"]["properties"]
    assert {"rate", "bit_depth"} <= set(mix)
