"""``demixer serve``'s process handling and the settings' safe defaults (child processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    out = Path(sys.argv[1])
    def stop(signum, frame):
        out.write_text(signal.Signals(signum).name)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    Path(str(out) + ".ready").write_text("ready")
    while True:
        time.sleep(0.05)
    """
)


def test_ctrl_c_stops_both_children_once_and_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marks = [tmp_path / "web", tmp_path / "worker"]
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from demixer.config.serve import run; "
            f"sys.exit(run([[sys.executable, {str(script)!r}, {str(marks[0])!r}], "
            f"[sys.executable, {str(script)!r}, {str(marks[1])!r}]]))",
        ],
        cwd=ROOT,
    )
    try:
        for mark in marks:  # wait until both children run
            ready = Path(f"{mark}.ready")
            while not ready.exists():
                assert parent.poll() is None
                time.sleep(0.05)
        parent.send_signal(signal.SIGINT)
        assert parent.wait(timeout=60) == 0
    finally:
        if parent.poll() is None:
            parent.kill()
    # each child was asked to stop exactly once, with SIGTERM (the terminal's SIGINT reached
    # only the parent, since the children run in sessions of their own)
    assert [m.read_text() for m in marks] == ["SIGTERM", "SIGTERM"]


def test_a_child_that_dies_stops_the_other(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    mark = tmp_path / "worker"
    code = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from demixer.config.serve import run; "
            f"sys.exit(run([[sys.executable, '-c', 'raise SystemExit(3)'], "
            f"[sys.executable, {str(script)!r}, {str(mark)!r}]]))",
        ],
        cwd=ROOT,
        timeout=60,
        check=False,
        capture_output=True,
        text=True,
    )
    assert code.returncode != 0
    assert "exited with 3" in code.stderr


def settings_in_child(env: dict[str, str], expression: str) -> str:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("DEMIXER_") and k != "DATABASE_URL"
    }
    run = subprocess.run(
        [sys.executable, "-c", f"from demixer.config import settings as s; print({expression})"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return run.stdout.strip()


def test_without_a_secret_key_one_is_generated_once_and_kept(tmp_path: Path) -> None:
    env = {"DEMIXER_DATA_DIR": str(tmp_path)}
    first = settings_in_child(env, "s.SECRET_KEY")
    assert len(first) > 40
    assert settings_in_child(env, "s.SECRET_KEY") == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_processes_starting_together_on_a_fresh_folder_share_one_key(tmp_path: Path) -> None:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("DEMIXER_") and k != "DATABASE_URL"
    }
    code = "from demixer.config import settings as s; print(s.SECRET_KEY)"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**clean, "DEMIXER_DATA_DIR": str(tmp_path / "fresh")},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {child.communicate(timeout=60)[0].strip() for child in children}
    assert len(keys) == 1 and len(keys.pop()) > 40
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir()) == ["secret_key"]


def test_the_queue_is_the_database_unless_redis_is_asked_for(tmp_path: Path) -> None:
    env = {"DEMIXER_DATA_DIR": str(tmp_path)}
    backend = "s.TASKS['default']['BACKEND']"
    assert settings_in_child(env, backend) == "django_tasks_db.DatabaseBackend"
    rq = {**env, "DEMIXER_QUEUE": "rq", "DEMIXER_REDIS_URL": "redis://cache.internal:6379/2"}
    assert settings_in_child(rq, backend) == "django_tasks_rq.RQBackend"
    assert settings_in_child(rq, "s.RQ_QUEUES['separation']['URL']") == (
        "redis://cache.internal:6379/2"
    )
    with pytest.raises(subprocess.CalledProcessError) as refused:
        settings_in_child({**env, "DEMIXER_QUEUE": "celery"}, backend)
    assert "DEMIXER_QUEUE must be db or rq" in refused.value.stderr


def test_safe_defaults_and_https_switches(tmp_path: Path) -> None:
    env = {"DEMIXER_DATA_DIR": str(tmp_path)}
    assert settings_in_child(env, "s.DEBUG, s.SESSION_COOKIE_SECURE") == "False False"
    assert settings_in_child(env, "s.DATABASES['default']['ENGINE']").endswith("sqlite3")
    assert settings_in_child(env, "s.MAX_UPLOAD_MB, s.MAX_MINUTES") == "200 20"
    https = {**env, "DEMIXER_HTTPS": "1"}
    assert settings_in_child(https, "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE") == "True True"
    # the README promises HSTS and the redirect to HTTPS
    assert settings_in_child(https, "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0") == (
        "True True"
    )
    assert settings_in_child(env, "getattr(s, 'SECURE_SSL_REDIRECT', False)") == "False"
    pg = {**env, "DATABASE_URL": "postgres://u@db.internal:5432/demixer"}
    assert settings_in_child(pg, "s.DATABASES['default']['ENGINE']").endswith("postgresql")
