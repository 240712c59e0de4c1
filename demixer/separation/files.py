"""Files on storage: local copies for the engine, saving, deleting, and serving them (Range,
conditional GET, a streamed zip)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal
from zipfile import ZIP_STORED

from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date
from pathvalidate import sanitize_filename
from zipstream import ZipStream

from demixer.engine import formats

CHUNK = 64 * 1024
CONTENT_TYPES = {**formats.mime_types(), ".zip": formats.ZIP_MIME}
OCTET_STREAM = "application/octet-stream"


MAX_NAME_BYTES = 200  # file systems allow 255 bytes; room for a browser's " (1)"


def download_filename(name: str, part: str, ext: str) -> str:
    """``name (part).ext`` as a browser can save it on any system: what no common file system
    takes (path separators, controls, Windows' reserved characters and names) becomes a space,
    spaces and dots at the ends go (no hidden or unnamed file), and a long ``name`` is cut so
    the whole stays within MAX_NAME_BYTES of UTF-8. Spaces, dashes and non-ASCII letters stay
    (``content_disposition_header`` quotes them), unlike ``get_valid_filename``'s underscores."""
    tail = f" ({_clean(part)}).{ext}" if _clean(part) else f".{ext}"
    room = MAX_NAME_BYTES - len(tail.encode())
    head = _clean(name).encode()[:room].decode(errors="ignore").strip(" .")
    return f"{head or 'download'}{tail}"


def _clean(text: str) -> str:
    safe = sanitize_filename(
        unicodedata.normalize("NFC", text), replacement_text=" ", platform="universal"
    )
    return " ".join(safe.split()).strip(" .")


def name_of(field: FieldFile) -> str:
    """The storage name of a file field that must hold a file (a track's original, a stem's
    master or preview): a row without one is broken, not a file to serve as ""."""
    if not field.name:
        raise ValueError(f"{field.instance!r} has no {field.field.name} file")
    return field.name


@contextmanager
def local_copy(name: str, storage: Storage = default_storage) -> Iterator[Path]:
    """A filesystem path with the stored file's bytes (the file itself when storage is local)."""
    try:
        yield Path(storage.path(name))
        return
    except NotImplementedError:
        pass
    suffix = Path(name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with storage.open(name, "rb") as src:
            shutil.copyfileobj(src, tmp)
        tmp.flush()
        yield Path(tmp.name)


def save(name: str, path: Path, storage: Storage = default_storage) -> str:
    """Store ``path`` under exactly ``name`` (replacing what was there); returns the name.

    On local storage the file is written beside its final name and renamed into place, so a
    concurrent request (a double click on a download being built) never sees half a file.
    Object stores make an upload visible only once it is complete.
    """
    try:
        target = Path(storage.path(name))
    except NotImplementedError:
        if storage.exists(name):
            storage.delete(name)
        with path.open("rb") as fh:
            return storage.save(name, File(fh, name=Path(name).name))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", delete=False
    ) as tmp:
        partial = Path(tmp.name)
    try:  # a write that fails (a full disk) leaves no partial file behind
        with path.open("rb") as fh, partial.open("wb") as out:
            shutil.copyfileobj(fh, out, CHUNK * 16)
        partial.chmod(0o644)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return name


def delete_tree(prefix: str, storage: Storage = default_storage) -> None:
    """Delete every file under ``prefix`` (the storage API has no recursive delete)."""
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        storage.delete(f"{prefix}/{name}")
    for sub in dirs:
        delete_tree(f"{prefix}/{sub}", storage)
    # local storage leaves empty directories behind; tidy them when we can
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(storage.path(prefix))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | Literal[False] | None:
    """``(first, last)`` inclusive for one satisfiable range; None to send the whole file
    (no header, or one we do not handle such as several ranges); False when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # a suffix: the last N bytes
        length = int(last_text)
        if length == 0:
            return False
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size:
        return False
    if last < first:
        return None  # an invalid range (bytes=20-10): RFC 9110 says to ignore the header
    return first, min(last, size - 1)


def serve(
    request: HttpRequest,
    name: str,
    filename: str,
    *,
    attachment: bool,
    content_type: str | None = None,
    storage: Storage = default_storage,
) -> HttpResponseBase:
    """Serve a stored file: 304 when the browser's copy is current (ETag / Last-Modified), a
    single ``Range: bytes=...`` (206) for seeking, honoured only if ``If-Range`` still matches.

    Its type is ``content_type``, else the one of our own formats its name ends with, else
    ``application/octet-stream``: never one guessed from a name a user chose (an upload named
    ``x.html`` must not come back as HTML), and browsers are told not to sniff another."""
    size = storage.size(name)
    modified = storage.get_modified_time(name)
    validators = HttpResponse()
    # size + modification time: cheap (one stat), and new whenever the file is replaced
    validators["ETag"] = f'"{size:x}-{int(modified.timestamp() * 1e6):x}"'
    validators["Last-Modified"] = http_date(modified.timestamp())
    validators["Cache-Control"] = "private, max-age=3600"
    conditional = get_conditional_response(
        request,
        etag=validators["ETag"],
        last_modified=int(modified.timestamp()),
        response=validators,
    )
    if conditional is not None and conditional is not validators:
        return conditional  # 304 Not Modified, or 412 for a failed If-Match
    content_type = content_type or CONTENT_TYPES.get(Path(name).suffix.lower(), OCTET_STREAM)
    if_range = request.headers.get("If-Range")
    if if_range is None or if_range in (validators["ETag"], validators["Last-Modified"]):
        wanted = parse_range(request.headers.get("Range", ""), size)
    else:
        wanted = None  # the file changed since the client's part: send all of it
    response: HttpResponseBase
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif wanted is None:
        response = FileResponse(storage.open(name, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        first, last = wanted
        response = StreamingHttpResponse(
            _read_range(storage, name, first, last), status=206, content_type=content_type
        )
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    for header in ("ETag", "Last-Modified", "Cache-Control"):
        response[header] = validators[header]
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    # None only for an inline file without a name: no header then
    if disposition := content_disposition_header(attachment, filename):
        response["Content-Disposition"] = disposition
    return response


def serve_zip(
    members: dict[str, str], filename: str, storage: Storage = default_storage
) -> StreamingHttpResponse:
    """The stored files ``{name in the zip: storage name}`` as one zip, streamed as it is
    written: members are read from storage in chunks (no temporary copy, memory flat) and stored
    uncompressed (FLAC and MP3 do not compress further), so its length is known up front."""
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    for arcname, name in members.items():
        archive.add(_read_range(storage, name, 0, None), arcname, size=storage.size(name))
    response = StreamingHttpResponse(archive, content_type=CONTENT_TYPES[".zip"])
    response["Content-Length"] = str(len(archive))
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _read_range(storage: Storage, name: str, first: int, last: int | None) -> Iterator[bytes]:
    """Bytes ``first..last`` (inclusive; None: to the end) in chunks, opened only when read."""
    with storage.open(name, "rb") as fh:
        if first:
            fh.seek(first)
        left = (storage.size(name) if last is None else last + 1) - first
        while left > 0:
            block = fh.read(min(CHUNK, left))
            if not block:
                break
            left -= len(block)
            yield block
