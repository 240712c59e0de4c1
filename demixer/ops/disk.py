"""The disk guard: free space where this process writes, refusals before work that would not fit,
and telling a write that failed for want of space from any other failure.

Four places get written to: the storage (``MEDIA_ROOT``, when it is local; an object store has
no free space to measure), the temporary folder (stems and renders are encoded there first, and
long tracks separate into a temporary file), the uploads' temporary folder and, with SQLite, the
database's folder. Folders on one file system are counted once, their needs added up. Each
check leaves ``DEMIXER_MIN_FREE_MB`` free: the database needs room to record that a job failed,
and the operator needs room to act.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

MESSAGE = "The server's storage is full. Please try again later."
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# what SQLite and PostgreSQL say when a write finds no room
FULL_TEXTS = ("database or disk is full", "no space left on device", "could not extend file")
WARN_EVERY = 600.0  # seconds between two warnings while space stays low (per process)


class StorageFull(Exception):
    """Refused, or stopped, for want of disk space; ``str()`` is the sentence for the user."""

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


def storage_root() -> Path | None:
    """The local folder behind the default storage; None for an object store."""
    try:
        return Path(default_storage.path(""))
    except NotImplementedError:
        return None


def folders() -> dict[str, Path]:
    """Where this process writes, by role (the roles a need may name)."""
    temp = Path(tempfile.gettempdir())
    found = {"temp": temp, "uploads": Path(settings.FILE_UPLOAD_TEMP_DIR or temp)}
    if (root := storage_root()) is not None:
        found["storage"] = root
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3" and str(db["NAME"]) not in ("", ":memory:"):
        found["database"] = Path(db["NAME"]).parent
    return found


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (MEDIA_ROOT appears with the first file)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(_existing(path)).free


def min_free_bytes() -> int:
    return max(0, settings.MIN_FREE_MB) * 1024 * 1024


def check_room(needs: dict[str, int]) -> None:
    """Raise :class:`StorageFull` unless every file system can take what ``needs`` puts on it
    (bytes by role of :func:`folders`; roles not written here, as ``storage`` on an object
    store, count for nothing) and still keep ``DEMIXER_MIN_FREE_MB`` free."""
    where = folders()
    by_device: dict[int, tuple[Path, int]] = {}
    for role, path in where.items():
        device = os.stat(_existing(path)).st_dev
        _, total = by_device.get(device, (path, 0))
        by_device[device] = (path, total + max(0, needs.get(role, 0)))
    for path, needed in by_device.values():
        free = free_bytes(path)
        if free - needed < min_free_bytes():
            warn_if_low(force=True)
            raise StorageFull(
                f"The server's storage is full: this needs about {_mb(needed)} MB and "
                f"{_mb(max(0, free - min_free_bytes()))} MB can be used. Please try again later."
            )


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f}" if n >= 1e6 else f"{n / 1e6:.1f}"


def is_storage_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is a write that found the disk full: ENOSPC or
    EDQUOT, SQLite's "database or disk is full", PostgreSQL's "could not extend file"."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, StorageFull):
            return True
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        text = str(exc).lower()
        if any(marker in text for marker in FULL_TEXTS):
            return True
        # what it was raised from; not __context__: an error met while handling a full disk
        # is an error of its own
        exc = exc.__cause__
    return False


def free_by_folder() -> dict[str, int]:
    """Free bytes of each folder this process writes to (the metric's values)."""
    return {role: free_bytes(path) for role, path in folders().items()}


_warned = {"at": 0.0, "low": False}
_warn_lock = threading.Lock()


def warn_if_low(*, force: bool = False) -> list[str]:
    """Log a warning (at most every WARN_EVERY seconds, or now when ``force``) while a folder
    has less than ``DEMIXER_MIN_FREE_MB`` free, and once when it has room again; returns the
    low folders' roles."""
    free = free_by_folder()
    low = sorted(role for role, n in free.items() if n < min_free_bytes())
    with _warn_lock:
        now = time.monotonic()
        if low and (force or not _warned["low"] or now - _warned["at"] >= WARN_EVERY):
            _warned.update(at=now, low=True)
            logger.warning(
                "disk space low (under DEMIXER_MIN_FREE_MB=%d): %s; uploads and jobs that do "
                "not fit are refused",
                settings.MIN_FREE_MB,
                ", ".join(f"{role} {_mb(free[role])} MB free" for role in low),
            )
        elif not low and _warned["low"]:
            _warned.update(at=now, low=False)
            logger.info("disk space back above DEMIXER_MIN_FREE_MB=%d", settings.MIN_FREE_MB)
    return low


def metric_families() -> Iterator[GaugeMetricFamily]:
    """``demixer_disk_free_bytes{folder}`` and the threshold ``demixer_disk_min_free_bytes``
    (alert on ``demixer_disk_free_bytes < demixer_disk_min_free_bytes``); logs a warning
    while a folder is under it."""
    free = GaugeMetricFamily(
        "demixer_disk_free_bytes",
        "Free bytes on the file system of each folder this process writes to",
        labels=["folder"],
    )
    for role, n in free_by_folder().items():
        free.add_metric([role], n)
    yield free
    yield GaugeMetricFamily(
        "demixer_disk_min_free_bytes",
        "DEMIXER_MIN_FREE_MB: below it uploads and jobs that do not fit are refused",
        value=min_free_bytes(),
    )
    warn_if_low()


class StorageFullMiddleware:
    """A web request that found the disk full gets a 507 page that says so, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not is_storage_full(exc):
            return None
        logger.warning("%s %s: storage full (%s)", request.method, request.path, exc)
        warn_if_low(force=True)
        return full_page(request)


def full_page(request: HttpRequest, message: str = MESSAGE) -> HttpResponse:
    from django.shortcuts import render

    return render(request, "507.html", {"message": message}, status=507)
