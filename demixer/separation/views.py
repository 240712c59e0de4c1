"""Job page and status, cancel, and the audio files: every query filters by the owner."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_POST

from demixer.engine.registry import LICENSE_NOTE
from demixer.separation import files, services
from demixer.separation import render as audio_render
from demixer.separation.models import Separation, Status, Stem

FORMATS = audio_render.DOWNLOAD_FORMATS
INSTRUMENTAL_FORMAT = "wav"


def _job(request: HttpRequest, separation_id: object) -> Separation:
    return get_object_or_404(
        Separation.objects.select_related("track"), id=separation_id, track__owner=request.user
    )


def _done_job(request: HttpRequest, separation_id: object) -> Separation:
    job = _job(request, separation_id)
    if job.status != Status.DONE:
        raise Http404("this separation has no stems (yet)")
    return job


def status_payload(job: Separation) -> dict[str, object]:
    return {
        "id": str(job.id),
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": round(job.progress, 4),
        "percent": int(job.progress * 100),
        "stage": job.stage,
        "eta_seconds": None if job.eta_seconds is None else round(job.eta_seconds),
        "queue_position": services.queue_position(job),
        "error": job.error,
        "note": job.note,
        "url": reverse("separation-detail", args=[job.id]),
    }


@login_required
def detail(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = _job(request, separation_id)
    if job.status == Status.DONE:
        return render(request, "player/result.html", result_context(job))
    return render(
        request,
        "separation/job.html",
        {"separation": job, "track": job.track, "status": status_payload(job)},
    )


def result_context(job: Separation) -> dict[str, object]:
    """What ``player/result.html`` receives (see demixer/player/CONTRACT.md)."""
    stems = list(job.stems.all())
    names = {s.name for s in stems}
    return {
        "separation": job,
        "track": job.track,
        "stems": [
            {
                "name": stem.name,
                "label": stem.label,
                "preview_url": reverse("stem-preview", args=[job.id, stem.name]),
                "peaks": stem.peaks,
                "downloads": {
                    fmt: reverse("stem-download", args=[job.id, stem.name, fmt]) for fmt in FORMATS
                },
            }
            for stem in stems
        ],
        "zip_url": reverse("separation-zip", args=[job.id]),
        "instrumental_url": (
            reverse("separation-instrumental", args=[job.id, INSTRUMENTAL_FORMAT])
            if "vocals" in names and len(names) > 1
            else None
        ),
        "mix_url": reverse("separation-mix", args=[job.id]),
        "licence_note": LICENSE_NOTE,
    }


@login_required
def status(request: HttpRequest, separation_id: object) -> JsonResponse:
    response = JsonResponse(status_payload(_job(request, separation_id)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def cancel(request: HttpRequest, separation_id: object) -> HttpResponse:
    job = _job(request, separation_id)
    if services.cancel(job):
        messages.success(request, "Separation cancelled.")
    else:
        messages.info(request, "This separation had already finished.")
    return redirect("separation-detail", job.id)


def _download_name(job: Separation, part: str, fmt: str) -> str:
    return get_valid_filename(f"{job.track.title} - {part}.{fmt}") or f"{part}.{fmt}"


def _cached(job: Separation, key: str, build: Callable[[Path], Path]) -> str:
    """The storage name of a derived file, built on first request and kept with the stems."""
    name = f"{job.storage_dir()}/cache/{key}"
    if not default_storage.exists(name):
        with tempfile.TemporaryDirectory(prefix="demixer-") as tmp:
            built = build(Path(tmp) / Path(key).name)
            name = files.save(name, built)
    return name


@login_required
def stem_download(request: HttpRequest, separation_id: object, name: str, fmt: str) -> HttpResponse:
    job = _done_job(request, separation_id)
    stem = get_object_or_404(Stem, separation=job, name=name)
    if fmt not in FORMATS:
        raise Http404("unknown format")
    if fmt == "flac":
        stored = stem.master.name
    else:

        def build(target: Path) -> Path:
            with files.local_copy(stem.master.name) as master:
                return audio_render.convert(master, target, fmt)

        stored = _cached(job, f"{name}.{fmt}", build)
    return files.serve(request, stored, _download_name(job, stem.label, fmt), attachment=True)


@login_required
def stem_preview(request: HttpRequest, separation_id: object, name: str) -> HttpResponse:
    job = _done_job(request, separation_id)
    stem = get_object_or_404(Stem, separation=job, name=name)
    return files.serve(request, stem.preview.name, f"{name}.mp3", attachment=False)


def _masters(job: Separation) -> dict[str, str]:
    return {stem.name: stem.master.name for stem in job.stems.all()}


def _render_mix(masters: dict[str, str], gains: dict[str, float], target: Path) -> Path:
    with ExitStack() as stack:
        local = {name: stack.enter_context(files.local_copy(n)) for name, n in masters.items()}
        return audio_render.mix(local, gains, target, target.suffix.lstrip("."))


@login_required
def instrumental(request: HttpRequest, separation_id: object, fmt: str) -> HttpResponse:
    """Everything but the vocals, as one file."""
    job = _done_job(request, separation_id)
    if fmt not in FORMATS:
        raise Http404("unknown format")
    masters = _masters(job)
    if "vocals" not in masters or len(masters) < 2:
        raise Http404("no instrumental for this separation")
    gains = {name: 0.0 if name == "vocals" else 1.0 for name in masters}
    stored = _cached(job, f"instrumental.{fmt}", lambda target: _render_mix(masters, gains, target))
    return files.serve(request, stored, _download_name(job, "Instrumental", fmt), attachment=True)


@login_required
def stems_zip(request: HttpRequest, separation_id: object) -> HttpResponse:
    """All stems in one zip (FLAC masters by default; ``?format=wav|mp3`` converts)."""
    job = _done_job(request, separation_id)
    fmt = request.GET.get("format", "flac")
    if fmt not in FORMATS:
        raise Http404("unknown format")
    stems = list(job.stems.all())

    def build(target: Path) -> Path:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
            for stem in stems:
                arcname = _download_name(job, stem.label, fmt)
                with files.local_copy(stem.master.name) as master:
                    if fmt == "flac":
                        archive.write(master, arcname)
                    else:
                        converted = audio_render.convert(
                            master, target.with_name(f"{stem.name}.{fmt}"), fmt
                        )
                        archive.write(converted, arcname)
                        converted.unlink()
        return target

    stored = _cached(job, f"stems-{fmt}.zip", build)
    title = get_valid_filename(f"{job.track.title} - stems.zip") or "stems.zip"
    return files.serve(request, stored, title, attachment=True)


@login_required
@require_POST
def mix(request: HttpRequest, separation_id: object) -> HttpResponse:
    """The mix as set in the player: ``gain_<stem>`` in 0..2 per stem, ``format``."""
    job = _done_job(request, separation_id)
    fmt = request.POST.get("format", "wav")
    if fmt not in FORMATS:
        return HttpResponseBadRequest("format must be wav, flac or mp3")
    masters = _masters(job)
    gains: dict[str, float] = {}
    for name in masters:
        raw = request.POST.get(f"gain_{name}", "1")
        try:
            gain = float(raw)
        except ValueError:
            return HttpResponseBadRequest(f"gain_{name} must be a number")
        if not 0.0 <= gain <= 2.0:  # also refuses nan
            return HttpResponseBadRequest(f"gain_{name} must be between 0 and 2")
        gains[name] = gain
    with tempfile.TemporaryDirectory(prefix="demixer-mix-") as tmp:
        target = _render_mix(masters, gains, Path(tmp) / f"mix.{fmt}")
        # an open file outlives its directory entry: the temporary folder can go now
        handle = target.open("rb")
    return FileResponse(
        handle,
        as_attachment=True,
        filename=_download_name(job, "mix", fmt),
        content_type=files.CONTENT_TYPES[f".{fmt}"],
    )
