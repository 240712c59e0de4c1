"""The worker side of render jobs: running one, and the thread that runs them beside separations.

A separation worker runs one job at a time, for minutes; a render queued behind it would wait
that long. So renders are served by a loop of their own (:mod:`demixer.jobs.loop`; their rows
are the queue) on a thread of every worker process, between and during separations. A render is
light: it reads the FLAC masters and encodes block by block (a few MB), and its encoders release
the GIL. A stem's MIDI and the chords read the masters the same way; Basic Pitch's session (a
230 KB graph) is made on the first MIDI a worker renders. This module never imports onnxruntime
itself: the web process loads it (to register the lane) and must stay light.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import NamedTuple

from django.db import close_old_connections

from demixer.engine.analysis import chords, midi, notes
from demixer.engine.errors import Cancelled, EngineError
from demixer.exports import conversions, render_jobs
from demixer.ops import disk
from demixer.separation import budget, files, services
from demixer.separation.models import Render, RenderKind

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress writes (each also beats the heartbeat)
ANALYSES = (RenderKind.MIDI, RenderKind.CHORDS)  # files of notes or labels, not audio
ANALYSIS_BYTES = 1 << 20
DEFAULT_BPM = 120.0  # MIDI's own default, for a track whose tempo was not measured
FAILED = "Something went wrong while preparing this file. The error has been logged; try again."


def take_next() -> bool:
    """The render loop's step: claim the oldest queued render and run it; False when none is
    queued."""
    claim = services.claim_id()
    job = render_jobs.JOBS.claim_next(claim)
    if job is None:
        return False
    _run(job, claim)
    return True


def render_one(render_id: str) -> str:
    """Claim this render and run it; returns what happened."""
    claim = services.claim_id()
    if not render_jobs.JOBS.claim(render_id, claim):
        return "not queued (done, deleted or claimed elsewhere)"
    return _run(render_jobs.JOBS.rows().get(id=render_id), claim)


def _run(job: Render, claim: str) -> str:
    """Render one download into the separation's cache; returns what happened."""
    from demixer.separation.tasks import shutdown_requested  # set on SIGTERM by the command

    render_id = str(job.id)
    reporter = _Reporter(render_id, claim, shutdown_requested)
    try:
        disk.check_room(_needs(job))
        with tempfile.TemporaryDirectory(prefix="demixer-render-") as tmp:
            _render(job, Path(tmp), reporter)
        if render_jobs.JOBS.complete(render_id, claim):
            return "done"
        return "dropped (deleted meanwhile)"
    except Cancelled:
        if shutdown_requested.is_set() and render_jobs.JOBS.requeue(render_id, claim):
            return "requeued (worker stopping)"
        return "dropped (deleted meanwhile)"
    except EngineError as exc:
        render_jobs.JOBS.fail(render_id, claim, str(exc))
        return "failed"
    except Exception as exc:
        if disk.is_storage_full(exc):  # what it wrote went with its temporary folder
            logger.warning("render %s: storage full: %s", render_id, exc)
            render_jobs.JOBS.fail(render_id, claim, str(exc) if _said(exc) else disk.MESSAGE)
            return "failed (storage full)"
        logger.exception("render %s failed", render_id)
        render_jobs.JOBS.fail(render_id, claim, FAILED)
        return "failed (unexpected error)"
    finally:
        close_old_connections()


def _needs(job: Render) -> dict[str, int]:
    """The room this render needs (:mod:`demixer.separation.budget`)."""
    separation = job.separation
    if job.kind in ANALYSES:  # a few kB of text or MIDI
        return {"storage": ANALYSIS_BYTES, "temp": ANALYSIS_BYTES}
    stems = separation.stems.count() if job.kind == RenderKind.ZIP else 1
    return budget.render_needs(
        stems,
        separation.track.duration,
        job.fmt,
        _int_param(job, "rate"),
        _int_param(job, "bit_depth") or conversions.DOWNLOAD_BIT_DEPTH,
        float(job.params.get("tempo", 1.0)),
    )


def _said(exc: Exception) -> bool:
    """The guard's own refusal, whose sentence is for the user (an OSError's is not)."""
    return isinstance(exc, disk.StorageFull)


class _Reporter:
    """Progress to the row (throttled); raises Cancelled once the render is not ours to finish:
    its separation was deleted, or the worker is stopping."""

    def __init__(self, render_id: str, claim: str, stopping: threading.Event) -> None:
        self.render_id, self.claim, self.stopping = render_id, claim, stopping
        self.last = 0.0
        self.base, self.share = 0.0, 1.0

    def stage(self, base: float, share: float) -> None:
        self.base, self.share = base, share

    def __call__(self, fraction: float) -> None:
        if self.stopping.is_set():
            raise Cancelled("the worker is stopping")
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL:
            return
        self.last = now
        if not render_jobs.JOBS.report(
            self.render_id, self.claim, self.base + self.share * fraction
        ):
            raise Cancelled("render no longer wanted")


