"""The worker's loop: claim a job, run it, look again; wait a little when none is queued.

The job rows are the queue (:mod:`demixer.jobs.machine` claims them), so the loop needs no queue
library: each kind gives a ``take()`` that claims its next job and runs it. With Redis
(``DEMIXER_QUEUE=rq``) separations are delivered by RQ's own worker instead; renders and other
short jobs always use this loop, on threads beside it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import close_old_connections, connection

logger = logging.getLogger("demixer.jobs")


class Loop:
    """Runs ``take()`` until stopped. ``take`` claims and runs one job and says whether there
    was one; an error it lets through is logged and the loop goes on after a pause (a database
    that went away for a moment must not end the worker)."""

    def __init__(
        self, take: Callable[[], bool], *, interval: float = 1.0, max_jobs: int | None = None
    ) -> None:
        self.take, self.interval, self.max_jobs = take, interval, max_jobs
        self.stopped = threading.Event()

    def run(self, *, batch: bool = False) -> int:
        """Run jobs until stopped (``batch``: until none is queued); returns how many ran."""
        ran = 0
        while not self.stopped.is_set():
            close_old_connections()  # a connection the database closed meanwhile
            try:
                took = self.take()
            except Exception:
                logger.exception("the job loop hit an error; going on")
                took = False
            if took:
                ran += 1
                if self.max_jobs is not None and ran >= self.max_jobs:
                    break
                continue
            if batch:
                break
            self.stopped.wait(self.interval)
        return ran

    def stop(self) -> None:
        """Take no new job (the one in hand ends as its kind decides: see the callers)."""
        self.stopped.set()


class LoopThread(threading.Thread):
    """A :class:`Loop` on a thread of the worker process (renders beside separations)."""

    def __init__(self, name: str, take: Callable[[], bool], *, interval: float, join_s: float):
        super().__init__(name=name, daemon=True)
        self.loop = Loop(take, interval=interval)
        self.join_s = join_s

    def run(self) -> None:
        try:
            self.loop.run()
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop after the job in hand (which stops at its next check once the worker has set
        its shutdown flag, and goes back to the queue)."""
        self.loop.stop()
        self.join(self.join_s)

    def __enter__(self) -> LoopThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Lane:
    """A kind of short job that every worker runs on a thread of its own beside separations
    (renders, webhook deliveries): a slow one of one kind never holds up another kind."""

    name: str
    take: Callable[[], bool]
    interval: float = 0.5
    stop_timeout: float = 20.0
    threads: int = 1


_LANES: dict[str, Lane] = {}


def register(lane: Lane) -> None:
    """Called by the app that owns the kind, at start-up (its ``AppConfig.ready``)."""
    _LANES[lane.name] = lane


def lanes(skip: Iterable[str] = ()) -> list[Lane]:
    left_out = set(skip)
    return [lane for name, lane in sorted(_LANES.items()) if name not in left_out]


def run_lanes_batch(skip: Iterable[str] = ()) -> None:
    """Run what every lane has queued, then return (the worker's ``--batch``)."""
    for lane in lanes(skip):
        Loop(lane.take).run(batch=True)


@contextmanager
def lanes_running(skip: Iterable[str] = ()) -> Iterator[list[LoopThread]]:
    """Every lane's loop on its own thread while the block runs."""
    threads = [
        LoopThread(
            f"{lane.name}-lane{f'-{i}' if i else ''}",
            lane.take,
            interval=lane.interval,
            join_s=lane.stop_timeout,
        )
        for lane in lanes(skip)
        for i in range(lane.threads)
    ]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        for thread in threads:
            thread.loop.stop()
        for thread in threads:
            thread.join(thread.join_s)
