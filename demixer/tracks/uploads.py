"""Upload handling: stream to disk, stop a file at the size limit, hash the bytes as they
arrive (so nothing reads the file again to hash it), and read nothing onto a full disk."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import (
    FileUploadHandler,
    SkipFile,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

from demixer.ops import disk

REFUSED_ATTR = "demixer_refused_uploads"
STORAGE_FULL_ATTR = "demixer_storage_full"


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


class SizeLimitedUploadHandler(FileUploadHandler):
    """First in the chain: counts each file's bytes and drops the file at the limit.

    The rest of that file is read off the connection and discarded (nothing more is written to
    disk); the file's name is noted on the request so the form can say why it is missing.
    Passes every chunk on unchanged to the next handler (:class:`HashingUploadHandler`).

    Before the body is read, the disk guard checks there is room for it twice over (the
    temporary file, then the stored original); without it every file is read off the connection
    and dropped, and the request is marked (:func:`storage_full`).
    """

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, UploadedFile]] | None:
        try:
            disk.check_room({"uploads": content_length, "storage": content_length})
        except disk.StorageFull:
            setattr(self.request, STORAGE_FULL_ATTR, True)
        return None  # the parsing goes on (a full disk: each file is dropped in new_file)

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, bytes] | None = None,
    ) -> None:
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        self.received = 0
        self.limit = max_upload_bytes()
        if getattr(self.request, STORAGE_FULL_ATTR, False):
            raise SkipFile()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            refused = getattr(self.request, REFUSED_ATTR, None)
            if refused is None:
                refused = []
                setattr(self.request, REFUSED_ATTR, refused)
            refused.append(self.file_name)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class HashedUploadedFile(TemporaryUploadedFile):
    """An upload on disk that knows its SHA-256 (hex), computed while it streamed in."""

    sha256 = ""


class HashingUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler that also feeds each chunk to a SHA-256 as it is
    written: the upload's hash costs no second read of the file (validating it decodes it,
    storing it moves it)."""

    file: HashedUploadedFile

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, bytes] | None = None,
    ) -> None:
        # the base class's bookkeeping only: the parent's new_file would open a file of its own
        FileUploadHandler.new_file(
            self, field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        self.file = HashedUploadedFile(file_name, content_type, 0, charset, content_type_extra)
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.digest.update(raw_data)
        try:
            return super().receive_data_chunk(raw_data, start)
        except OSError as exc:
            if not disk.is_storage_full(exc):
                raise
            # the disk filled while this file arrived: drop it (closing deletes it), read the
            # rest of the request off the connection, and say why
            setattr(self.request, STORAGE_FULL_ATTR, True)
            self.file.close()
            raise SkipFile() from exc

    def file_complete(self, file_size: int) -> UploadedFile | None:
        self.file.sha256 = self.digest.hexdigest()
        return super().file_complete(file_size)


def streamed_sha256(upload: UploadedFile) -> str:
    """The SHA-256 :class:`HashingUploadHandler` computed while ``upload`` arrived."""
    if not isinstance(upload, HashedUploadedFile) or not upload.sha256:
        raise RuntimeError("uploads must be hashed as they stream in: check FILE_UPLOAD_HANDLERS")
    return upload.sha256


def refused_uploads(request: HttpRequest) -> list[str]:
    """Names of the files dropped for size (read request.FILES first)."""
    return list(getattr(request, REFUSED_ATTR, []))


def storage_full(request: HttpRequest) -> bool:
    """Whether the upload's files were dropped because the disk is full (read request.FILES
    first)."""
    return bool(getattr(request, STORAGE_FULL_ATTR, False))


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def local_path(upload: UploadedFile) -> Path:
    """Where the uploaded bytes are on disk (settings make every upload a temporary file)."""
    path = getattr(upload, "temporary_file_path", None)
    if path is None:
        raise RuntimeError("uploads must stream to disk: check FILE_UPLOAD_HANDLERS")
    return Path(path())
