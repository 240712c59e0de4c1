"""The separation worker's loop when jobs are delivered through Redis (``DEMIXER_QUEUE=rq``).

django-tasks-rq puts each ``separate_track`` call on an RQ queue; any number of workers, on any
hosts that reach the Redis server, the database and the storage, take them from there.
"""

from __future__ import annotations

import contextlib
import logging
from types import FrameType

from redis.exceptions import LockError
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from demixer.separation import tasks
from demixer.separation.models import Separation, Status

logger = logging.getLogger(__name__)

# one reconciler at a time, whichever worker gets there first; held at most this long
RECONCILE_LOCK = "demixer:reconcile-separation-queue"
RECONCILE_LOCK_SECONDS = 60


configured = tasks.delivered_by_redis


class SeparationWorker(SimpleWorker):
    """Runs each job in this process, so the warm onnxruntime sessions serve every job.

    On SIGINT/SIGTERM RQ would wait for the running job to finish (up to several minutes);
    the job is told to stop at its next chunk instead, and goes back to the queue.
    """

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        tasks.shutdown_requested.set()
        super().request_stop(signum, frame)

    def unsubscribe(self) -> None:
        """RQ's command listener (a pub/sub thread that reads with a 60 s timeout) is told to
        stop before RQ unsubscribes. In RQ's order (unsubscribe, then ``stop()``, which in
        redis-py 8.2 waits for the thread) a thread that had already read its unsubscribe
        confirmation goes back to wait for a subscription for 60 s, and the worker's exit waits
        with it: a 60 s pause at the end of a burst, and a shutdown that a supervisor's kill
        timeout could cut short. With its flag cleared first, the confirmation ends it."""
        if self.pubsub_thread:
            self.pubsub_thread.stop(timeout=0)  # clears the flag; returns at once
        super().unsubscribe()


def separation_worker(queue_names: list[str], name: str) -> SeparationWorker:
    import django_rq
    from django_tasks_rq import Job

    queues = [django_rq.get_queue(queue, job_class=Job) for queue in queue_names]
    return SeparationWorker(queues, connection=queues[0].connection, job_class=Job, name=name)


def reconcile() -> int:
    """Deliver again the queued jobs whose delivery Redis lost (restarted without persistence,
    flushed, evicted); returns how many were enqueued. Idempotent, one worker at a time.

    A delivery runs one queued job (the one it names; with fair ordering, the first in line),
    so jobs are missing when fewer deliveries wait than jobs are queued in the database. Those
    enqueued again are the oldest queued jobs that no delivery (waiting, scheduled or just
    started) names. A delivery left by a cancelled job counts until a worker takes it, so a lost
    job may wait one pass longer. The database is read first: a job queued meanwhile is at
    worst delivered twice, which is harmless (the second delivery finds it claimed).
    """
    import django_rq
    from django_tasks_rq import Job

    queued = [
        str(job_id)
        for job_id in Separation.objects.filter(status=Status.QUEUED)
        .order_by("created")
        .values_list("id", flat=True)
    ]
    queue = django_rq.get_queue(tasks.separate_track.queue_name, job_class=Job)
    lock = queue.connection.lock(RECONCILE_LOCK, timeout=RECONCILE_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return 0  # another worker is at it
    try:
        waiting = _deliveries(
            queue,
            queue.get_job_ids() + ScheduledJobRegistry(queue=queue).get_job_ids(cleanup=False),
        )
        started = _deliveries(queue, StartedJobRegistry(queue=queue).get_job_ids(cleanup=False))
        named = set(waiting) | set(started)
        missing = [job_id for job_id in queued if job_id not in named]
        again = missing[: max(0, len(queued) - len(waiting))]
        for job_id in again:
            tasks.separate_track.enqueue(job_id)
            logger.info("job %s: requeued (its delivery was missing from Redis)", job_id)
        return len(again)
    finally:
        with contextlib.suppress(LockError):  # held past its timeout: it expired on its own
            lock.release()


def _deliveries(queue: Queue, delivery_ids: list[str]) -> list[str]:
    """The separation id each of these RQ deliveries names (those gone meanwhile left out)."""
    from django_tasks_rq import Job

    named = []
    for delivery in Job.fetch_many(delivery_ids, queue.connection, serializer=queue.serializer):
        if delivery is not None and delivery.args:
            named.append(str(delivery.args[0]))
    return named
