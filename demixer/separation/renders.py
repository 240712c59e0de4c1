"""Render jobs: downloads that need encoding (a stem in a format other than the master's, the
converted stems of a zip, the instrumental, a custom mix) are rendered by the worker, never
inside a web request.

One row per (separation, kind, parameters), named by its cache ``key``: asking again for a file
being rendered finds its row, and a rendered file is served from storage at once. Like
``services``, every state change is a conditional update, so two processes cannot both win.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from demixer.engine import formats
from demixer.jobs.machine import JobKind
from demixer.separation import files
from demixer.separation.models import Render, RenderKind, Separation, Status
from demixer.separation.render import DOWNLOAD_BIT_DEPTH, MASTER, STORED_RATE, download_rates
from demixer.separation.tempo import PITCH_RANGE, TEMPO_RANGE, is_identity

KEPT_MIXES = 5  # custom mixes kept per separation: each new one drops the oldest beyond this
LOST = "The worker stopped while preparing this file, more than once. Please try again later."


class BadOption(ValueError):
    """A download option that is not one of its choices; the message is one sentence for the
    client, ``code`` the API's error code."""

    def __init__(self, message: str, code: str = "invalid_option") -> None:
        super().__init__(message)
        self.code = code


def _number(name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value):
        return int(value)
    raise BadOption(f"{name} must be a whole number.")


def _choices(values: Iterable[int]) -> str:
    *rest, last = [str(value) for value in values]
    return f"{', '.join(rest)} or {last}" if rest else last


def download_options(job: Separation, fmt: str, rate: object, bit_depth: object) -> dict[str, int]:
    """The render params for a download's optional sample rate (Hz) and bit depth, as a query,
    a form or the API gives them (None or "": the default). Left out when they are the default
    (the stored rate, 24 bits), so that asking for the default explicitly finds the same file;
    different settings are different renders and files. Raises :class:`BadOption`."""
    spec = formats.get(fmt)
    params: dict[str, int] = {}
    if rate is not None and rate != "":
        rates = download_rates(job.track.sample_rate, spec.name)
        hz = _number("rate", rate)
        if hz not in rates:
            raise BadOption(f"rate must be {_choices(rates)} (Hz) for {spec.name}.")
        if hz != STORED_RATE:
            params["rate"] = hz
    if bit_depth is not None and bit_depth != "":
        if not spec.bit_depths:
            raise BadOption(f"{spec.name} has no bit depth (it is lossy): leave bit_depth out.")
        bits = _number("bit_depth", bit_depth)
        if bits not in spec.bit_depths:
            raise BadOption(f"bit_depth must be {_choices(spec.bit_depths)} for {spec.name}.")
        if bits != DOWNLOAD_BIT_DEPTH:
            params["bit_depth"] = bits
    return params


def mix_params(
    stems: Iterable[str],
    gains: Mapping[str, float],
    pans: Mapping[str, float],
    tempo: float = 1.0,
    pitch: float = 0.0,
) -> dict[str, object]:
    """A custom mix's render params, as the player sets it: a gain per stem (0..2, missing: 1),
    a pan (-1..1, missing: centre), the tempo and the pitch. Rounded to the player's precision
    (one cached file per setting); pans, tempo and pitch only when not neutral, so a mix
    without them keeps the file it had before they existed. Raises :class:`BadOption`."""
    names = list(stems)
    unknown = sorted((set(gains) | set(pans)) - set(names))
    if unknown:
        raise BadOption(
            f"There is no stem {unknown[0]!r}; the stems are {', '.join(names)}.", "unknown_stem"
        )
    levels: dict[str, float] = {}
    panned: dict[str, float] = {}
    for name in names:
        gain, pan = float(gains.get(name, 1.0)), float(pans.get(name, 0.0))
        if not 0.0 <= gain <= 2.0:  # also refuses nan
            raise BadOption(f"The gain of {name} must be between 0 and 2.", "invalid_gain")
        if not -1.0 <= pan <= 1.0:
            raise BadOption(
                f"The pan of {name} must be between -1 (left) and 1 (right).", "invalid_pan"
            )
        levels[name] = round(gain, 3)
        if round(pan, 2) != 0.0:
            panned[name] = round(pan, 2)
    params: dict[str, object] = {"gains": levels}
    if panned:
        params["pans"] = panned
    tempo, pitch = round(float(tempo), 2), round(float(pitch), 2)
    in_range = (
        TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1] and PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]
    )
    if not in_range:  # also refuses nan
        raise BadOption(
            f"The tempo must be in {TEMPO_RANGE[0]}..{TEMPO_RANGE[1]}, "
            f"the pitch in {PITCH_RANGE[0]:g}..{PITCH_RANGE[1]:g} semitones.",
            "invalid_tempo",
        )
    if not is_identity(tempo, pitch):
        params.update(tempo=tempo, pitch=pitch)
    return params


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
