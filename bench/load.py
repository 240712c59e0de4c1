"""Load: 50 users against a live server while its worker separates a track.

The script sets everything up in a temporary data folder (SQLite, media) and tears it down:
migrations; 50 users, each with a finished 4-stem separation of a generated 10 s song (stems
written as the worker writes them; files hard-linked) and a session cookie; one 2-minute track
queued for the worker. Then granian (the same command as ``demixer serve``) and one
``separation_worker`` (no warm-up) on a free loopback port, and locust headless for ``--seconds``
(``bench/load_users.py``: pages, status polls, previews, masters, zips, renders). It prints
requests/s, p50/p95/p99 latency per kind of request and the error count, the worker's progress
and the web process's peak RSS; it never asserts. Goal: no errors, p99 under 1 s for pages and
polls. About 90 s of wall time in all (two CPUs fully busy): run it on purpose.

    .venv/bin/python bench/load.py [--users 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SONG_SECONDS = 10.0
TRACK_SECONDS = 120.0  # the worker's job: long enough to run through the whole load
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMIXER_MEDIA_DIR")}
    env.update(
        DJANGO_SETTINGS_MODULE="demixer.config.settings",
        DEMIXER_DATA_DIR=str(data_dir),
        DEMIXER_HOST="127.0.0.1",
        DEMIXER_PORT=str(port),
        DEMIXER_SECRET_KEY="load-bench-only-" + "x" * 40,
        DEMIXER_DEBUG="0",
        DEMIXER_MODELS_DIR=os.environ.get("DEMIXER_MODELS_DIR", str(ROOT / "var" / "models")),
        DEMIXER_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _prepare(users: int, folder: Path) -> dict[str, object]:
    """Rows, files and sessions (Django set up for the temporary data folder)."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files import File
    from django.db import transaction
    from django.urls import reverse

    from demixer.separation import masters, services
    from demixer.separation.models import Separation, Status, Stem
    from demixer.testing import signals
    from demixer.testing.files import write_audio
    from demixer.tracks.models import Track

    stems = signals.song(SONG_SECONDS, seed=5)
    source = folder / "source"
    source.mkdir()
    masters = {
        n: masters.write_master(w, source / f"{n}.flac", signals.RATE, {}) for n, w in stems.items()
    }
    previews = {
        n: masters.write_preview(w, source / f"{n}.mp3", signals.RATE) for n, w in stems.items()
    }
    peaks = masters.peaks(stems)
    song = write_audio(source / "song.flac", signals.mix(stems), signals.RATE, "flac")
    media = Path(os.environ["DEMIXER_DATA_DIR"]) / "media"

    def track(owner, title: str, path: Path, seconds: float) -> Track:
        row = Track(
            owner=owner,
            title=title,
            original_name=path.name,
            sha256=f"{title:0>64}"[-64:],
            size=path.stat().st_size,
            duration=seconds,
            sample_rate=signals.RATE,
            channels=2,
            codec="flac",
        )
        with path.open("rb") as fh:
            row.original.save(path.name, File(fh), save=False)
        row.save()
        return row

    User = get_user_model()
    plan = []
    for i in range(users):
        user = User.objects.create_user(f"listener{i}", f"listener{i}@example.com", "unused-pw")
        job = Separation.objects.create(
            track=track(user, f"Song {i}", song, SONG_SECONDS), status=Status.DONE, progress=1.0
        )
        directory = media / job.storage_dir()
        (directory / "preview").mkdir(parents=True)
        for position, name in enumerate(stems):
            os.link(masters[name], directory / f"{name}.flac")
            os.link(previews[name], directory / "preview" / f"{name}.mp3")
            Stem.objects.create(
                separation=job,
                name=name,
                position=position,
                peaks=peaks[name],
                master=f"{job.storage_dir()}/{name}.flac",
                preview=f"{job.storage_dir()}/preview/{name}.mp3",
            )
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[-1]
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        plan.append(
            {
                "session": session.session_key,
                "stems": list(stems),
                "result": reverse("separation-detail", args=[job.id]),
                "status": reverse("separation-status", args=[job.id]),
                "previews": [reverse("stem-preview", args=[job.id, n]) for n in stems],
                "flac": [reverse("stem-download", args=[job.id, n, "flac"]) for n in stems],
                "mp3": [reverse("stem-download", args=[job.id, n, "mp3"]) for n in stems],
                "zip": reverse("separation-zip", args=[job.id]),
                "mix": reverse("separation-mix", args=[job.id]),
            }
        )
    # the worker's job for the length of the run
    long_song = signals.mix(signals.song(TRACK_SECONDS, seed=6))
    worker_user = User.objects.create_user("uploader", "uploader@example.com", "unused-pw")
    path = write_audio(source / "long.flac", long_song, signals.RATE, "flac")
    with transaction.atomic():
        job, _ = services.start(track(worker_user, "Long", path, TRACK_SECONDS))
    return {"users": plan, "job": str(job.id)}


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_up(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback server
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer on {url}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _check_session(url: str, user: dict[str, str]) -> None:
    """The users' session cookies are accepted (a redirect to the login page would make every
    figure a login page's)."""
    request = urllib.request.Request(url + user["result"])  # noqa: S310 - loopback
    request.add_header("Cookie", f"sessionid={user['session']}")
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as response:
            if response.status == 200:
                return
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"a user's session was not accepted: {exc.code}") from None
    raise SystemExit("a user's session was not accepted")


