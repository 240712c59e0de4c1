"""The worker's task: a thin adapter between a Separation row and the engine.

It receives a job id, re-reads the row (tolerating its absence), claims it atomically, runs the
engine with a progress callback that writes to the row (throttled) and a cancel callback that
reads it, writes the stems to storage and records them. Errors become one readable sentence on
the row; the traceback goes to the log only.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import close_old_connections, connection
from django.dispatch import receiver
from django.tasks import task

from demixer.engine import registry
from demixer.engine.errors import Cancelled, EngineError
from demixer.engine.htdemucs import fast_check
from demixer.engine.options import SessionConfig
from demixer.engine.registry import DEFAULT_MODEL
from demixer.ops import disk
from demixer.separation import files, masters, pieces, services, signals
from demixer.separation.models import Quality, Separation
from demixer.tracks import services as track_services

if TYPE_CHECKING:  # the engine proper loads in the worker only, when a job first runs
    from demixer.engine.separate import Progress, Separated
    from demixer.engine.sessions import Session

logger = logging.getLogger(__name__)

# Set by the worker command on SIGINT/SIGTERM: the running job stops at its next chunk and goes
# back to the queue, so stopping the server never costs a user their job.
shutdown_requested = threading.Event()

PROGRESS_INTERVAL = 0.5  # seconds between progress writes
HEARTBEAT_INTERVAL = 10.0
STORAGE_FULL = (
    "The server's storage is full: the separation stopped and its partial files were removed. "
    "Please try again later."
)
# share of the bar each stage takes
DECODE_SHARE, SEPARATE_SHARE = 0.03, 0.90


def _session_config(quality: str, model: str = DEFAULT_MODEL) -> SessionConfig:
    return SessionConfig(
        model=model,
        quality=quality,
        device=settings.SEPARATION_DEVICE,
        threads=settings.SEPARATION_THREADS,
    )


def worker_model(model: str = DEFAULT_MODEL, quality: str = Quality.DEFAULT) -> Session:
    """This process's session for ``model`` and ``quality`` (created once, shared by every job).

    The fast mode is checked against the default mode once per host (see
    :mod:`demixer.engine.htdemucs.fast_check`); where it was refused, this is the default session.
    """
    # the engine proper (onnxruntime, librosa): loaded in the worker when a job runs
    from demixer.engine.sessions import HTDemucsSession, load_model

    config = _session_config(quality, model)
    if quality == Quality.FAST:
        default = load_model(_session_config(Quality.DEFAULT, model))
        assert isinstance(default, HTDemucsSession)  # the only architecture with a fast mode
        config, _ = fast_check.usable_config(config, default=default.model)
    return load_model(config)


def warm_up_models() -> float:
    """Create and warm the session of every model and quality installed here, so no user's job
    pays for a session's creation or its slow first runs, and check the fast mode on this CPU;
    returns the seconds it took. Sessions: htdemucs ~0.9 GB (default) + ~0.75 GB (fast), Spleeter
    ~0.5 GB."""
    started = time.monotonic()
    for spec in registry.MODELS.values():
        if not registry.is_verified(spec):
            logger.warning("%s is not installed: jobs asking for it are refused", spec.name)
            continue
        for quality in spec.qualities:
            worker_model(spec.name, quality).warm_up()
    _warm_up_analysis()
    verdict = fast_check.cached(device=settings.SEPARATION_DEVICE)
    if verdict is not None:
        (logger.info if verdict.usable else logger.warning)("%s", verdict.describe())
    return time.monotonic() - started


def _warm_up_analysis() -> None:
    """librosa compiles its kernels on first use (~10 s here): on silence, not a user's job."""
    import numpy as np

    # the engine proper (onnxruntime, librosa): loaded in the worker when a job runs
    from demixer.engine import analysis

    analysis.analyse(np.zeros((2, analysis.ANALYSIS_RATE), np.float32), analysis.ANALYSIS_RATE)


