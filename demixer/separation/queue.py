"""The order queued jobs run in, and what a waiting user is told about it.

Users take turns (round robin): a user's second job waits until every other user with a job
waiting has had one started. Within one round, users go in the order of their last turn (the
newest ``started`` of any of their jobs; never served first), so a user who just had a job
started goes last, and the rounds keep that order, which makes a position shown now the order
the workers will really take. A job that was already running once and was put back (its worker
stopped or died) goes before all others: it had its turn.

Round robin rather than fair share by recent usage: it needs no usage window to tune, a light
user is never stuck behind a heavy one for longer than one job per other user, and a heavy
user is never starved while others keep the queue busy. The per-user quotas
(:mod:`demixer.separation.quotas`) bound how much one user can queue and separate per day.

:func:`fair_order` is the one ordering: the worker claims its first job
(:func:`demixer.separation.services.claim_next`) and :func:`place` counts the jobs before one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, F, IntegerField, Max, Min, OuterRef, QuerySet, Subquery, When
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from demixer.separation.models import Separation, Status

RTF_SAMPLE = 20  # recent finished jobs whose speed estimates the wait
# a running job's worker beats every 10 s (``tasks.HEARTBEAT_INTERVAL``); three missed beats
# and it may be dead (it is requeued once the heartbeat is DEMIXER_STALE_SECONDS old)
SILENT_SECONDS = 30


def fair_order() -> QuerySet[Separation]:
    """Queued jobs, the next one to run first."""
    owner = F("track__owner")
    last_turn = (
        Separation.objects.filter(track__owner=OuterRef("track__owner"), started__isnull=False)
        .values("track__owner")
        .annotate(latest=Max("started"))
        .values("latest")
    )
    return (
        Separation.objects.filter(status=Status.QUEUED)
        .annotate(
            # started once already, then put back: its worker stopped or died
            resumed=Case(
                When(started__isnull=False, then=0), default=1, output_field=IntegerField()
            ),
            round=Window(RowNumber(), partition_by=owner, order_by=(F("created"), F("id"))),
            last_turn=Subquery(last_turn),
            first_waiting=Window(Min("created"), partition_by=owner),
        )
        .order_by(
            "resumed",
            "round",
            F("last_turn").asc(nulls_first=True),
            "first_waiting",
            owner.asc(),
            "created",
            "id",
        )
    )


def next_job_id() -> str | None:
    """The id of the job the fair order puts first, if any is queued."""
    first = fair_order().values_list("id", flat=True).first()
    return None if first is None else str(first)


def worker_silent(job: Separation, now: datetime | None = None) -> bool:
    """True for a running job whose worker has not beaten for a while."""
    if job.status != Status.RUNNING or job.heartbeat is None:
        return False
    return job.heartbeat < (now or timezone.now()) - timedelta(seconds=SILENT_SECONDS)


@dataclass(frozen=True)
class Place:
    """Where a queued job stands: 1 for the next to run; about how many seconds until it
    starts, None while there is nothing recent to measure the speed by."""

    position: int
    wait_seconds: int | None


def place(job: Separation) -> Place | None:
    """The job's place in :func:`fair_order`; None unless it is queued. It counts every user's
    jobs and shows none of them."""
    if job.status != Status.QUEUED:
        return None
    ahead: list[float] = []
    for job_id, duration in fair_order().values_list("id", "track__duration"):
        if job_id == job.id:
            wait = wait_estimate(ahead)
            return Place(len(ahead) + 1, None if wait is None else round(wait))
        ahead.append(duration)
    return None  # claimed or cancelled since it was read


def seconds_per_audio_second() -> float | None:
    """The real-time factor of the last finished jobs (wall time from claim to stems stored,
    over audio duration); None when there are none."""
    recent = (
        Separation.objects.filter(
            status=Status.DONE, started__isnull=False, finished__isnull=False, track__duration__gt=0
        )
        .order_by("-finished")
        .values_list("started", "finished", "track__duration")[:RTF_SAMPLE]
    )
    wall = audio = 0.0
    for started, finished, duration in recent:
        if started is None or finished is None:  # filtered out above; the row type allows it
            continue
        wall += max(0.0, (finished - started).total_seconds())
        audio += duration
    return wall / audio if audio > 0 and wall > 0 else None


def wait_estimate(durations_ahead: list[float]) -> float | None:
    """Seconds until a job starts: what the running jobs have left plus the jobs ahead of it
    at the recent speed, shared among the workers now busy (at least one)."""
    rtf = seconds_per_audio_second()
    if rtf is None:
        return None
    running = Separation.objects.filter(status=Status.RUNNING).values_list(
        "eta_seconds", "progress", "track__duration"
    )
    left = 0.0
    workers = 0
    for eta, progress, duration in running:
        workers += 1
        left += eta if eta is not None else max(0.0, 1.0 - progress) * duration * rtf
    return (left + sum(durations_ahead) * rtf) / max(1, workers)


def job_status(job: Separation) -> dict[str, object]:
    """Where a job is, as the job page's polling and the API both show it (each adds its URLs)."""
    place_now = place(job)
    # a worker that stopped beating may be dead: its last estimate is no longer true
    silent = worker_silent(job)
    return {
        "id": str(job.id),
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": round(job.progress, 4),
        "percent": int(job.progress * 100),
        "stage": "worker not responding" if silent else job.stage,
        "eta_seconds": None if silent or job.eta_seconds is None else round(job.eta_seconds),
        "queue_position": None if place_now is None else place_now.position,
        "wait_seconds": None if place_now is None else place_now.wait_seconds,
        "error": job.error,
        "note": job.note,
    }
