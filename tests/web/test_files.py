"""Audio files of a finished separation: downloads in each format, Range requests, the zip,
the instrumental and the user's mix. The stems come from one real engine run per session."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import soundfile as sf
from django.test import Client
from django.urls import reverse

from demixer.separation.render import peaks
from tests.web.conftest import body, decode_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def done(alice, make_done_separation):
    return make_done_separation(alice, title="My Song")


def master(media_dir, job, name: str) -> np.ndarray:
    samples, _ = sf.read(media_dir / job.stems.get(name=name).master.name, dtype="float32")
    return samples.T


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[-1], b.shape[-1])
    a, b = a[..., :n].ravel(), b[..., :n].ravel()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def test_result_page_context_follows_the_player_contract(alice_client: Client, done) -> None:
    response = alice_client.get(reverse("separation-detail", args=[done.id]))
    assert response.status_code == 200
    assert response.templates[0].name == "player/result.html"
    ctx = response.context
    assert ctx["separation"] == done and ctx["track"] == done.track
    assert [s["name"] for s in ctx["stems"]] == ["drums", "bass", "other", "vocals"]
    first = ctx["stems"][0]
    assert first["label"] == "Drums"
    assert first["preview_url"] == reverse("stem-preview", args=[done.id, "drums"])
    assert set(first["downloads"]) == {"wav", "flac", "mp3"}
    assert len(first["peaks"]) == 800
    assert ctx["zip_url"] == reverse("separation-zip", args=[done.id])
    assert ctx["instrumental_url"] == reverse("separation-instrumental", args=[done.id, "wav"])
    assert ctx["mix_url"] == reverse("separation-mix", args=[done.id])
    assert "personal and research use" in ctx["licence_note"]


@pytest.mark.parametrize(("fmt", "subtype"), [("wav", "PCM_24"), ("flac", "PCM_24"), ("mp3", None)])
def test_each_stem_downloads_in_each_format(alice_client, done, media_dir, tmp_path, fmt, subtype):
    url = reverse("stem-download", args=[done.id, "vocals", fmt])
    response = alice_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert f"My_Song_-_Vocals.{fmt}" in response["Content-Disposition"]
    data = body(response)
    samples, rate = decode_bytes(data, tmp_path, f".{fmt}")
    assert rate == 44100
    reference = master(media_dir, done, "vocals")
    # lossless formats carry the master exactly (24-bit); MP3 only approximately
    assert correlation(samples, reference) > (0.999 if subtype else 0.85)
    if subtype:
        assert sf.info(io.BytesIO(data)).subtype == subtype
    # converted once, then served from the cache
    if fmt != "flac":
        assert (media_dir / done.storage_dir() / "cache" / f"vocals.{fmt}").exists()
        assert body(alice_client.get(url)) == data


def test_unknown_stem_or_format_is_404(alice_client, done) -> None:
    assert (
        alice_client.get(reverse("stem-download", args=[done.id, "kazoo", "wav"])).status_code
        == 404
    )
    assert (
        alice_client.get(reverse("stem-download", args=[done.id, "vocals", "ogg"])).status_code
        == 404
    )


def test_preview_is_mp3_inline_with_range_support(alice_client, done) -> None:
    response = alice_client.get(reverse("stem-preview", args=[done.id, "bass"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"].startswith("inline")


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1499", 1000, 1499),
        ("bytes=-300", None, None),
        ("bytes=5000-", 5000, None),
    ],
)
def test_range_requests_get_206_with_the_right_bytes(
    alice_client, done, media_dir, header, first, last
):
    whole = (media_dir / done.stems.get(name="drums").preview.name).read_bytes()
    size = len(whole)
    if first is None:  # suffix range: the last 300 bytes
        first, last = size - 300, size - 1
    last = size - 1 if last is None else last
    url = reverse("stem-preview", args=[done.id, "drums"])
    response = alice_client.get(url, headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{size}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == whole[first : last + 1]


def test_unsatisfiable_range_is_416(alice_client, done, media_dir) -> None:
    size = (media_dir / done.stems.get(name="drums").preview.name).stat().st_size
    url = reverse("stem-preview", args=[done.id, "drums"])
    response = alice_client.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


def test_an_invalid_range_is_ignored(alice_client, done, media_dir) -> None:
    """``bytes=20-10`` is not a range (RFC 9110 14.1.1): the whole file, as if none was sent."""
    whole = (media_dir / done.stems.get(name="drums").preview.name).read_bytes()
    url = reverse("stem-preview", args=[done.id, "drums"])
    response = alice_client.get(url, headers={"Range": "bytes=20-10"})
    assert response.status_code == 200
    assert body(response) == whole


def test_downloads_also_honour_range(alice_client, done, media_dir) -> None:
    whole = (media_dir / done.stems.get(name="other").master.name).read_bytes()
    url = reverse("stem-download", args=[done.id, "other", "flac"])
    response = alice_client.get(url, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert body(response) == whole[10:20]


@pytest.mark.parametrize("fmt", ["flac", "wav", "mp3"])
def test_zip_holds_every_stem_decodable(alice_client, done, tmp_path, fmt) -> None:
    url = reverse("separation-zip", args=[done.id]) + ("" if fmt == "flac" else f"?format={fmt}")
    response = alice_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    names = sorted(archive.namelist())
    assert names == sorted(f"My_Song_-_{s}.{fmt}" for s in ("Drums", "Bass", "Other", "Vocals"))
    for name in names:
        samples, rate = decode_bytes(archive.read(name), tmp_path, f".{fmt}")
        assert rate == 44100 and samples.shape[0] == 2
        assert samples.shape[-1] == pytest.approx(6.0 * 44100, abs=0.06 * 44100)


def test_instrumental_is_everything_but_the_vocals(alice_client, done, media_dir, tmp_path):
    response = alice_client.get(reverse("separation-instrumental", args=[done.id, "wav"]))
    assert response.status_code == 200
    samples, _ = decode_bytes(body(response), tmp_path, ".wav")
    expected = sum(master(media_dir, done, n) for n in ("drums", "bass", "other"))
    assert correlation(samples, expected) > 0.999
    assert correlation(samples, master(media_dir, done, "vocals")) < 0.5


def mix(client: Client, job, fmt: str = "wav", **gains: float):
    data = {f"gain_{name}": str(value) for name, value in gains.items()}
    data["format"] = fmt
    return client.post(reverse("separation-mix", args=[job.id]), data)


def test_mix_honours_the_gains(alice_client, done, media_dir, tmp_path) -> None:
    stems = {n: master(media_dir, done, n) for n in ("drums", "bass", "other", "vocals")}
    response = mix(alice_client, done, drums=0, bass=0, other=0, vocals=1)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    only_vocals, _ = decode_bytes(body(response), tmp_path, ".wav")
    np.testing.assert_allclose(only_vocals, stems["vocals"], atol=1e-4)

    response = mix(alice_client, done, drums=0.5, bass=2, other=0, vocals=0)
    mixed, _ = decode_bytes(body(response), tmp_path, ".wav")
    expected = 0.5 * stems["drums"] + 2 * stems["bass"]
    peak = float(np.abs(expected).max())
    expected = expected / max(1.01 * peak, 1.0)  # rescaled only if it would clip
    np.testing.assert_allclose(mixed, expected, atol=1e-4)


def test_mix_in_mp3_and_flac(alice_client, done, tmp_path) -> None:
    for fmt in ("mp3", "flac"):
        response = mix(alice_client, done, fmt, drums=1, bass=1, other=1, vocals=0)
        samples, rate = decode_bytes(body(response), tmp_path, f".{fmt}")
        assert rate == 44100 and samples.shape[0] == 2


def test_mix_refuses_bad_input(alice_client, done) -> None:
    assert mix(alice_client, done, "ogg", vocals=1).status_code == 400
    assert mix(alice_client, done, vocals=3).status_code == 400
    assert mix(alice_client, done, vocals="loud").status_code == 400
    assert mix(alice_client, done, vocals="nan").status_code == 400
    assert alice_client.get(reverse("separation-mix", args=[done.id])).status_code == 405


def test_files_of_an_unfinished_job_are_404(alice, alice_client, make_done_separation) -> None:
    job = make_done_separation(alice)
    job.status = "running"
    job.save()
    assert alice_client.get(reverse("separation-zip", args=[job.id])).status_code == 404
    assert alice_client.get(reverse("stem-preview", args=[job.id, "drums"])).status_code == 404
    page = alice_client.get(reverse("separation-detail", args=[job.id]))
    assert page.templates[0].name == "separation/job.html"


def test_peaks_follow_the_audio() -> None:
    quiet = np.zeros((2, 44100), dtype=np.float32)
    loud = np.zeros((2, 44100), dtype=np.float32)
    loud[:, 22050:] = 0.5
    out = peaks({"a": quiet, "b": loud}, points=10)
    assert out["a"] == [0.0] * 10
    assert out["b"][:5] == [0.0] * 5 and out["b"][5:] == [1.0] * 5


def test_stored_files_appear_whole_under_their_name(media_dir, tmp_path, monkeypatch) -> None:
    """A derived file is written beside its name and renamed into place: a request arriving
    while it is being built finds no file (and builds its own) rather than half of one."""
    from demixer.separation import files

    source = tmp_path / "built.wav"
    source.write_bytes(b"RIFF" + b"\1" * 300_000)
    seen_during_copy: list[bool] = []
    real_copy = files.shutil.copyfileobj

    def copy_and_look(src, dst, length=0):
        real_copy(src, dst, length)
        seen_during_copy.append((media_dir / "cache" / "built.wav").exists())

    monkeypatch.setattr(files.shutil, "copyfileobj", copy_and_look)
    assert files.save("cache/built.wav", source) == "cache/built.wav"
    assert seen_during_copy == [False]  # the final name did not exist while bytes were copied
    assert (media_dir / "cache" / "built.wav").read_bytes() == source.read_bytes()
    assert [p.name for p in (media_dir / "cache").iterdir()] == ["built.wav"]  # no leftovers
    source.write_bytes(b"RIFF" + b"\2" * 10)
    files.save("cache/built.wav", source)  # replacing works too
    assert (media_dir / "cache" / "built.wav").read_bytes() == source.read_bytes()
