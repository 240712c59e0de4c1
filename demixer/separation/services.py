"""Every change to a separation job goes through here; views, the API and the worker share it.

State changes are conditional updates (``filter(status=...).update(...)`` and a count check), so
two processes racing on one job cannot both win: the database decides.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from demixer.engine import registry
from demixer.engine.errors import EngineError
from demixer.engine.options import DEFAULT_OVERLAP, SeparationOptions
from demixer.separation import files, queue, quotas, signals
from demixer.separation.models import ACTIVE, Quality, Separation, Status, Stem
from demixer.tracks.models import Track

logger = logging.getLogger(__name__)


def _enqueue(separation_id: str) -> None:
    """Deliver the job once its row is committed, so no worker sees a job before its row."""
    transaction.on_commit(
        partial(signals.job_queued.send, sender=Separation, separation_id=separation_id)
    )


class ModelUnavailable(Exception):
    """The job names a model (or options) this server cannot run; ``str()`` is the message."""


def check_model(
    model: str,
    two_stems: str = "",
    quality: str = Quality.DEFAULT,
    *,
    overlap: float = DEFAULT_OVERLAP,
    shifts: int = 0,
) -> None:
    """Refuse, before anything is stored, a job whose model is unknown or not installed here,
    or whose options the model does not take (Spleeter has one quality, no overlap or shifts)."""
    spec = registry.MODELS.get(model)
    if spec is None:
        raise ModelUnavailable(
            f"Unknown model “{model}”; this server offers {', '.join(registry.MODELS)}."
        )
    if not registry.is_installed(model):
        fix = (
            "import its checkpoints again with `demixer models import`"
            if spec.origin == "import"
            else f"add it with `demixer fetch-models --model {model}`"
        )
        raise ModelUnavailable(
            f"{spec.title} is not installed on this server (its operator can {fix})."
        )
    options = SeparationOptions(
        model=model, quality=quality, overlap=overlap, shifts=shifts, two_stems=two_stems or None
    )
    try:
        options.validate()
    except EngineError as exc:
        raise ModelUnavailable(f"{spec.title}: {exc}.") from None


def start(
    track: Track,
    two_stems: str = "",
    quality: str = Quality.DEFAULT,
    model: str = registry.DEFAULT_MODEL,
    *,
    overlap: float = DEFAULT_OVERLAP,
    shifts: int = 0,
) -> tuple[Separation, bool]:
    """The job for ``track`` with these options: an existing one that is done or on its way
    (``reused`` True), or a new queued one, enqueued once the transaction commits. Raises
    :class:`ModelUnavailable` or ``QuotaExceeded`` (nothing stored)."""
    with transaction.atomic():
        # one owner's jobs are counted and added one request at a time, so requests racing
        # each other stop exactly at the quota (see quotas.lock_owner)
        quotas.lock_owner(track.owner_id)
        existing = reusable(track, two_stems, quality, model, overlap=overlap, shifts=shifts)
        if existing is not None:
            return existing, True
        check_model(model, two_stems, quality, overlap=overlap, shifts=shifts)
        quotas.check(track.owner_id, [track.duration])  # raises QuotaExceeded, nothing stored
        job = Separation.objects.create(
            track=track,
            model_name=model,
            two_stems=two_stems,
            quality=quality,
            overlap=overlap,
            shifts=shifts,
        )
        _enqueue(str(job.id))
    logger.info("job %s: queued", job.id)
    return job, False


def reusable(
    track: Track,
    two_stems: str,
    quality: str,
    model: str = registry.DEFAULT_MODEL,
    *,
    overlap: float = DEFAULT_OVERLAP,
    shifts: int = 0,
) -> Separation | None:
    """The job of ``track`` with these options (everything that changes the stems) that is
    done or on its way, if any."""
    return (
        Separation.objects.filter(
            track=track,
            status__in=[Status.DONE, *ACTIVE],
            model_name=model,
            two_stems=two_stems,
            quality=quality,
            overlap=overlap,
            shifts=shifts,
        )
        .order_by("-created")
        .first()
    )


def queue_position(job: Separation) -> int | None:
    """1 for the next job to run; None unless queued. Counts all users' jobs, shows none."""
    place = queue.place(job)
    return None if place is None else place.position


def claim_next(worker_id: str) -> Separation | None:
    """Claim the job the fair order puts first (:func:`queue.fair_order`), whichever job the
    delivery that called this was sent for; None when no job is queued."""
    while (job_id := queue.next_job_id()) is not None:
        job = claim(job_id, worker_id)
        if job is not None:
            return job
        # another worker claimed it first, or its owner cancelled it: it is no longer queued,
        # so the next look finds another job (the loop ends when the queue is empty)
    return None


