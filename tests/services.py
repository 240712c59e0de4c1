"""Where the scaled-out tests find PostgreSQL and Redis: one namespace per test process.

``make test`` runs the suite in parallel processes (pytest-xdist). Each process, and every child
pytest it starts (which inherits ``PYTEST_XDIST_WORKER``), gets its own PostgreSQL database and
its own Redis databases, so one process's ``flushdb`` or test database never meets another's.
"""

from __future__ import annotations

import os


def worker_number() -> int:
    """0 for ``gw0`` or a run without xdist, 1 for ``gw1``..."""
    name = os.getenv("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0


def _redis(db: int) -> str:
    if not 0 <= db < 16:  # Redis's default number of databases
        raise RuntimeError(f"too many test processes for one Redis: database {db}")
    return f"redis://127.0.0.1:6379/{db}"


N = worker_number()
PG_URL = os.getenv(
    "DEMIXER_TEST_POSTGRES_URL", f"postgres://postgres@127.0.0.1:5432/demixer{N or ''}"
)
REDIS_URL = os.getenv("DEMIXER_TEST_REDIS_URL", _redis(15 - 2 * N))  # the job queues
CACHE_REDIS_URL = os.getenv("DEMIXER_TEST_CACHE_REDIS_URL", _redis(14 - 2 * N))  # the cache