def _render(job: Render, tmp: Path, progress: _Reporter) -> None:
    separation = job.separation
    masters = {stem.name: files.name_of(stem.master) for stem in separation.stems.all()}
    # the download's sample rate and bit depth (absent: the stored rate, 24 bits)
    encoding = _Encoding(
        rate=_int_param(job, "rate"),
        bit_depth=_int_param(job, "bit_depth") or conversions.DOWNLOAD_BIT_DEPTH,
    )
    if job.kind == RenderKind.ZIP:
        # each stem converted once, into the same cache a single stem's download uses; the zip
        # itself is then streamed from those files
        names = {n: render_jobs.stem_cache_name(job, n) for n in masters}
        todo = [n for n in masters if not files.default_storage.exists(names[n])]
        for i, name in enumerate(todo):
            progress.stage(i / len(todo), 1 / len(todo))
            built = tmp / f"{name}.{job.fmt}"
            _convert(masters[name], built, job.fmt, progress, encoding)
            _store(job, names[name], built)
        return
    target = tmp / job.key
    if job.kind in ANALYSES:
        target.write_bytes(_analysis(job, masters, progress))
    elif job.kind == RenderKind.STEM:
        _convert(masters[str(job.params["stem"])], target, job.fmt, progress, encoding)
    else:
        if job.kind == RenderKind.INSTRUMENTAL:
            gains = {name: 0.0 if name == "vocals" else 1.0 for name in masters}
        else:
            gains = {name: float(job.params["gains"].get(name, 0.0)) for name in masters}
        with ExitStack() as stack:
            local = {n: stack.enter_context(files.local_copy(m)) for n, m in masters.items()}
            tempo = float(job.params.get("tempo", 1.0))  # the player's tempo and pitch
            pitch = float(job.params.get("pitch", 0.0))
            pans = {name: float(pan) for name, pan in job.params.get("pans", {}).items()}
            conversions.mix(
                local, gains, target, job.fmt, progress, tempo, pitch, *encoding, pans=pans
            )
    _store(job, job.storage_name(), target)


def _analysis(job: Render, masters: dict[str, str], progress: _Reporter) -> bytes:
    """A stem's notes as a MIDI file at the track's tempo, or the chords of the harmonic stems
    (all but drums and vocals; all of them when that leaves none) as ``.lab`` text."""
    names = [str(job.params["stem"])] if job.kind == RenderKind.MIDI else list(masters)
    gains = dict.fromkeys(analysed_stems(job.kind, names), 1.0)
    progress.stage(0.0, 0.3)  # reading; the analysis itself reports nothing until it is done
    with ExitStack() as stack:
        local = {n: stack.enter_context(files.local_copy(masters[n])) for n in gains}
        audio, rate = conversions.mono_mix(local, gains, progress)
    progress.stage(0.3, 0.7)
    progress(0.0)
    if job.kind == RenderKind.MIDI:
        bpm = job.separation.track.bpm or DEFAULT_BPM
        return midi.to_midi(_note_model().transcribe(audio, rate), bpm)
    return chords.to_lab(chords.chords(audio, rate)).encode()


def analysed_stems(kind: str, names: list[str]) -> list[str]:
    """The stems an analysis reads: a MIDI its stem; the chords every stem but drums and vocals
    (cleaner chroma), or all of them when that leaves none (a two-stem separation)."""
    if kind != RenderKind.CHORDS:
        return names
    return [n for n in names if n not in chords.NOT_HARMONIC] or names


@cache
def _note_model() -> notes.NoteModel:
    """Basic Pitch's session, made once a worker process (onnxruntime loads here)."""
    return notes.NoteModel()


class _Encoding(NamedTuple):
    rate: int | None  # None: the masters' own
    bit_depth: int


def _int_param(job: Render, key: str) -> int | None:
    value = job.params.get(key)
    return int(value) if value is not None else None


def _convert(master: str, target: Path, fmt: str, progress: _Reporter, encoding: _Encoding) -> None:
    with files.local_copy(master) as path:
        conversions.convert(path, target, fmt, progress, *encoding)


def _store(job: Render, name: str, built: Path) -> None:
    """Save a rendered file under its cache name; dropped again if the render's row went
    meanwhile (its separation was deleted: its folder must not come back)."""
    files.save(name, built)
    if not Render.objects.filter(id=job.id).exists():
        files.default_storage.delete(name)
        raise Cancelled("render no longer wanted")
