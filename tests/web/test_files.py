"""Audio files of a finished separation: downloads in each format, Range requests, the zip,
the instrumental and the user's mix. The stems come from one run of the stand-in session per
test session (its stems differ from each other and add up to the mix, as real ones do)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import soundfile as sf
from django.test import Client
from django.urls import reverse

from demixer.separation.masters import peaks
from tests.web.conftest import body, media_files

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


def test_the_flac_download_is_the_master(alice_client, done, media_dir) -> None:
    """FLAC is the stored master itself, served at once (WAV and MP3 are rendered by the
    worker: tests/web/test_downloads.py)."""
    response = alice_client.get(reverse("stem-download", args=[done.id, "vocals", "flac"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "My Song (vocals).flac" in response["Content-Disposition"]
    assert body(response) == (media_dir / done.stems.get(name="vocals").master.name).read_bytes()


def test_unknown_stem_or_format_is_404(alice_client, done) -> None:
    assert (
        alice_client.get(reverse("stem-download", args=[done.id, "kazoo", "wav"])).status_code
        == 404
    )
    assert alice_client.get(f"/separations/{done.id}/stems/vocals.ogg").status_code == 404


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


@pytest.mark.parametrize("which", ["preview", "master"])
def test_stem_files_answer_304_when_the_browser_copy_is_current(alice_client, done, which):
    url = (
        reverse("stem-preview", args=[done.id, "bass"])
        if which == "preview"
        else reverse("stem-download", args=[done.id, "bass", "flac"])
    )
    first = alice_client.get(url)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    whole = body(first)

    again = alice_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Last-Modified"] == modified
    assert alice_client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    # a different tag, or an older date, gets the file
    other = alice_client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and body(other) == whole
    older = alice_client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert older.status_code == 200


def test_the_etag_changes_when_the_file_does(alice_client, done, media_dir) -> None:
    url = reverse("stem-preview", args=[done.id, "vocals"])
    etag = alice_client.get(url)["ETag"]
    path = media_dir / done.stems.get(name="vocals").preview.name
    path.write_bytes(path.read_bytes() + b"\0")
    changed = alice_client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_range_with_if_range(alice_client, done, media_dir) -> None:
    """``If-Range``: the part if the file is still the one the client has, else all of it."""
    whole = (media_dir / done.stems.get(name="drums").preview.name).read_bytes()
    url = reverse("stem-preview", args=[done.id, "drums"])
    first = alice_client.get(url)
    for validator in (first["ETag"], first["Last-Modified"]):
        part = alice_client.get(url, headers={"Range": "bytes=0-9", "If-Range": validator})
        assert part.status_code == 206 and body(part) == whole[:10]
        assert part["ETag"] == first["ETag"]
    stale = alice_client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old-version"'})
    assert stale.status_code == 200 and body(stale) == whole


def test_the_flac_zip_is_streamed_from_storage(alice_client, done, media_dir, monkeypatch):
    """The zip of the masters is written as it is sent: no temporary file, nothing stored,
    every member a stem's master byte for byte, its length known up front."""
    import tempfile

    def no_temporary_files(*args, **kwargs):
        raise AssertionError("the zip must not go through a temporary file")

    for name in ("TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temporary_files)
    before = media_files(media_dir)
    response = alice_client.get(reverse("separation-zip", args=[done.id]))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="My Song (stems).zip"'
    data = body(response)
    assert int(response["Content-Length"]) == len(data)
    assert media_files(media_dir) == before  # no cached copy either
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    infos = {info.filename: info for info in archive.infolist()}
    assert len(infos) == 4
    for stem in done.stems.all():
        member = f"My Song ({stem.label.lower()}).flac"
        assert infos[member].compress_type == zipfile.ZIP_STORED
        assert archive.read(member) == (media_dir / stem.master.name).read_bytes()


def mix(client: Client, job, fmt: str = "wav", **gains: float):
    data = {f"gain_{name}": str(value) for name, value in gains.items()}
    data["format"] = fmt
    return client.post(reverse("separation-mix", args=[job.id]), data)


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
