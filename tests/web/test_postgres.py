"""The core flow again on PostgreSQL: the worker tests run in a child pytest whose
DATABASE_URL points at the local server. Skipped, with the reason, when it is unreachable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import PG_URL

ROOT = Path(__file__).resolve().parents[2]


def postgres_unreachable() -> str | None:
    if os.getenv("DATABASE_URL", "").startswith("postgres"):
        return "this whole run is on PostgreSQL already"
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    server = PG_URL.rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(server, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {server} is unreachable: {str(exc).strip().splitlines()[0]}"
    return None


@pytest.mark.model
@pytest.mark.slow
def test_core_flow_on_postgresql() -> None:
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "DATABASE_URL": PG_URL}
    selected = "core_flow or cancel_a_running_job or killed_worker or died_twice"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/web/test_worker.py",
            "-k",
            selected,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "4 passed" in run.stdout


@pytest.mark.slow
def test_users_take_turns_on_postgresql() -> None:
    """The fair order (window functions, NULLS FIRST) and the claims on PostgreSQL."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    selected = "hold_up or position_shown or requeued or cancelled_job"
    tests = ["tests/web/test_fairness.py", "-k", selected]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": PG_URL},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "6 passed" in run.stdout