def claim(job_id: str, worker_id: str) -> Separation | None:
    """Move a queued job to running for this worker; None if it is not ours to run."""
    now = timezone.now()
    claimed = Separation.objects.filter(id=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        worker_id=worker_id[:64],
        started=now,
        heartbeat=now,
        progress=0.0,
        stage="starting",
        eta_seconds=None,
        error="",
        note="",
        attempts=F("attempts") + 1,
        # an earlier claim's stretches are not this one's (see stretches.py)
        ready_seconds=0.0,
        live={},
    )
    if claimed != 1:
        return None  # cancelled, deleted, or another worker claimed it first
    logger.info("job %s: running (worker %s)", job_id, worker_id)
    return Separation.objects.select_related("track").get(id=job_id)


def run_in_default_mode(job_id: str, worker_id: str, note: str) -> None:
    """The job asked for the fast mode, which this worker's CPU refused: it runs in default
    mode, and its row says so (the quality it shows is the one its stems were made with)."""
    _claimed_by(job_id, worker_id).update(quality=Quality.DEFAULT, note=note[:300])


def beat(job_id: str, worker_id: str) -> None:
    """Heartbeat of the claim ``worker_id``: a worker whose job was requeued as stale and
    claimed by another must not keep the new claim looking alive."""
    _claimed_by(job_id, worker_id).update(heartbeat=timezone.now())


def report(job_id: str, worker_id: str, progress: float, stage: str, eta: float | None) -> None:
    """Progress of the claim ``worker_id`` (a stale worker's late reports change nothing)."""
    _claimed_by(job_id, worker_id).update(
        progress=max(0.0, min(1.0, progress)),
        stage=stage,
        eta_seconds=eta,
        heartbeat=timezone.now(),
    )


def _claimed_by(job_id: str, worker_id: str) -> QuerySet[Separation]:
    return Separation.objects.filter(id=job_id, status=Status.RUNNING, worker_id=worker_id[:64])


def still_wanted(job_id: str, worker_id: str) -> bool:
    """False once the owner cancelled (or deleted) the job, or once another worker took it over
    (this one was taken for dead and the job requeued): the worker stops at the next chunk."""
    return _claimed_by(job_id, worker_id).exists()


def taken_over(job_id: str, worker_id: str) -> bool:
    """Another worker finished or is running this job: its stem files have our paths."""
    return (
        Separation.objects.filter(id=job_id)
        .filter(Q(status=Status.DONE) | Q(status=Status.RUNNING) & ~Q(worker_id=worker_id[:64]))
        .exists()
    )


@dataclass
class StemFiles:
    name: str
    master: str
    preview: str
    peaks: list[float]
    size: int = 0  # bytes of master and preview together


def complete(job_id: str, worker_id: str, stems: list[StemFiles]) -> bool:
    """Record the stems and mark the job done; False (and the files removed, unless another
    worker's stems are at those paths) if it was cancelled, deleted or taken over meanwhile."""
    with transaction.atomic():
        done = _claimed_by(job_id, worker_id).update(
            status=Status.DONE,
            progress=1.0,
            stage="done",
            eta_seconds=None,
            finished=timezone.now(),
        )
        if done == 1:
            Stem.objects.bulk_create(
                Stem(
                    separation_id=job_id,
                    name=s.name,
                    position=i,
                    master=s.master,
                    preview=s.preview,
                    peaks=s.peaks,
                    size=s.size,
                )
                for i, s in enumerate(stems)
            )
    if done == 1:
        logger.info("job %s: done", job_id)
        signals.job_ended.send(Separation, job_id=str(job_id), status=Status.DONE)
    elif not taken_over(job_id, worker_id):
        for s in stems:
            files.default_storage.delete(s.master)
            files.default_storage.delete(s.preview)
    return done == 1


def fail(job_id: str, worker_id: str, message: str) -> bool:
    failed = (
        _claimed_by(job_id, worker_id).update(
            status=Status.FAILED, error=message[:1000], finished=timezone.now(), eta_seconds=None
        )
        == 1
    )
    if failed:
        logger.info("job %s: failed: %s", job_id, message[:200])
        signals.job_ended.send(Separation, job_id=str(job_id), status=Status.FAILED)
    return failed


def requeue(job_id: str, worker_id: str, *, count_attempt: bool = False) -> bool:
    """Put a job this worker runs back in the queue (the worker is shutting down)."""
    changes: dict[str, object] = {
        "status": Status.QUEUED,
        "progress": 0.0,
        "stage": "",
        "eta_seconds": None,
        "worker_id": "",
        "heartbeat": None,
        "ready_seconds": 0.0,  # the stretches published so far were this claim's
        "live": {},
    }
    if not count_attempt:
        changes["attempts"] = F("attempts") - 1
    with transaction.atomic():
        moved = _claimed_by(job_id, worker_id).update(**changes)
        if moved == 1:
            _enqueue(job_id)
            logger.info("job %s: requeued", job_id)
    return moved == 1


