"""Limits under concurrency, against the app as `make run` serves it: granian (two processes,
several threads each) on a file database, with requests fired in parallel. Sign-ups from one
address and one user's uploads stop exactly at their limits, and the sign-up count outlives a
restart. On SQLite here; on PostgreSQL too (slow) when it is reachable."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest

from demixer.config.serve import web_command
from tests.services import PG_URL
from tests.web.test_postgres import postgres_unreachable

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-staple-42"
SIGNUPS = 5  # an hour from one address
QUEUED = 3  # one user's jobs waiting at a time


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, port: int, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMIXER_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="demixer.config.settings",
        DEMIXER_DATA_DIR=str(data_dir),
        DEMIXER_MODELS_DIR=os.environ.get("DEMIXER_MODELS_DIR", str(ROOT / "var" / "models")),
        DEMIXER_PORT=str(port),
        DEMIXER_SECRET_KEY="race-tests-only-" + "x" * 40,
        DEMIXER_WEB_WORKERS="2",
        DEMIXER_WEB_THREADS="8",
        DEMIXER_SIGNUPS_PER_IP_HOUR=str(SIGNUPS),
        DEMIXER_MAX_QUEUED_PER_USER=str(QUEUED),
        DEMIXER_API_REQUESTS_PER_MINUTE="0",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _django(env: dict[str, str], *args: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """The web server `demixer serve` starts (no worker: the jobs stay queued)."""
    url = f"http://127.0.0.1:{env['DEMIXER_PORT']}"
    log = (Path(env["DEMIXER_DATA_DIR"]) / "granian.log").open("ab")
    with mock.patch.dict(os.environ, env):
        command = web_command()  # it reads the port and the process counts from there
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _answers(url):
            assert process.poll() is None, _tail(log.name)
            assert time.monotonic() < deadline, _tail(log.name)
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # its own session: only what we started
            process.wait()
        log.close()


def _tail(path: str) -> str:
    return Path(path).read_text(errors="replace")[-3000:]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


class _Stay(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to count, not a page to fetch."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """One visitor: its own cookies, and the CSRF token every form needs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _Stay()
        )

    def token(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=60) as response:
            page = response.read().decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, page[:500]
        return match.group(1)

    def post(self, path: str, data: bytes, content_type: str) -> int:
        request = urllib.request.Request(  # noqa: S310 (our own server)
            self.base + path, data=data, headers={"Content-Type": content_type}
        )
        try:
            with self.opener.open(request, timeout=120) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    def sign_up(self, n: int) -> int:
        fields = {
            "csrfmiddlewaretoken": self.token("/accounts/signup/"),
            "username": f"racer{n}",
            "email": f"racer{n}@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        }
        body = urllib.parse.urlencode(fields).encode()
        return self.post("/accounts/signup/", body, "application/x-www-form-urlencoded")

    def upload(self, token: str, clip: Path) -> int:
        boundary = "----race-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"'
            f"\r\n\r\n{token}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\n4\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{clip.name}"\r\nContent-Type: audio/wav\r\n\r\n'.encode()
            + clip.read_bytes()
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        return self.post(
            "/separations/new/", b"".join(parts), f"multipart/form-data; boundary={boundary}"
        )


def _count(env: dict[str, str], model: str) -> int:
    script = (
        "import django; django.setup(); from django.apps import apps; "
        f"print(apps.get_model('{model}').objects.count())"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(run.stdout.strip())


def _races(tmp_path: Path, make_clip, database_url: str | None) -> None:
    env = _env(tmp_path, _free_port(), database_url)
    _django(env, "migrate", "--noinput")
    if database_url:
        _django(env, "flush", "--noinput")
    with serving(env) as base:
        browsers = [Browser(base) for _ in range(8)]
        with ThreadPoolExecutor(len(browsers)) as pool:
            codes = list(pool.map(lambda pair: pair[1].sign_up(pair[0]), enumerate(browsers)))
        assert sorted(codes) == [302] * SIGNUPS + [429] * (len(browsers) - SIGNUPS), codes
        assert _count(env, "auth.User") == SIGNUPS

        # one signed-up user sends 10 uploads (distinct files) at once
        [user] = [b for b, code in zip(browsers, codes, strict=True) if code == 302][:1]
        token = user.token("/separations/new/")
        clips = [make_clip(1.0, seed) for seed in range(100, 110)]
        with ThreadPoolExecutor(len(clips)) as pool:
            list(pool.map(lambda clip: user.upload(token, clip), clips))
        assert _count(env, "separation.Separation") == QUEUED

    # a restart: the new processes see the hour's count
    with serving(env) as base:
        assert Browser(base).sign_up(99) == 429
    assert _count(env, "auth.User") == SIGNUPS


@pytest.mark.slow  # a real server (twice) and eight concurrent browsers
def test_limits_hold_under_concurrency_and_restarts_on_sqlite(tmp_path, make_clip) -> None:
    _races(tmp_path, make_clip, None)


@pytest.mark.slow
def test_limits_hold_under_concurrency_and_restarts_on_postgresql(tmp_path, make_clip) -> None:
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    server, name = PG_URL.rsplit("/", 1)
    with psycopg.connect(server + "/postgres", autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
    _races(tmp_path, make_clip, PG_URL)
