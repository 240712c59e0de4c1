"""One state machine for every kind of claimable work.

A job row moves queued → running (a claim) → done | failed | cancelled, and from running back to
queued when its worker stops, or stops beating (stale recovery), or dies under the supervisor.
Each edge is written once, here, as a conditional ``update()`` on the row — its id, the state it
must be in and, for a running job, the claim id that holds it — so two processes racing on one
job cannot both win: the database decides, and a worker that was taken for dead changes nothing
with its late reports. Whatever path ends a job (its worker, its owner, stale recovery, a dead
worker's recovery), :data:`~demixer.jobs.signals.job_ended` fires after the row says so, and a
job that enters the queue (new or put back) sends :data:`~demixer.jobs.signals.job_queued` once
the transaction commits; kinds hook their side effects there, never in the callers.

Kinds (:class:`JobKind` subclasses) say only which row they use and which of its fields a claim
sets, a return to the queue resets and an end writes besides the common ones.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from demixer.jobs.signals import job_ended, job_queued
from demixer.jobs.status import ACTIVE, Status

logger = logging.getLogger("demixer.jobs")

CLAIM_LENGTH = 64  # the rows' worker_id column


class JobKind[M: models.Model]:
    """The transitions of one kind of job row. The row has ``status``, ``worker_id``,
    ``heartbeat``, ``progress``, ``attempts``, ``error``, ``created`` and ``finished``."""

    name = "job"
    error_length = 1000

    def __init__(self, model: type[M]) -> None:
        self.model = model
        _KINDS.append(self)

    # what differs between kinds -------------------------------------------------------------

    def claim_fields(self, now: datetime) -> dict[str, Any]:
        """Fields a claim sets besides the common ones."""
        return {}

    def reset_fields(self) -> dict[str, Any]:
        """Fields reset when the job goes back to the queue (what the last claim left)."""
        return {}

    def end_fields(self, status: str) -> dict[str, Any]:
        """Fields written when the job ends with ``status``."""
        return {}

    def lost_message(self, attempts: int) -> str:
        """The error of a job whose workers died ``attempts`` times."""
        return f"The worker stopped while running this job, {attempts} times; giving up."

    def refusal(self, job_id: object) -> str | None:
        """Why this queued job cannot run here now (None: it can): such a job is failed with
        the reason before anyone claims it (e.g. the disk cannot take what it will write)."""
        return None

    def queued(self) -> QuerySet[M]:
        """Queued jobs, the next to run first (the fair order, for kinds that have one)."""
        return self.rows().filter(status=Status.QUEUED).order_by("created")

    def rows(self) -> QuerySet[M]:
        """Every row of the kind, with what its runs read alongside (``select_related``)."""
        return self.model._default_manager.all()

    # the edges ------------------------------------------------------------------------------

    def claim(self, job_id: object, worker_id: str) -> bool:
        """queued → running for the claim ``worker_id``; False if the job is not queued
        (cancelled, deleted, or another worker claimed it first)."""
        now = timezone.now()
        claimed = self._rows(job_id, Status.QUEUED).update(
            status=Status.RUNNING,
            worker_id=worker_id[:CLAIM_LENGTH],
            heartbeat=now,
            progress=0.0,
            error="",
            attempts=F("attempts") + 1,
            **self.claim_fields(now),
        )
        if claimed == 1:
            logger.info("%s %s: running (claim %s)", self.name, job_id, worker_id)
        return claimed == 1

    def claim_next(self, worker_id: str) -> M | None:
        """Claim the first queued job; None when none is queued."""
        while (job_id := self.queued().values_list("id", flat=True).first()) is not None:
            if (why := self.refusal(job_id)) is not None:
                # failed now with the reason rather than run into it; this look was the job's
                # (with Redis, there are never fewer deliveries than queued jobs)
                if self.refuse(job_id, why):
                    return None
                continue
            if self.claim(job_id, worker_id):
                return self.rows().get(id=job_id)
            # another worker claimed it first, or its owner cancelled it: it is no longer
            # queued, so the next look finds another job (the loop ends when none is queued)
        return None

    def refuse(self, job_id: object, message: str) -> bool:
        """queued → failed before any worker claimed it, with the reason."""
        return self._end(self._rows(job_id, Status.QUEUED), job_id, Status.FAILED, error=message)

    def claimed_by(self, job_id: object, worker_id: str) -> QuerySet[M]:
        """The row while the claim ``worker_id`` holds it (else nothing)."""
        return self._rows(job_id, Status.RUNNING).filter(worker_id=worker_id[:CLAIM_LENGTH])

    def holds(self, job_id: object, worker_id: str) -> bool:
        """False once the job was cancelled, deleted, or taken over by another claim."""
        return self.claimed_by(job_id, worker_id).exists()

    def beat(self, job_id: object, worker_id: str) -> bool:
        """The claim's worker lives (a stale claim's beats keep nothing alive)."""
        return self.claimed_by(job_id, worker_id).update(heartbeat=timezone.now()) == 1

    def report(self, job_id: object, worker_id: str, progress: float, **fields: Any) -> bool:
        """Progress (0..1, clamped) and the kind's other progress fields; beats too."""
        return (
            self.claimed_by(job_id, worker_id).update(
                progress=max(0.0, min(1.0, progress)), heartbeat=timezone.now(), **fields
            )
            == 1
        )

    def record(self, job_id: object, worker_id: str, **fields: Any) -> bool:
        """Fields of a running job that are neither progress nor state (a note, live pieces)."""
        return self.claimed_by(job_id, worker_id).update(**fields) == 1

    def complete(
        self, job_id: object, worker_id: str, results: Callable[[], None] | None = None
    ) -> bool:
        """running → done; ``results()`` stores the job's results in the same transaction, so
        a done job always has them. False if the claim no longer holds the job."""
        with transaction.atomic():
            done = self._end(
                self.claimed_by(job_id, worker_id), job_id, Status.DONE, progress=1.0, signal=False
            )
            if done and results is not None:
                results()
        if done:
            self._ended(job_id, Status.DONE)
        return done

    def fail(self, job_id: object, worker_id: str, message: str) -> bool:
        """running → failed with one readable sentence for the user."""
        return self._end(self.claimed_by(job_id, worker_id), job_id, Status.FAILED, error=message)

    def requeue(self, job_id: object, worker_id: str, *, count_attempt: bool = False) -> bool:
        """running → queued: the worker is stopping (the attempt does not count) or died
        (``count_attempt``: it counts towards the kind's limit)."""
        return self._enter_queue(
            self.claimed_by(job_id, worker_id), job_id, undo_attempt=not count_attempt
        )

    def retry(self, job_id: object, status: str) -> bool:
        """failed or done → queued: asked for again (a failed job, or a result that is gone)."""
        return self._enter_queue(self._rows(job_id, status), job_id, undo_attempt=False)

    def cancel(self, job_id: object) -> bool:
        """queued or running → cancelled (a running job stops at its next check)."""
        rows = self.rows().filter(id=job_id, status__in=ACTIVE)
        return self._end(rows, job_id, Status.CANCELLED)

    def recover_stale(
        self, now: datetime | None = None, ids: Iterable[object] | None = None
    ) -> tuple[int, int]:
        """Running jobs whose worker stopped beating: back to the queue while they have
        attempts left, else failed. Returns (requeued, failed). Safe from several workers:
        each change holds only while the row is as it was read (same claim, same heartbeat)."""
        cutoff = (now or timezone.now()) - timedelta(seconds=settings.SEPARATION_STALE_SECONDS)
        stale = (
            self.rows()
            .filter(status=Status.RUNNING)
            .filter(Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True))
        )
        if ids is not None:
            stale = stale.filter(id__in=list(ids))
        return self._recover(stale, "its worker stopped beating")

    def recover_dead_worker(self, pid: int) -> tuple[int, int]:
        """The jobs of this host's worker ``pid``, which the supervisor saw die: recovered at
        once rather than once their heartbeat is stale. Claims are recognised by the prefix
        :func:`claim_id` gave them, so no other worker's job is taken; called before the new
        worker claims anything, so a reused pid does not matter either."""
        name = worker_name(pid)
        if len(name) > CLAIM_PREFIX:  # claim_id cuts the name there: the pid may be cut off
            return 0, 0
        rows = self.rows().filter(status=Status.RUNNING, worker_id__startswith=f"{name}:")
        return self._recover(rows, f"its worker {name} died")

    # the two ways a row changes state -------------------------------------------------------

    def _rows(self, job_id: object, status: str) -> QuerySet[M]:
        return self.model._default_manager.filter(id=job_id, status=status)

    def _recover(self, rows: QuerySet[M], why: str) -> tuple[int, int]:
        requeued = failed = 0
        for job_id, worker, beat, attempts in rows.values_list(
            "id", "worker_id", "heartbeat", "attempts"
        ):
            same = self.claimed_by(job_id, worker).filter(heartbeat=beat)
            if attempts < settings.SEPARATION_MAX_ATTEMPTS:
                requeued += self._enter_queue(same, job_id, undo_attempt=False)
            else:
                failed += self._end(same, job_id, Status.FAILED, error=self.lost_message(attempts))
        if requeued or failed:
            logger.warning("%s: %s: %d requeued, %d failed", self.name, why, requeued, failed)
        return requeued, failed

    def _enter_queue(self, rows: QuerySet[M], job_id: object, *, undo_attempt: bool) -> bool:
        changes: dict[str, Any] = {
            "status": Status.QUEUED,
            "progress": 0.0,
            "worker_id": "",
            "heartbeat": None,
            **self.reset_fields(),
        }
        if undo_attempt:
            changes["attempts"] = F("attempts") - 1
        with transaction.atomic():
            moved = rows.update(**changes) == 1
            if moved:
                transaction.on_commit(
                    partial(job_queued.send, sender=self.model, job_id=str(job_id))
                )
        if moved:
            logger.info("%s %s: queued again", self.name, job_id)
        return moved

    def _end(
        self, rows: QuerySet[M], job_id: object, status: str, *, signal: bool = True, **fields: Any
    ) -> bool:
        if "error" in fields:
            fields["error"] = str(fields["error"])[: self.error_length]
        ended = rows.update(
            status=status, finished=timezone.now(), **self.end_fields(status), **fields
        )
        if ended == 1:
            detail = f": {fields['error'][:200]}" if fields.get("error") else ""
            logger.info("%s %s: %s%s", self.name, job_id, status, detail)
            if signal:
                self._ended(job_id, status)
        return ended == 1

    def _ended(self, job_id: object, status: str) -> None:
        job_ended.send(sender=self.model, job_id=str(job_id), status=status)

    def enqueue(self, job_id: object) -> None:
        """A new row was saved queued: deliver it once the transaction commits."""
        logger.info("%s %s: queued", self.name, job_id)
        transaction.on_commit(partial(job_queued.send, sender=self.model, job_id=str(job_id)))


CLAIM_PREFIX = 55  # the worker's name in a claim id, cut to leave room for its token
_KINDS: list[JobKind[Any]] = []


def kinds() -> list[JobKind[Any]]:
    """Every kind defined (by the apps, at start-up): what the workers' recovery goes over."""
    return list(_KINDS)


def worker_name(pid: int | None = None) -> str:
    """``host:pid`` of a worker process (this one by default): the start of its claims' ids."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def claim_id() -> str:
    """A new claim's id: this process's name (cut to fit) and a token of its own, so a worker
    whose job was requeued as stale is told apart from the one that claims it next."""
    return f"{worker_name()[:CLAIM_PREFIX]}:{secrets.token_hex(4)}"
