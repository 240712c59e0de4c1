"""The container image, built and run here without a Docker daemon: buildah builds the
Containerfile (on a local debootstrapped base when the default cannot be pulled), and
`buildah run --isolation chroot` runs compose.yaml's own commands in it, sharing this machine's
network, against this machine's PostgreSQL and Redis. A user signs up, a generated song is
separated by the real model, the "containers" restart on the same volumes, and a backup restored
into a fresh data folder and database gives the job's stems back."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile as sf
import yaml

from demixer.testing import signals
from tests.services import PG_URL, REDIS_URL
from tests.web.test_postgres import postgres_unreachable

ROOT = Path(__file__).resolve().parents[2]
TAG = "localhost/demixer:test"
UID = 10001  # the image's demixer user
pytestmark = [pytest.mark.slow, pytest.mark.model]


def compose_command(service: str) -> list[str]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())["services"][service]["command"]


@pytest.fixture(scope="module")
def image() -> str:
    if os.geteuid() != 0:
        pytest.skip("building and running the image with buildah (chroot) needs root here")
    for program, package in (("/usr/bin/buildah", "buildah"), ("/usr/bin/podman", "podman")):
        got = subprocess.run(
            [ROOT / "scripts/ensure-deb.sh", program, package, "the image test"], check=False
        )
        if got.returncode != 0:
            pytest.skip(f"{package} cannot be installed here (apt-get install {package})")
    if reason := postgres_unreachable():
        pytest.skip(reason)
    env = {**os.environ, "BUILD_CA": os.getenv("BUILD_CA", os.getenv("PIP_CERT", ""))}
    subprocess.run([ROOT / "scripts/build-image.sh", TAG], cwd=ROOT, env=env, check=True)
    return TAG


def owned_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    os.chown(path, UID, UID)
    return path


def models_copy(target: Path) -> Path:
    """The checkout's verified weights, linked (or copied) into a volume the image's user owns,
    so `demixer fetch-models` has only to check them."""
    owned_dir(target)
    source = Path(os.environ.get("DEMIXER_MODELS_DIR", ROOT / "var/models")).resolve()
    for file in source.iterdir():
        if file.is_file():
            try:
                os.link(file, target / file.name)
            except OSError:
                shutil.copy2(file, target / file.name)
    return target


@contextlib.contextmanager
def database() -> Iterator[str]:
    import psycopg

    server, name = PG_URL.rsplit("/", 1)[0], f"demixer_image_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Instance:
    """One site's volumes and settings; its roles run as containers of the image."""

    def __init__(self, image: str, data: Path, models: Path, db: str, port: int) -> None:
        self.image, self.port = image, port
        self.volumes = {data: "/data", models: "/models"}
        self.env = {
            "DATABASE_URL": db,
            "DEMIXER_QUEUE": "rq",
            "DEMIXER_REDIS_URL": REDIS_URL,
            "DEMIXER_SECRET_KEY": "image-test-key",
            "DEMIXER_HOST": "127.0.0.1",
            "DEMIXER_PORT": str(port),
            "DEMIXER_SITE_URL": f"http://127.0.0.1:{port}",
            "DEMIXER_THREADS": "2",
        }
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def _command(self, container: str, command: list[str], extra: dict[Path, str]) -> list[str]:
        args = ["buildah", "run", "--isolation", "chroot"]
        for host, inside in {**self.volumes, **extra}.items():
            args += ["--volume", f"{host}:{inside}"]
        for key, value in self.env.items():
            args += ["--env", f"{key}={value}"]
        return [*args, container, "--", *command]

    def _container(self) -> str:
        return subprocess.run(
            ["buildah", "from", self.image], capture_output=True, text=True, check=True
        ).stdout.strip()

    def run(self, command: list[str], extra: dict[Path, str] | None = None) -> str:
        container = self._container()
        try:
            done = subprocess.run(
                self._command(container, command, extra or {}),
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        finally:
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
        assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done.stdout

    def start(self, command: list[str]) -> None:
        container = self._container()
        process = subprocess.Popen(self._command(container, command, {}), start_new_session=True)
        self.running.append((container, process))

    def stop(self) -> None:
        """SIGTERM, as compose stops a container: the supervisors stop their children."""
        for _, process in self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for container, process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
        self.running = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_healthy(self) -> None:
        import requests

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(self.url("/healthz"), timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        pytest.fail("the web container never answered /healthz")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_up(site: Instance):
    import requests

    session = requests.Session()
    page = session.get(site.url("/accounts/signup/"), timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    form = {
        "csrfmiddlewaretoken": csrf,
        "username": "alice",
        "email": "alice@example.org",
        "password1": "a long passphrase for alice",
        "password2": "a long passphrase for alice",
    }
    done = session.post(site.url("/accounts/signup/"), data=form, timeout=10)
    assert done.ok and "/accounts/signup/" not in done.url, done.text[:2000]
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def wait_done(session, site: Instance, job_id: str) -> dict:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = session.get(site.url(f"/api/v1/separations/{job_id}/"), timeout=10).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(1)
    pytest.fail(f"the job is still {job['status']} after 10 minutes")


def stems_of(session, site: Instance, job: dict) -> dict[str, bytes]:
    stems = {}
    for stem in job["stems"]:
        url = urlsplit(stem["downloads"]["flac"])  # the lossless master
        got = session.get(site.url(f"{url.path}?{url.query}"), timeout=30)
        assert got.status_code == 200, (stem, got.status_code)
        stems[stem["name"]] = got.content
    return stems


def test_image_runs_the_site(image: str, tmp_path: Path) -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    models = models_copy(tmp_path / "models")
    song = signals.song(4.0, seed=3)
    mix = signals.mix(song)
    clip = tmp_path / "song.flac"
    sf.write(clip, mix.T, 44100)
    with database() as db, database() as fresh_db:
        site = Instance(image, owned_dir(tmp_path / "data"), models, db, free_port())
        site.run(compose_command("migrate"))
        site.run(compose_command("models"))  # verifies the weights in place, fetches nothing
        site.start(compose_command("web"))
        site.start(compose_command("worker"))
        try:
            site.wait_healthy()
            session = sign_up(site)
            with clip.open("rb") as fh:
                made = session.post(
                    site.url("/api/v1/tracks/"), files={"file": fh}, data={"mode": "4"}, timeout=60
                )
            assert made.status_code == 201, made.text
            job = wait_done(session, site, made.json()["separation"]["id"])
            assert job["status"] == "done", job
            stems = stems_of(session, site, job)
        finally:
            site.stop()
        assert set(stems) == {"vocals", "drums", "bass", "other"}
        decoded = {name: sf.read(io.BytesIO(data), always_2d=True) for name, data in stems.items()}
        total = sum(audio for audio, _ in decoded.values())
        assert all(rate == 44100 for _, rate in decoded.values())
        assert total.shape == mix.T.shape
        # the stems add back up to the song (the model's own error allowed for)
        assert np.corrcoef(total.ravel(), mix.T.ravel())[0, 1] > 0.95

        # a restart on the same volumes and database: the account and the stems are there
        site.start(compose_command("web"))
        try:
            site.wait_healthy()
            # alice's session still signs her in: the same key, the same database
            listed = session.get(site.url("/api/v1/separations/"), timeout=10).json()
            assert [j["id"] for j in listed["separations"]] == [job["id"]]
            assert stems_of(session, site, wait_done(session, site, job["id"])) == stems
            backup = owned_dir(tmp_path / "backup")
            site.run(["demixer", "backup", "/backup/site"], {backup: "/backup"})
        finally:
            site.stop()

        # the backup restored into a fresh data folder and database gives the stems back
        restored = Instance(image, owned_dir(tmp_path / "data2"), models, fresh_db, free_port())
        restored.run(["demixer", "restore", "/backup/site"], {backup: "/backup"})
        restored.run(compose_command("migrate"))
        restored.start(compose_command("web"))
        try:
            restored.wait_healthy()
            assert stems_of(session, restored, wait_done(session, restored, job["id"])) == stems
        finally:
            restored.stop()
