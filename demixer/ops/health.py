"""Readiness: can this process do its work? Each check says yes, or one line on what is wrong.

Errors shown are fixed sentences plus the exception's class: /readyz is public, and a driver's
message can carry host names or paths. The full exception goes to the log.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 2.0  # seconds: a Redis that stops answering must not hang the probe
PROBES = "probes"  # the storage folder the probe writes in


class NotReady(Exception):
    """A check's one-line answer when it ran but did not pass."""


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@contextmanager
def redis_client() -> Iterator[Any]:
    """A connection to the job queue's Redis that gives up after ``REDIS_TIMEOUT``."""
    import redis

    client = redis.Redis.from_url(
        str(settings.RQ_QUEUES["separation"]["URL"]),
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )
    try:
        yield client
    finally:
        client.close()


def check_queue() -> None:
    """The queue the jobs go through: the job rows' table, or Redis answering a ping."""
    if settings.QUEUE == "rq":
        with redis_client() as client:
            client.ping()
        return
    # read when probed (ops sits below the job apps and the engine)
    from demixer.separation.models import Separation

    Separation.objects.exists()  # the queue's table is there and answers


def check_storage() -> None:
    """Write a small file where uploads and stems go, read it back, delete it: also when the
    write fails half-way (a full disk leaves an empty file), and the folder with it."""
    from django.core.files.storage import default_storage

    content = uuid.uuid4().hex.encode()
    name = f"{PROBES}/readyz-{uuid.uuid4().hex}.txt"
    try:
        saved = default_storage.save(name, ContentFile(content))
        with default_storage.open(saved, "rb") as fh:
            if fh.read() != content:
                raise NotReady("storage returned other bytes than were written")
    finally:
        default_storage.delete(name)
        with suppress(NotImplementedError, OSError):  # another probe may be writing there
            os.rmdir(default_storage.path(PROBES))


def check_models() -> dict[str, object] | None:
    """The built-in weights the workers load are present and pass their SHA-256 (the registry's
    stamp makes this cheap after the first look; it never imports onnxruntime). An imported
    model that fails its check does not make the site unready (its jobs are refused at
    submission, with the reason): it is listed under ``unavailable``."""
    # read when probed (ops sits below the job apps and the engine)
    from demixer.engine import registry

    unavailable = []
    for spec in registry.MODELS.values():
        if registry.is_verified(spec):
            continue
        if spec.origin == "import":
            unavailable.append(spec.name)
            continue
        raise NotReady(
            f"{spec.name} weights missing or failing their checksum; run `demixer fetch-models`"
        )
    if unavailable:
        logger.warning("imported models missing or changed: %s", ", ".join(unavailable))
        return {"unavailable": unavailable}
    return None


# a check raises NotReady (or anything) when the site cannot serve; it may return details to show
CHECKS: dict[str, Callable[[], dict[str, object] | None]] = {
    "database": check_database,
    "queue": check_queue,
    "storage": check_storage,
    "models": check_models,
}

FAILED = {
    "database": "cannot reach the database",
    "queue": "cannot reach the job queue",
    "storage": "cannot write and read back a file in storage",
    "models": "cannot check the model weights",
}


def readiness() -> dict[str, dict[str, object]]:
    """Every check's result: ``{"database": {"ok": True}, "queue": {"ok": False, "error":
    "..."}, ...}``."""
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        try:
            details = check()
        except NotReady as exc:
            results[name] = {"ok": False, "error": str(exc)}
        except Exception as exc:  # whatever a driver raises: not ready, and why in the log
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = {"ok": False, "error": f"{FAILED[name]} ({type(exc).__name__})"}
        else:
            results[name] = {"ok": True, **(details or {})}
    return results
