"""Every change to a separation job goes through here; views, the API and the worker share it.

The state changes are the one job state machine's (:mod:`demixer.jobs.machine`); this module
says what a separation's row adds to them and keeps the names its callers use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from demixer.engine import registry
from demixer.engine.errors import EngineError
from demixer.engine.options import DEFAULT_OVERLAP, SeparationOptions
from demixer.jobs.machine import JobKind
from demixer.jobs.machine import claim_id as claim_id  # the worker's claims' ids
from demixer.jobs.machine import worker_name as worker_name
from demixer.ops import disk
from demixer.separation import budget, files, queue, quotas
from demixer.separation.models import ACTIVE, Quality, Separation, Status, Stem
from demixer.tracks.models import Track

logger = logging.getLogger(__name__)


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
    :class:`ModelUnavailable`, ``QuotaExceeded`` or ``StorageFull`` (nothing stored)."""
    with transaction.atomic():
        # one owner's jobs are counted and added one request at a time, so requests racing
        # each other stop exactly at the quota (see quotas.lock_owner)
        quotas.lock_owner(track.owner_id)
        existing = reusable(track, two_stems, quality, model, overlap=overlap, shifts=shifts)
        if existing is not None:
            return existing, True
        check_model(model, two_stems, quality, overlap=overlap, shifts=shifts)
        quotas.check(track.owner_id, [track.duration])  # raises QuotaExceeded, nothing stored
        # raises StorageFull when the disk has no room for what the job will write
        disk.check_room(
            budget.separation_needs(model, two_stems, track.duration, track.size, stored=True)
        )
        job = Separation.objects.create(
            track=track,
            model_name=model,
            two_stems=two_stems,
            quality=quality,
            overlap=overlap,
            shifts=shifts,
        )
        JOBS.enqueue(job.id)  # once the row is committed: no worker sees a job before its row
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


class SeparationJobs(JobKind[Separation]):
    """Separation jobs on the one state machine: what their rows add to each edge."""

    name = "separation"

    def claim_fields(self, now: datetime) -> dict[str, Any]:
        # an earlier claim's live pieces are not this one's (see pieces.py)
        return {
            "started": now,
            "stage": "starting",
            "eta_seconds": None,
            "note": "",
            "ready_seconds": 0.0,
            "live": {},
        }

    def reset_fields(self) -> dict[str, Any]:
        return {"stage": "", "eta_seconds": None, "ready_seconds": 0.0, "live": {}}

    def end_fields(self, status: str) -> dict[str, Any]:
        stage = {Status.DONE: {"stage": "done"}, Status.CANCELLED: {"stage": "cancelled"}}
        return {"eta_seconds": None, **stage.get(Status(status), {})}

    def lost_message(self, attempts: int) -> str:
        return (
            f"The worker stopped while separating this track, {attempts} times; giving up. "
            "Try uploading it again."
        )

    def queued(self) -> QuerySet[Separation]:
        return queue.fair_order()

    def refusal(self, job_id: object) -> str | None:
        """Why the disk cannot take what this queued job will write (None: it can)."""
        job = Separation.objects.select_related("track").filter(id=str(job_id)).first()
        if job is None:
            return None
        needs = budget.separation_needs(
            job.model_name, job.two_stems, job.track.duration, job.track.size, stored=True
        )
        try:
            disk.check_room(needs)
        except disk.StorageFull as exc:
            return str(exc)
        return None

    def rows(self) -> QuerySet[Separation]:
        return Separation.objects.select_related("track")


JOBS = SeparationJobs(Separation)


def claim_next(worker_id: str) -> Separation | None:
    """Claim the job the fair order puts first (:func:`queue.fair_order`), whichever job the
    delivery that called this was sent for; None when no job is queued."""
    return JOBS.claim_next(worker_id)


def refuse(job_id: str, message: str) -> bool:
    """Fail a queued job before it runs (no worker claimed it), with the reason."""
    return JOBS.refuse(job_id, message)


def claim(job_id: str, worker_id: str) -> Separation | None:
    """Move a queued job to running for this worker; None if it is not ours to run."""
    return JOBS.rows().get(id=job_id) if JOBS.claim(job_id, worker_id) else None


def run_in_default_mode(job_id: str, worker_id: str, note: str) -> None:
    """The job asked for the fast mode, which this worker's CPU refused: it runs in default
    mode, and its row says so (the quality it shows is the one its stems were made with)."""
    JOBS.record(job_id, worker_id, quality=Quality.DEFAULT, note=note[:300])


def beat(job_id: str, worker_id: str) -> None:
    """Heartbeat of the claim ``worker_id``: a worker whose job was requeued as stale and
    claimed by another must not keep the new claim looking alive."""
    JOBS.beat(job_id, worker_id)


def report(job_id: str, worker_id: str, progress: float, stage: str, eta: float | None) -> None:
    """Progress of the claim ``worker_id`` (a stale worker's late reports change nothing)."""
    JOBS.report(job_id, worker_id, progress, stage=stage, eta_seconds=eta)


def still_wanted(job_id: str, worker_id: str) -> bool:
    """False once the owner cancelled (or deleted) the job, or once another worker took it over
    (this one was taken for dead and the job requeued): the worker stops at the next chunk."""
    return JOBS.holds(job_id, worker_id)


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

    def record_stems() -> None:
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

    done = JOBS.complete(job_id, worker_id, record_stems)
    if not done and not taken_over(job_id, worker_id):
        for s in stems:
            files.default_storage.delete(s.master)
            files.default_storage.delete(s.preview)
    return done


def fail(job_id: str, worker_id: str, message: str) -> bool:
    return JOBS.fail(job_id, worker_id, message)


def requeue(job_id: str, worker_id: str, *, count_attempt: bool = False) -> bool:
    """Put a job this worker runs back in the queue (the worker is shutting down)."""
    return JOBS.requeue(job_id, worker_id, count_attempt=count_attempt)


def cancel(job: Separation) -> bool:
    """Cancel a queued or running job; a running one stops at its next chunk."""
    return JOBS.cancel(job.id)


def recover_stale(now: datetime | None = None) -> tuple[int, int]:
    """Running jobs whose worker stopped beating: requeue them once, then fail them.
    Returns (requeued, failed)."""
    return JOBS.recover_stale(now)


def recover_dead_worker(pid: int) -> tuple[int, int]:
    """Requeue (or fail, past its attempts) the job of this host's worker ``pid``, which the
    supervisor saw die. Returns (requeued, failed)."""
    return JOBS.recover_dead_worker(pid)


def forget_live_pieces(sender: object, job_id: str, **kwargs: object) -> None:
    """The ``job_ended`` receiver: whatever ended the job, no retry will replace the live pieces
    its workers published (the worker also drops its own when it stops)."""
    folder = Separation.objects.filter(id=job_id).select_related("track").first()
    if folder is not None:
        files.delete_tree(f"{folder.storage_dir()}/live")


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
