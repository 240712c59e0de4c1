"""``manage.py separation_worker``: one separation worker process.

Recovers jobs a dead worker left running (at once for the one ``demixer serve`` saw die), creates
and warms a session for each quality (so no user's job pays for it), then takes jobs from the
``separation`` queue: django-tasks-db's worker loop, or with ``DEMIXER_QUEUE=rq`` an RQ worker
that runs jobs in this process (RQ's default worker forks a child per job, which would throw the
warm session away each time). A thread beside it renders downloads from the ``render`` queue.
SIGINT/SIGTERM stop it at the next chunk of the running job, which goes back to the queue.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from demixer.ops import disk
from demixer.separation import render_tasks, rq_worker, services, tasks

logger = logging.getLogger("demixer.worker")

RECOVERY_INTERVAL = 30.0


class Command(BaseCommand):
    help = "Run one separation worker (recover stale jobs, warm the models, process the queue)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", action="store_true", help="process the queue, then exit")
        parser.add_argument("--no-warm-up", action="store_false", dest="warm_up")
        parser.add_argument("--interval", type=float, default=1.0, help="idle poll, seconds")
        parser.add_argument("--queue-name", default="separation")
        parser.add_argument(
            "--worker-name",
            "--worker-id",  # its former name
            dest="worker_name",
            default=None,
            help="this worker's name on the queue (default host:pid:random); each job it takes "
            "gets a claim id of its own (services.claim_id), which is what a job row records",
        )
        parser.add_argument("--max-jobs", type=int, default=None, help="stop after N jobs")
        parser.add_argument(
            "--no-renders",
            action="store_false",
            dest="renders",
            help="leave the render queue (downloads that need encoding) to other workers",
        )
        parser.add_argument(
            "--dead-worker",
            type=int,
            metavar="PID",
            help="pid of this host's worker that just died (from `demixer serve`): its job is "
            "requeued now, not once its heartbeat is stale",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not logger.handlers and not logging.getLogger("demixer").handlers:
            logging.basicConfig(level=logging.INFO)
        tasks.shutdown_requested.clear()
        if options["dead_worker"]:
            services.recover_dead_worker(options["dead_worker"])
        requeued, failed = services.recover_stale()
        if requeued or failed:
            self.stdout.write(f"recovered stale jobs: {requeued} requeued, {failed} failed")
        if rq_worker.configured() and (lost := rq_worker.reconcile()):
            self.stdout.write(f"queued jobs missing from Redis: {lost} enqueued again")
        if options["warm_up"]:
            self.stdout.write("warming up the models…")
            seconds = tasks.warm_up_models()
            logger.info("models created and warmed up in %.1f s", seconds)
            self.stdout.write(f"models warmed up in {seconds:.1f} s")
        worker_name = options["worker_name"] or f"{services.worker_name()}:{get_random_string(8)}"
        queue_names = options["queue_name"].split(",")
        if rq_worker.configured():
            self._run_rq(queue_names, worker_name, options)
            return
        worker = Worker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name="default",
            startup_delay=False,
            max_tasks=options["max_jobs"],
            worker_id=worker_name,
            excluded_queue_names=[],
        )
        if options["batch"]:
            worker.run()
            if options["renders"]:
                render_tasks.run_batch(worker_name)
            return
        self._install_signals(worker)
        with _RecoveryLoop(), _render_thread(options, worker_name):
            self.stdout.write("separation worker ready")
            worker.run()

    def _run_rq(self, queue_names: list[str], worker_name: str, options: dict[str, Any]) -> None:
        """Take jobs from Redis; ``--batch`` is RQ's burst mode (stop when the queue is empty)."""
        worker = rq_worker.separation_worker(queue_names, worker_name)
        if options["batch"]:
            worker.work(burst=True, max_jobs=options["max_jobs"], logging_level="WARNING")
            if options["renders"]:
                render_tasks.run_batch(worker_name)
            return
        with _RecoveryLoop(), _render_thread(options, worker_name):
            self.stdout.write(f"separation worker ready (Redis queue {', '.join(queue_names)})")
            worker.work(max_jobs=options["max_jobs"], logging_level="WARNING")

    def _install_signals(self, worker: Worker) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            # the engine checks this between chunks; the job goes back to the queue
            tasks.shutdown_requested.set()
            worker.shutdown(signum, frame)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)


def _render_thread(
    options: dict[str, Any], worker_name: str
) -> render_tasks.RenderThread | contextlib.nullcontext[None]:
    """Renders run on a thread beside the separations (see ``render_tasks``), unless asked not
    to."""
    if options["renders"]:
        return render_tasks.RenderThread(worker_name)
    return contextlib.nullcontext()


class _RecoveryLoop(threading.Thread):
    """Another worker (or this one, before a restart) may die mid-job, and Redis may lose the
    deliveries of queued jobs (a restart without persistence): look every so often."""

    def __init__(self) -> None:
        super().__init__(name="stale-job-recovery", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(RECOVERY_INTERVAL):
                try:
                    disk.warn_if_low()  # the operator's log line while space is low
                    services.recover_stale()
                    if rq_worker.configured():
                        rq_worker.reconcile()
                except Exception:
                    logger.exception("job recovery failed")
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()

    def __enter__(self) -> _RecoveryLoop:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
