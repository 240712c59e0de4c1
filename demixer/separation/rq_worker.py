"""The separation worker's loop when jobs are delivered through Redis (``DEMIXER_QUEUE=rq``).

django-tasks-rq puts each ``separate_track`` call on an RQ queue; any number of workers, on any
hosts that reach the Redis server, the database and the storage, take them from there.
"""

from __future__ import annotations

from types import FrameType

from django.conf import settings
from rq import SimpleWorker

from demixer.separation import tasks


def configured() -> bool:
    """True when the default task backend is the RQ one."""
    return str(settings.TASKS["default"]["BACKEND"]).startswith("django_tasks_rq.")


class SeparationWorker(SimpleWorker):
    """Runs each job in this process, so the warm onnxruntime sessions serve every job.

    On SIGINT/SIGTERM RQ would wait for the running job to finish (up to several minutes);
    the job is told to stop at its next chunk instead, and goes back to the queue.
    """

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        tasks.shutdown_requested.set()
        super().request_stop(signum, frame)


def separation_worker(queue_names: list[str], name: str) -> SeparationWorker:
    import django_rq
    from django_tasks_rq import Job

    queues = [django_rq.get_queue(queue, job_class=Job) for queue in queue_names]
    return SeparationWorker(queues, connection=queues[0].connection, job_class=Job, name=name)