def _peak_rss_mib(group: int) -> float:
    """Peak RSS of the largest process in a process group (granian's worker)."""
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if os.getpgid(int(status.parent.name)) != group:
                continue
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ProcessLookupError, ValueError):
            continue
    return peak / 1024


def _report(records: list[list], seconds: float) -> None:
    by_name: dict[str, list[float]] = defaultdict(list)
    by_kind: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for name, _end, ms, ok in records:
        by_name[name].append(ms)
        by_kind[name.split(":")[0]].append(ms)
        if not ok:
            errors[name] += 1
    print(
        f"{len(records)} requests in {seconds:.0f} s: {len(records) / seconds:.1f} requests/s, "
        f"{sum(errors.values())} errors"
    )
    print(f"  {'request':32} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for label, group in [*sorted(by_kind.items()), ("", []), *sorted(by_name.items())]:
        if not group:
            print()
            continue
        p50, p95, p99 = np.percentile(group, [50, 95, 99])
        err = sum(v for k, v in errors.items() if k == label or k.split(":")[0] == label)
        print(f"  {label:32} {len(group):6d} {p50:8.0f} {p95:8.0f} {p99:8.0f} {err:6d}")
    both = by_kind["page"] + by_kind["poll"]
    if both:
        print(f"pages and polls together: p99 {np.percentile(both, 99):.0f} ms (goal: under 1000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="demixer-load-"))
    port = _free_port()
    (folder / "data").mkdir()
    env = _env(folder / "data", port)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        os.environ.update(env)
        started = time.monotonic()
        plan = _prepare(args.users, folder)
        print(
            f"{args.users} users with a finished separation each, one track queued "
            f"({time.monotonic() - started:.0f} s to set up)"
        )
        (folder / "plan.json").write_text(json.dumps(plan))
        from demixer.config import serve

        web = _spawn(serve.web_command(), env, folder / "web.log")
        worker_cmd = [sys.executable, "-m", "django", "separation_worker", "--no-warm-up"]
        worker = _spawn(worker_cmd, env, folder / "worker.log")
        processes += [web, worker]
        url = f"http://127.0.0.1:{port}"
        _wait_up(url + "/", time.monotonic() + START_TIMEOUT_S)
        _check_session(url, plan["users"][0])
        results = folder / "results.json"
        locust = [
            str(VENV_BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "load_users.py"),
            "--headless",
            "--users",
            str(args.users),
            "--spawn-rate",
            str(max(1, args.users // 5)),
            "--run-time",
            f"{args.seconds}s",
            "--host",
            url,
            "--only-summary",
            "--loglevel",
            "ERROR",
            "--stop-timeout",
            "2",
        ]
        locust_env = {**env, "LOAD_PLAN": str(folder / "plan.json"), "LOAD_RESULTS": str(results)}
        subprocess.run(
            locust,
            cwd=ROOT,
            env=locust_env,
            timeout=args.seconds + 60,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        web_rss = _peak_rss_mib(web.pid)
        from demixer.separation.models import Separation

        job = Separation.objects.get(id=plan["job"])
        _report(json.loads(results.read_text()), args.seconds)
        print(f"worker: the {TRACK_SECONDS:.0f} s track is {job.status}, {job.progress:.0%} done")
        print(f"web process peak RSS: {web_rss:.0f} MiB")
    finally:
        for process in processes:
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