def cancel(job: Separation) -> bool:
    """Cancel a queued or running job; a running one stops at its next chunk."""
    cancelled = Separation.objects.filter(id=job.id, status__in=ACTIVE).update(
        status=Status.CANCELLED, finished=timezone.now(), eta_seconds=None, stage="cancelled"
    )
    if cancelled == 1:
        logger.info("job %s: cancelled", job.id)
        signals.job_ended.send(Separation, job_id=str(job.id), status=Status.CANCELLED)
    return cancelled == 1


def recover_stale(now: datetime | None = None) -> tuple[int, int]:
    """Running jobs whose worker stopped beating: requeue them once, then fail them.

    Returns (requeued, failed). Safe to run from several workers: each change is conditional
    on the row still being running with the stale heartbeat it was read with.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SEPARATION_STALE_SECONDS)
    requeued = failed = 0
    stale = Separation.objects.filter(status=Status.RUNNING, heartbeat__lt=cutoff) | (
        Separation.objects.filter(status=Status.RUNNING, heartbeat__isnull=True)
    )
    for job in stale.only("id", "attempts", "heartbeat"):
        same = Separation.objects.filter(id=job.id, status=Status.RUNNING, heartbeat=job.heartbeat)
        if job.attempts < settings.SEPARATION_MAX_ATTEMPTS:
            with transaction.atomic():
                if same.update(
                    status=Status.QUEUED,
                    progress=0.0,
                    stage="",
                    eta_seconds=None,
                    worker_id="",
                    heartbeat=None,
                    ready_seconds=0.0,
                    live={},
                ):
                    _enqueue(str(job.id))
                    logger.info("job %s: requeued (its worker stopped beating)", job.id)
                    requeued += 1
        elif same.update(
            status=Status.FAILED, error=_gave_up(job.attempts), finished=now, eta_seconds=None
        ):
            logger.info("job %s: failed (its worker stopped beating, out of attempts)", job.id)
            signals.job_ended.send(Separation, job_id=str(job.id), status=Status.FAILED)
            # the stretches its dead worker published: no retry will replace them now
            files.delete_tree(f"{Separation.objects.get(id=job.id).storage_dir()}/live")
            failed += 1
    if requeued or failed:
        logger.warning("stale jobs: %d requeued, %d failed", requeued, failed)
    return requeued, failed


def _gave_up(attempts: int) -> str:
    return (
        f"The worker stopped while separating this track, {attempts} times; giving up. "
        "Try uploading it again."
    )


def worker_name(pid: int | None = None) -> str:
    """``host:pid`` of a worker process (this one by default): the start of its claims' ids."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def claim_id() -> str:
    """A new claim's worker id: this process's name (cut to fit) and a token of its own."""
    return f"{worker_name()[:55]}:{secrets.token_hex(4)}"


def recover_dead_worker(pid: int) -> tuple[int, int]:
    """Requeue the job of this host's worker ``pid``, which the supervisor saw die, or fail it
    past its attempts, as :func:`recover_stale` would once its heartbeat went stale. Its claim
    is recognised by the id :func:`claim_id` gave it, so no other worker's job can be taken;
    called before the new worker claims anything, so a reused pid does not matter either.
    Returns (requeued, failed)."""
    name = worker_name(pid)
    if len(name) > 55:  # claim_id cuts the name there: the pid may be cut off
        return 0, 0
    requeued = failed = 0
    jobs = Separation.objects.filter(status=Status.RUNNING, worker_id__startswith=f"{name}:")
    for job in jobs.only("id", "attempts", "worker_id"):
        job_id = str(job.id)
        if job.attempts < settings.SEPARATION_MAX_ATTEMPTS:
            if requeue(job_id, job.worker_id, count_attempt=True):
                logger.warning("requeued job %s of dead worker %s", job_id, name)
                requeued += 1
        elif fail(job_id, job.worker_id, _gave_up(job.attempts)):
            logger.warning("failed job %s of dead worker %s: out of attempts", job_id, name)
            failed += 1
    return requeued, failed


def delete_separation_files(job: Separation) -> None:
    files.delete_tree(job.storage_dir())


def delete_separation(job: Separation) -> None:
    """Delete one job (its stems, renders and files; the track stays); a running job stops at
    its next chunk."""
    cancel(job)
    folder = job.storage_dir()  # before delete(), which clears the id
    job.delete()
    files.delete_tree(folder)


def delete_track(track: Track) -> None:
    """Delete a track, its jobs, stems and every file; a running job stops at its next chunk."""
    jobs = list(track.separations.all())
    for job in jobs:
        cancel(job)
    original = track.original.name
    track.delete()
    for job in jobs:
        delete_separation_files(job)
    if original:
        files.default_storage.delete(original)
        files.delete_tree(original.rsplit("/", 1)[0])