class _Heartbeat(threading.Thread):
    """Beats the row every few seconds while the job runs, whatever the engine is doing, so a
    long decode or encode never looks like a dead worker. A beat that fails does not stop the
    next; one that found the disk full sets ``storage_full``, which stops the job."""

    def __init__(self, job_id: str, worker_id: str) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id, self.worker_id = job_id, worker_id
        self.stopped = threading.Event()
        self.storage_full = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_INTERVAL):
                try:
                    services.beat(self.job_id, self.worker_id)
                except Exception as exc:
                    if disk.is_storage_full(exc):
                        self.storage_full.set()
                    logger.warning("job %s: heartbeat failed: %s", self.job_id, exc)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class _Reporter:
    """The engine's progress and cancel callbacks, writing to and reading the row; the job
    stops, too, once a write beside it (a beat, a live piece) found the disk full."""

    def __init__(self, job_id: str, worker_id: str, storage_full: Callable[[], bool]) -> None:
        self.job_id = job_id
        self.worker_id = worker_id
        self.last_write = 0.0
        self.storage_full = storage_full

    def stage(self, progress: float, stage: str, eta: float | None = None) -> None:
        self.last_write = time.monotonic()
        services.report(self.job_id, self.worker_id, progress, stage, eta)

    def progress(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self.last_write < PROGRESS_INTERVAL and p.done < p.total:
            return
        self.stage(DECODE_SHARE + SEPARATE_SHARE * p.fraction, "separating", p.eta)

    def cancelled(self) -> bool:
        return (
            shutdown_requested.is_set()
            or self.storage_full()
            or not services.still_wanted(self.job_id, self.worker_id)
        )


def run_next() -> str | None:
    """Claim the job the fair order puts first and run it; what happened, or None when no job
    is queued."""
    # one id per claim: if this job is requeued as stale while we still run it, the worker
    # that claims it next is told apart from us
    job = services.claim_next(services.claim_id())
    if job is None:
        return None
    heartbeat = _Heartbeat(str(job.id), job.worker_id)
    heartbeat.start()
    try:
        return _run(job, heartbeat.storage_full)
    finally:
        heartbeat.stop()
        close_old_connections()


def take_next() -> bool:
    """The worker loop's step: run the next job; False when none is queued."""
    return run_next() is not None


@task(queue_name="separation")
def separate_track(separation_id: str) -> str:
    """One delivery through Redis (``DEMIXER_QUEUE=rq``); returns what happened.

    Each queued job sends one delivery, but a delivery runs whichever job the fair order puts
    first (users take turns, see :mod:`demixer.separation.queue`), not necessarily the one it
    names; as deliveries never number fewer than queued jobs, every job is run. Without Redis
    the worker's own loop claims the rows (:func:`run_next`) and nothing is delivered.
    """
    if (outcome := run_next()) is not None:
        return outcome
    exists = Separation.objects.filter(id=separation_id).exists()
    return "not queued (cancelled or claimed elsewhere)" if exists else "no such job"


def delivered_by_redis() -> bool:
    """True when the default task backend is the RQ one (``DEMIXER_QUEUE=rq``)."""
    return str(settings.TASKS["default"]["BACKEND"]).startswith("django_tasks_rq.")


@receiver(signals.job_queued, sender=Separation)
def _deliver(sender: object, job_id: str, **kwargs: object) -> None:
    """A job the state machine queued goes on the Redis queue when there is one (without it,
    the rows themselves are the queue)."""
    if delivered_by_redis():
        separate_track.enqueue(job_id)


def _run(job: Separation, beat_found_full: threading.Event | None = None) -> str:
    # the engine proper (onnxruntime, librosa): loaded in the worker when a job runs
    from demixer.engine.separate import separate_file

    job_id = str(job.id)
    # listen while it separates: each final piece goes to storage as it comes
    publisher = pieces.Publisher(job, job.worker_id)

    def storage_full() -> bool:
        return publisher.storage_full or (beat_found_full is not None and beat_found_full.is_set())

    reporter = _Reporter(job_id, job.worker_id, storage_full)
    try:
        publisher.start()
        reporter.stage(0.0, "decoding")
        options = job.engine_options()
        model = worker_model(options.model, job.quality)
        if model.config.quality != options.quality:
            verdict = fast_check.cached(options.model, settings.SEPARATION_DEVICE)
            services.run_in_default_mode(job_id, job.worker_id, _fast_refused_note(verdict))
            options = dataclasses.replace(options, quality=model.config.quality)
        if job.track.duration > settings.SEPARATION_LOW_MEMORY_MINUTES * 60:
            # the separated audio of a long track lives in a temporary file instead of memory
            # (10 minutes: 1.4 GB instead of 2.1 GB at the peak, a few % slower)
            options = dataclasses.replace(options, low_memory=True)
        with files.local_copy(files.name_of(job.track.original)) as path:
            result = separate_file(
                path,
                options,
                model=model,
                progress=reporter.progress,
                cancel=reporter.cancelled,
                max_seconds=settings.MAX_MINUTES * 60,
                max_rate=settings.MAX_SAMPLE_RATE,
                max_channels=settings.MAX_CHANNELS,
                on_ready=publisher,
            )
        publisher.close()  # every piece recorded before the job can be done
        if reporter.cancelled():
            raise Cancelled("separation cancelled")
        reporter.stage(DECODE_SHARE + SEPARATE_SHARE, "writing stems")
        _analyse(job, result)
        stems = _store_stems(job, result.stems, result.rate, result.source.tags, reporter)
        if services.complete(job_id, job.worker_id, stems):
            return "done"
        return "cancelled while writing"
    except Cancelled:
        if storage_full():
            _fail_full(job, publisher)
            return "failed (storage full)"
        if shutdown_requested.is_set() and services.requeue(job_id, job.worker_id):
            logger.info("job %s put back in the queue: the worker is stopping", job_id)
            return "requeued (worker stopping)"
        return "cancelled"
    except Exception as exc:
        if not disk.is_storage_full(exc):
            return _failed(job, exc)
        logger.warning("job %s: a write found the disk full: %s", job_id, exc)
        _fail_full(job, publisher)
        return "failed (storage full)"
    finally:
        # done (the full stems are stored), cancelled, failed or requeued: either way this
        # claim's pieces are no longer wanted (what was heard was final audio anyway)
        publisher.discard()


def _failed(job: Separation, exc: Exception) -> str:
    """Record a failure that is not the disk's: the engine's own sentence, or a generic one."""
    if isinstance(exc, EngineError):
        # raised on purpose with a message for the user (an input past a limit, a corrupt
        # file, ...): failed once, never requeued, as a retry would end the same way
        _fail(job, str(exc))
        return "failed"
    logger.error("separation %s failed", job.id, exc_info=exc)
    _fail(
        job,
        "Something went wrong while separating this track. The error has been logged; "
        "please try again later.",
    )
    return "failed (unexpected error)"


def _fail_full(job: Separation, publisher: pieces.Publisher) -> None:
    """The disk filled while the job ran: its live pieces go first (the database may need the
    room to record the failure), then its stems, then the row says why."""
    disk.warn_if_low(force=True)
    publisher.discard()
    _fail(job, STORAGE_FULL)


def _analyse(job: Separation, result: Separated) -> None:
    """Key and BPM of the track, the first time one of its jobs gets here (at most two minutes
    analysed): tempo from the mix, the key from the separated pitched stems and bass. A failure
    costs the user the figures, not the job."""
    if job.track.bpm is not None:
        return
    # the engine proper (onnxruntime, librosa): loaded in the worker when a job runs
    from demixer.engine import analysis

    source = result.source
    stems = result.stems if result.rate == source.rate else None
    try:
        found = analysis.analyse(source.samples, source.rate, stems)
    except Exception:
        logger.exception("job %s: key/BPM analysis failed", job.id)
        return
    track_services.record_analysis(
        job.track_id,
        round(found.bpm, 1),
        found.key,
        round(found.key_confidence, 3),
        found.key_alternative,
    )


def _fast_refused_note(verdict: fast_check.FastCheck | None) -> str:
    detail = f" ({verdict.cpu_class})" if verdict is not None else ""
    return (
        f"Separated in the best (default) mode: the fast mode is not available on this "
        f"server's CPU{detail}."
    )


def _fail(job: Separation, message: str) -> None:
    """Remove the stems the job had written so far (a failure while writing them would
    otherwise leave files that no row points to), then mark it failed: in that order, so a
    full disk has the room back before the row is written."""
    job_id = str(job.id)
    if not services.taken_over(job_id, job.worker_id):
        services.delete_separation_files(job)
    services.fail(job_id, job.worker_id, message)


class _WritingProgress:
    """The writing stage's share of the bar, file by file, with an estimate of the time left
    from the files written so far."""

    def __init__(self, reporter: _Reporter | None, files: int) -> None:
        self.reporter, self.files, self.written = reporter, files, 0
        self.started = time.monotonic()

    def wrote_one(self) -> None:
        self.written += 1
        if self.reporter is None:
            return
        spent = time.monotonic() - self.started
        eta = spent / self.written * (self.files - self.written)
        # up to 99 %: 100 once the job is done, as the rows are recorded after the last file
        start, end = DECODE_SHARE + SEPARATE_SHARE, 0.99
        done = start + (end - start) * self.written / self.files
        self.reporter.stage(done, "writing stems", eta)


def _store_stems(
    job: Separation,
    stems: dict,
    rate: int,
    tags: dict[str, str],
    reporter: _Reporter | None = None,
) -> list[services.StemFiles]:
    """Encode and store each stem's master and preview. The bar moves through this last stage
    file by file, with the time left (a 10-minute track takes ~45 s here: the bar used to sit
    at the stage's start with no estimate)."""
    directory = job.storage_dir()
    peaks = masters.peaks(stems)
    out: list[services.StemFiles] = []
    writing = _WritingProgress(reporter, files=2 * len(stems))
    with tempfile.TemporaryDirectory(prefix="demixer-stems-") as tmp:
        for name, wav in stems.items():
            master = masters.write_master(wav, Path(tmp) / masters.master_file(name), rate, tags)
            writing.wrote_one()
            preview = masters.write_preview(wav, Path(tmp) / masters.preview_file(name), rate)
            writing.wrote_one()
            out.append(
                services.StemFiles(
                    name=name,
                    master=files.save(f"{directory}/{masters.master_file(name)}", master),
                    preview=files.save(
                        f"{directory}/preview/{masters.preview_file(name)}", preview
                    ),
                    peaks=peaks[name],
                    size=master.stat().st_size + preview.stat().st_size,
                )
            )
    return out
