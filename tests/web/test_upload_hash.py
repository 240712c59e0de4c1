"""An upload is hashed while it streams in (``HashingUploadHandler``): the stored hash is
hashlib's SHA-256 of the bytes sent, and nothing reads the file again to hash it, from the
upload page or from the API. The size limit still stops a file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from demixer.api import tokens
from demixer.tracks import uploads
from demixer.tracks.models import Track

pytestmark = pytest.mark.django_db

REAL_SHA256 = hashlib.sha256


class CountingSha256:
    """hashlib's SHA-256, counting every byte any caller hashes (what ``hmac`` needs of a
    digest constructor is passed through, so Django's signing keeps working)."""

    hashed = 0

    def __init__(self, data: bytes = b"", *, _inner=None, **kwargs: object) -> None:
        self._inner = _inner or REAL_SHA256(**kwargs)
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        CountingSha256.hashed += len(memoryview(data).cast("B"))
        self._inner.update(data)

    def copy(self) -> CountingSha256:
        return CountingSha256(_inner=self._inner.copy())

    def __getattr__(self, name: str) -> object:  # digest, hexdigest, block_size, digest_size
        return getattr(self._inner, name)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[CountingSha256]:
    """Counts bytes hashed anywhere in the process; a second hashing pass over the file by
    path (the old ``sha256_of``) fails outright."""
    CountingSha256.hashed = 0
    monkeypatch.setattr(hashlib, "sha256", CountingSha256)

    def read_again(path: object) -> str:
        raise AssertionError(f"the upload was read again to hash it: {path}")

    monkeypatch.setattr(uploads, "sha256_of", read_again)
    return CountingSha256


def assert_hashed_once(spy: type[CountingSha256], data: bytes) -> None:
    # the file once, plus the few bytes sessions and tokens hash: never the file twice
    assert len(data) <= spy.hashed < len(data) + 10_000, (spy.hashed, len(data))


def test_the_upload_page_stores_the_streamed_hash(alice, alice_client, clips, spy) -> None:
    data = clips["flac"].read_bytes()
    with clips["flac"].open("rb") as fh:
        response = alice_client.post(reverse("separation-new"), {"files": fh, "mode": "4"})
    assert response.status_code == 302
    assert Track.objects.get(owner=alice).sha256 == REAL_SHA256(data).hexdigest()
    assert_hashed_once(spy, data)


def test_the_api_stores_the_streamed_hash(alice, clips, spy) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create(alice, 'tests')[1]}")
    spy.hashed = 0  # creating the token hashed it
    data = clips["mp3"].read_bytes()
    with clips["mp3"].open("rb") as fh:
        response = client.post("/api/v1/tracks/", {"file": fh, "mode": "4"})
    assert response.status_code == 201, response.content
    assert Track.objects.get(owner=alice).sha256 == REAL_SHA256(data).hexdigest()
    assert_hashed_once(spy, data)


def test_the_handler_hashes_what_it_writes(tmp_path: Path) -> None:
    """Chunks of any size, as the multipart parser hands them over."""
    data = bytes(range(256)) * 4099
    handler = uploads.HashingUploadHandler()
    handler.new_file("files", "song.wav", "audio/wav", len(data))
    for start in range(0, len(data), 65_537):
        handler.receive_data_chunk(data[start : start + 65_537], start)
    upload = handler.file_complete(len(data))
    assert upload is not None
    try:
        assert uploads.streamed_sha256(upload) == REAL_SHA256(data).hexdigest()
        assert Path(upload.temporary_file_path()).read_bytes() == data
    finally:
        upload.close()


def test_an_upload_that_missed_the_handler_is_a_configuration_error(tmp_path: Path) -> None:
    from django.core.files.uploadedfile import TemporaryUploadedFile

    plain = TemporaryUploadedFile("song.wav", "audio/wav", 0, None)
    try:
        with pytest.raises(RuntimeError, match="FILE_UPLOAD_HANDLERS"):
            uploads.streamed_sha256(plain)
    finally:
        plain.close()


def test_the_size_limit_still_stops_a_file(alice_client, make_clip, settings) -> None:
    settings.MAX_UPLOAD_MB = 1
    big = make_clip(8.0, seed=41)  # 16-bit WAV, about 1.4 MB
    with big.open("rb") as fh:
        page = alice_client.post(reverse("separation-new"), {"files": fh, "mode": "4"})
    assert "larger than the limit of 1 MB" in page.content.decode()
    assert not Track.objects.exists()
