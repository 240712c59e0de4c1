"""``manage.py separation_worker``: one separation worker process.

Recovers jobs a dead worker left running (at once for the one ``demixer serve`` saw die), creates
and warms a session for each quality (so no user's job pays for it), then runs jobs: its own loop
over the queued rows (:mod:`demixer.jobs.loop`), or with ``DEMIXER_QUEUE=rq`` an RQ worker that
runs the deliveries in this process (RQ's default worker forks a child per job, which would throw
the warm session away each time). A thread beside it renders downloads (their own loop).
SIGINT/SIGTERM stop it at the next chunk of the running job, which goes back to the queue.
"""

from __future__ import annotations

import logging
import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection
from django.utils.crypto import get_random_string

from demixer.jobs import loop as lanes
from demixer.jobs import machine
from demixer.jobs.loop import Loop
from demixer.ops import disk
from demixer.separation import rq_worker, services, tasks

logger = logging.getLogger("demixer.worker")

RECOVERY_INTERVAL = 30.0


class Command(BaseCommand):
    help = "Run one separation worker (recover stale jobs, warm the models, process the queue)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", action="store_true", help="process the queue, then exit")
        parser.add_argument("--no-warm-up", action="store_false", dest="warm_up")
        parser.add_argument("--interval", type=float, default=1.0, help="idle poll, seconds")
        parser.add_argument(
            "--queue-name", default="separation", help="the Redis queue(s) (DEMIXER_QUEUE=rq)"
        )
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
            for kind in machine.kinds():
                kind.recover_dead_worker(options["dead_worker"])
        requeued, failed = services.recover_stale()
        for kind in machine.kinds():
            if kind is not services.JOBS:
                kind.recover_stale()
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
        loop = Loop(tasks.take_next, interval=options["interval"], max_jobs=options["max_jobs"])
        if options["batch"]:
            loop.run(batch=True)
            lanes.run_lanes_batch(_skipped(options))
            return
        self._install_signals(loop)
        with _RecoveryLoop(), lanes.lanes_running(_skipped(options)):
            self.stdout.write("separation worker ready")
            loop.run()

    def _run_rq(self, queue_names: list[str], worker_name: str, options: dict[str, Any]) -> None:
        """Take jobs from Redis; ``--batch`` is RQ's burst mode (stop when the queue is empty)."""
        worker = rq_worker.separation_worker(queue_names, worker_name)
        if options["batch"]:
            worker.work(burst=True, max_jobs=options["max_jobs"], logging_level="WARNING")
            lanes.run_lanes_batch(_skipped(options))
            return
        with _RecoveryLoop(), lanes.lanes_running(_skipped(options)):
            self.stdout.write(f"separation worker ready (Redis queue {', '.join(queue_names)})")
            worker.work(max_jobs=options["max_jobs"], logging_level="WARNING")

    def _install_signals(self, loop: Loop) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            # the engine checks this between chunks; the job goes back to the queue
            tasks.shutdown_requested.set()
            loop.stop()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)


def _skipped(options: dict[str, Any]) -> list[str]:
    """The lanes (short jobs on threads beside separations: renders, webhooks) this worker
    leaves to others."""
    return [] if options["renders"] else ["render"]


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
                    for kind in machine.kinds():
                        kind.recover_stale()
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
