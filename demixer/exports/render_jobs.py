"""Render jobs: downloads that need work (a stem in a format other than the master's, the
converted stems of a zip, the instrumental, a custom mix, a stem's MIDI, the chords) are made by
the worker, never inside a web request.

One row per (separation, kind, parameters), named by its cache ``key``: asking again for a file
being rendered finds its row, and a rendered file is served from storage at once. The row is a
kind of the one job state machine (:class:`RenderJobs`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from demixer.jobs.machine import JobKind
from demixer.separation import files
from demixer.separation.masters import MASTER
from demixer.separation.models import Render, RenderKind, Separation, Status

KEPT_MIXES = 5  # custom mixes kept per separation: each new one drops the oldest beyond this
LOST = "The worker stopped while preparing this file, more than once. Please try again later."


def _variant(params: dict[str, object]) -> str:
    """``-48000hz-16bit``: a download's rate and bit depth in its cache name (nothing for the
    defaults, so the files made before these options keep their names)."""
    units = (("rate", "hz"), ("bit_depth", "bit"))
    return "".join(f"-{params[key]}{unit}" for key, unit in units if key in params)


def key_for(kind: str, fmt: str, params: dict[str, object]) -> str:
    """The cache file's name under the separation's ``cache/`` folder."""
    variant = _variant(params)
    if kind == RenderKind.STEM:
        return f"{params['stem']}{variant}.{fmt}"
    if kind == RenderKind.ZIP:
        return f"stems-{fmt}{variant}.zip"
    if kind == RenderKind.INSTRUMENTAL:
        return f"instrumental{variant}.{fmt}"
    if kind == RenderKind.MIDI:
        return f"{params['stem']}.{fmt}"
    if kind == RenderKind.CHORDS:
        return f"chords.{fmt}"
    setting: object = params["gains"]
    if set(params) != {"gains"}:  # a plain mix keeps the name it always had
        setting = {**params}
    canonical = json.dumps(setting, sort_keys=True)
    return f"mix-{hashlib.sha256(canonical.encode()).hexdigest()[:16]}.{fmt}"


def cache_name(job: Separation, key: str) -> str:
    return f"{job.storage_dir()}/cache/{key}"


def zip_members(
    job: Separation,
    fmt: str,
    name: Callable[[str, str], str],
    params: dict[str, object] | None = None,
) -> dict[str, str]:
    """``{name in the zip: storage name}``: the FLAC masters, or their cached conversions (the
    files a single stem's download with the same ``params``, rate and bit depth, is served
    from). ``name(label, fmt)`` gives a member's name in the zip."""
    variant = _variant(params or {})
    return {
        name(stem.label, fmt): (
            files.name_of(stem.master)
            if fmt == MASTER.name and not variant
            else cache_name(job, f"{stem.name}{variant}.{fmt}")
        )
        for stem in job.stems.all()
    }


def stem_cache_name(render: Render, stem: str) -> str:
    """Where a zip's render keeps ``stem``'s conversion (the file that stem's own download
    with the same options is served from)."""
    return cache_name(render.separation, f"{stem}{_variant(render.params)}.{render.fmt}")


def is_ready(render: Render) -> bool:
    """Whether the render's file(s) are on storage (the row may not say done yet)."""
    job = render.separation
    names: Iterable[str]
    if render.kind == RenderKind.ZIP:
        names = zip_members(job, render.fmt, lambda label, fmt: label, render.params).values()
    else:
        names = [cache_name(job, render.key)]
    return all(files.default_storage.exists(name) for name in names)


class RenderJobs(JobKind[Render]):
    """Render jobs on the one state machine: a render's row adds nothing to the edges."""

    name = "render"
    error_length = 300

    def lost_message(self, attempts: int) -> str:
        return LOST

    def rows(self) -> QuerySet[Render]:
        return Render.objects.select_related("separation__track")


JOBS = RenderJobs(Render)


def request(job: Separation, kind: str, fmt: str, params: dict[str, object]) -> Render:
    """The render of this file: the existing row (queued again if it failed, was lost with a
    dead worker, or its file is gone), or a new queued one, enqueued once the row commits."""
    key = key_for(kind, fmt, params)
    render = Render.objects.filter(separation=job, key=key).first()
    if render is None:
        render = Render(separation=job, kind=kind, fmt=fmt, params=params, key=key)
        if is_ready(render):  # rendered already: by the zip's render, or before rows existed
            render.status, render.progress, render.finished = Status.DONE, 1.0, timezone.now()
        try:
            with transaction.atomic():
                render.save(force_insert=True)
                if render.status == Status.QUEUED:
                    JOBS.enqueue(render.id)
        except IntegrityError:  # the same request, a moment earlier, from another thread
            return Render.objects.select_related("separation__track").get(separation=job, key=key)
        if kind == RenderKind.MIX:
            _drop_old_mixes(job)
        return render
    render.separation = job
    revive(render, retry_failed=True)
    return render


def revive(render: Render, *, retry_failed: bool) -> None:
    """Queue a render again when its worker stopped beating (it failed for good after
    ``DEMIXER_MAX_ATTEMPTS``), when it is done but its file is gone, or, asked for again by
    the user, when it failed."""
    if render.status == Status.RUNNING:
        JOBS.recover_stale(ids=[render.id])
    elif (render.status == Status.FAILED and retry_failed) or (
        render.status == Status.DONE and not is_ready(render)
    ):
        JOBS.retry(render.id, render.status)
    render.refresh_from_db()


def _drop_old_mixes(job: Separation) -> None:
    """Keep the newest ``KEPT_MIXES`` mixes of a separation: each new gain setting is a new file,
    and a user moving sliders should not fill the disk."""
    old = Render.objects.filter(separation=job, kind=RenderKind.MIX).order_by("-created")[
        KEPT_MIXES:
    ]
    for render in old:
        render.delete()  # a worker rendering it notices and drops its file
        files.default_storage.delete(cache_name(job, render.key))


def payload(
    render: Render, status_view: str = "render-status", file_view: str = "render-file"
) -> dict[str, object]:
    """The JSON a client polls: where the render is, and where its file will be (the site's
    URLs, or the API's when it names its views)."""
    return {
        "id": str(render.id),
        "status": render.status,
        "progress": round(render.progress, 4),
        "percent": int(render.progress * 100),
        "error": render.error,
        "status_url": reverse(status_view, args=[render.id]),
        "download_url": reverse(file_view, args=[render.id]),
    }
