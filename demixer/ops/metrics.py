"""Prometheus metrics: request latency, jobs by state, queue depth, separation time and speed.

Job figures are read from the database (and the queue) when Prometheus scrapes, so every web
process and host gives the same answer and nothing has to be counted where jobs finish (in
worker processes nobody scrapes). Request latency is counted in each web process; with several
(``DEMIXER_WEB_WORKERS`` > 1) prometheus-client's multiprocess mode sums them: set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder, cleared before each start.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Sequence

from django.conf import settings
from django.db.models import Count
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from demixer.ops import disk
from demixer.separation.models import Separation, Status

REQUEST_SECONDS = Histogram(
    "demixer_request_duration_seconds",
    "Time to answer a request, by view (URL name), method and status class",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SEPARATION_SECONDS_BUCKETS = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
REALTIME_FACTOR_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


class JobMetrics:
    """A prometheus-client collector that reads the Separation rows at each scrape."""

    def collect(self) -> Iterator[Metric]:
        yield self._jobs_by_state()
        depth = queue_depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "demixer_queue_depth", "Deliveries waiting in the job queue", value=depth
            )
        yield from finished_job_histograms()
        yield from disk.metric_families()

    def _jobs_by_state(self) -> GaugeMetricFamily:
        counts = dict(Separation.objects.order_by().values_list("status").annotate(n=Count("id")))
        jobs = GaugeMetricFamily("demixer_jobs", "Separation jobs by state", labels=["state"])
        for state in Status.values:
            jobs.add_metric([state], counts.get(state, 0))
        return jobs


def queue_depth() -> int | None:
    """Deliveries waiting to be taken: the Redis queue's length, or (the rows being the queue)
    the queued separations; None when the queue cannot be reached (the scrape goes on)."""
    if settings.QUEUE == "rq":
        import redis
        from rq import Queue

        # the job rows, read when scraped (ops sits below the job apps)
        from demixer.ops.health import redis_client

        try:
            with redis_client() as client:
                return Queue("separation", connection=client).count
        except redis.RedisError:
            return None
    # the job rows, read when scraped (ops sits below the job apps)
    from demixer.separation.models import Separation, Status

    return Separation.objects.filter(status=Status.QUEUED).count()


def finished_job_histograms() -> Iterator[HistogramMetricFamily]:
    """Wall time from claim to stems stored, and that over the track's duration (the real-time
    factor), of every finished job. One pass over the done rows' three columns per scrape."""
    seconds: list[float] = []
    factors: list[float] = []
    rows = Separation.objects.filter(
        status=Status.DONE, started__isnull=False, finished__isnull=False
    ).values_list("started", "finished", "track__duration")
    for started, finished, duration in rows.iterator(chunk_size=2000):
        if started is None or finished is None:  # filtered out above; the row type allows it
            continue
        wall = max(0.0, (finished - started).total_seconds())
        seconds.append(wall)
        if duration and duration > 0:
            factors.append(wall / duration)
    yield _histogram(
        "demixer_separation_seconds",
        "Wall time of finished separations, from claim to stems stored",
        seconds,
        SEPARATION_SECONDS_BUCKETS,
    )
    yield _histogram(
        "demixer_separation_realtime_factor",
        "Wall time of finished separations over the track's duration",
        factors,
        REALTIME_FACTOR_BUCKETS,
    )


def _histogram(
    name: str, documentation: str, values: list[float], bounds: Sequence[float]
) -> HistogramMetricFamily:
    ordered = sorted(values)
    buckets = [(str(float(bound)), bisect.bisect_right(ordered, bound)) for bound in bounds]
    buckets.append(("+Inf", len(ordered)))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=sum(values))


def exposition() -> bytes:
    """Everything, in Prometheus' text format."""
    registry = CollectorRegistry()
    registry.register(JobMetrics())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry.register(MultiProcessCollector(None))
    else:
        registry.register(REGISTRY)  # this process's request latency, CPU and memory
    return generate_latest(registry)
