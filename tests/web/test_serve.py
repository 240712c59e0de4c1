"""``demixer serve``'s process handling and the settings' safe defaults (child processes).

The supervisor is tested twice: with trivial child commands (fast: back-off, restart arguments,
leftovers, Ctrl-C), and for real: ``demixer serve`` with granian, the worker and the model,
whose worker is killed in the middle of a job while the site goes on answering.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from demixer.config.serve import Child, Supervisor

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
    with open(str(out) + ".ready", "a") as ready:  # one line per start
        ready.write("ready\\n")
    while True:
        time.sleep(0.05)
    """
)
DIES = [sys.executable, "-c", "raise SystemExit(3)"]
RESTARTING = re.compile(r"^(?:demixer: )?(\S+) \(pid (\d+)\) (.+); restarting it in ([\d.]+) s$")


def steady_child(tmp_path: Path, name: str) -> tuple[Child, Path]:
    """A child that runs until SIGTERM and notes that signal's name in the returned file."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    mark = tmp_path / name
    return Child(name, [sys.executable, str(script), str(mark)]), mark


def supervise_until(supervisor: Supervisor, done: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        supervisor.check()
        time.sleep(0.01)


@pytest.mark.slow  # real child processes, started and killed
def test_a_child_that_keeps_dying_is_restarted_with_a_doubling_back_off(tmp_path: Path) -> None:
    dying = Child("dying", DIES, restart_args=lambda pid: ["--dead-worker", str(pid)])
    steady, mark = steady_child(tmp_path, "steady")
    lines: list[str] = []
    supervisor = Supervisor(
        [dying, steady], first_delay=0.1, max_delay=0.4, steady=30, log=lines.append
    )
    supervisor.start()
    assert steady.process is not None
    steady_pid = steady.process.pid
    starts = [(dying.process, dying.started)]

    def restarted_five_times() -> bool:
        if dying.process is not None and dying.process is not starts[-1][0]:
            starts.append((dying.process, dying.started))
        return len(starts) == 6

    try:
        supervise_until(supervisor, restarted_five_times)
        assert steady.process.pid == steady_pid and steady.process.poll() is None
    finally:
        supervisor.stop()
    deaths = [RESTARTING.match(line) for line in lines]
    assert all(deaths) and len(deaths) == 5, lines
    delays = [float(d[4]) for d in deaths if d]
    assert delays == [0.1, 0.2, 0.4, 0.4, 0.4]  # doubled, then capped
    for (process, started), (restarted, restarted_at), death, delay in zip(
        starts, starts[1:], deaths, delays, strict=False
    ):
        assert process is not None and restarted is not None and death
        assert death.groups()[:3] == ("dying", str(process.pid), "exited with code 3")
        assert restarted_at - started >= delay  # it waited its back-off
        # a restart is told which process died (the worker takes back that one's job)
        assert restarted.args == [*DIES, "--dead-worker", str(process.pid)]
    # the other child kept running throughout, and was stopped once, gracefully
    assert mark.read_text() == "SIGTERM"
    assert Path(f"{mark}.ready").read_text() == "ready\n"


@pytest.mark.slow  # real child processes, started and killed
def test_the_back_off_starts_again_after_a_steady_run(tmp_path: Path) -> None:
    lives = Child("lives", [sys.executable, "-c", "import time; time.sleep(0.3); exit(3)"])
    dying = Child("dying", DIES)
    lines: list[str] = []
    supervisor = Supervisor(
        [lives, dying], first_delay=0.05, max_delay=10, steady=0.2, log=lines.append
    )
    supervisor.start()
    try:
        supervise_until(supervisor, lambda: sum(line.startswith("lives") for line in lines) == 3)
    finally:
        supervisor.stop()
    delays = {
        name: [float(m[4]) for m in map(RESTARTING.match, lines) if m and m[1] == name]
        for name in ("lives", "dying")
    }
    assert delays["lives"] == [0.05, 0.05, 0.05]  # up longer than `steady` each time
    assert delays["dying"][:3] == [0.05, 0.1, 0.2]


def test_a_killed_child_is_named_by_its_signal_and_its_leftovers_are_killed(
    tmp_path: Path,
) -> None:
    """Like granian's main process killed while its own workers go on holding the port."""
    leftover = tmp_path / "leftover.pid"
    code = textwrap.dedent(
        f"""
        import os, signal, subprocess, sys
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open({str(leftover)!r}, "w").write(str(helper.pid))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    lines: list[str] = []
    supervisor = Supervisor(
        [Child("web", [sys.executable, "-c", code])], first_delay=60, log=lines.append
    )
    supervisor.start()
    try:
        supervise_until(supervisor, lambda: bool(lines))
    finally:
        supervisor.stop()
    match = RESTARTING.match(lines[0])
    assert match and match[1] == "web" and match[3] == "was killed by SIGKILL", lines
    assert match[4] == "60"
    helper = int(leftover.read_text())
    deadline = time.monotonic() + 10
    while alive(helper):
        assert time.monotonic() < deadline, "the dead child's helper process still runs"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for whichever process adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_ctrl_c_stops_both_children_once_and_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marks = [tmp_path / "web", tmp_path / "worker"]
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from demixer.config.serve import Child, run; "
            f"sys.exit(run([Child('web', [sys.executable, {str(script)!r}, {str(marks[0])!r}]), "
            f"Child('worker', [sys.executable, {str(script)!r}, {str(marks[1])!r}])]))",
        ],
        cwd=ROOT,
    )
    try:
        for mark in marks:  # wait until both children run
            ready = Path(f"{mark}.ready")
            deadline = time.monotonic() + 60
            while not ready.exists():
                assert parent.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        parent.send_signal(signal.SIGINT)
        assert parent.wait(timeout=60) == 0
    finally:
        if parent.poll() is None:
            parent.kill()
    # each child was asked to stop exactly once, with SIGTERM (the terminal's SIGINT reached
    # only the parent, since the children run in sessions of their own)
    assert [m.read_text() for m in marks] == ["SIGTERM", "SIGTERM"]


@pytest.mark.slow  # real child processes, started and killed
def test_serve_restarts_a_child_that_dies_and_keeps_the_other(tmp_path: Path) -> None:
    """``run`` with the real back-off: the dying child is restarted after 1 s, then 2 s, while
    the other runs on untouched; Ctrl-C during the back-off still stops cleanly."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    mark = tmp_path / "worker"
    log = tmp_path / "stderr"
    with log.open("wb") as stderr:
        parent = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from demixer.config.serve import Child, run; "
                f"sys.exit(run([Child('web', {DIES!r}), "
                f"Child('worker', [sys.executable, {str(script)!r}, {str(mark)!r}])]))",
            ],
            cwd=ROOT,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("exited with code 3") < 2:
            assert parent.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        parent.send_signal(signal.SIGINT)
        assert parent.wait(timeout=60) == 0
    finally:
        if parent.poll() is None:
            parent.kill()
    restarts = [m for m in map(RESTARTING.match, log.read_text().splitlines()) if m]
    assert [(m[1], m[3], m[4]) for m in restarts] == [
        ("web", "exited with code 3", "1"),
        ("web", "exited with code 3", "2"),
    ]
    assert mark.read_text() == "SIGTERM"
    assert Path(f"{mark}.ready").read_text() == "ready\n"  # started once, never restarted


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
    # the rows are the queue: django.tasks delivers nothing
    assert settings_in_child(env, backend) == "django.tasks.backends.dummy.DummyBackend"
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
    defaults = settings_in_child(
        env,
        "s.DEBUG, s.SESSION_COOKIE_SECURE, getattr(s, 'SECURE_SSL_REDIRECT', False), "
        "s.MAX_UPLOAD_MB, s.MAX_MINUTES, s.DATABASES['default']['ENGINE']",
    ).split()
    assert defaults[:5] == ["False", "False", "False", "200", "20"]
    assert defaults[5].endswith("sqlite3")
    https = {**env, "DEMIXER_HTTPS": "1"}
    # the README promises HSTS and the redirect to HTTPS
    secure = settings_in_child(
        https,
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0",
    )
    assert secure == "True True True True"
    pg = {**env, "DATABASE_URL": "postgres://u@db.internal:5432/demixer"}
    assert settings_in_child(pg, "s.DATABASES['default']['ENGINE']").endswith("postgresql")


# --- the real thing: `demixer serve` whose worker is killed in the middle of a job ---------------

READY_S = 240  # granian up, and the worker's sessions created and warmed up, on 2 busy cores
JOB_S = 300  # a restarted worker warms up again before it takes the job back
SETUP_JOB = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from demixer.separation.models import Separation

    user = get_user_model().objects.create_user("alice", "alice@example.com", "x" * 20)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    with open(sys.argv[1], "rb") as clip:
        client.post("/separations/new/", {"files": clip, "mode": "4"})
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    cookie = f"{session.key}={session.value}"
    print(json.dumps({"job": str(Separation.objects.get().id), "cookie": cookie}))
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> dict[int, str]:
    """pid -> command line of each process whose parent is ``pid`` (from /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().decode()
        except (FileNotFoundError, ProcessLookupError):  # it exited while we looked
            continue
    return found


def worker_pid(serve: subprocess.Popen[bytes]) -> int | None:
    pids = [pid for pid, cmd in children_of(serve.pid).items() if "separation_worker" in cmd]
    assert len(pids) <= 1, pids
    return pids[0] if pids else None


class Site:
    """The running ``demixer serve``, asked over HTTP; any answer but a 200 fails the test."""

    def __init__(self, url: str, cookie: str, log: Path) -> None:
        self.url, self.cookie, self.log = url, cookie, log
        self.login_pages = 0

    def get(self, path: str, cookie: bool = False) -> bytes:
        request = urllib.request.Request(self.url + path)  # noqa: S310 (our own server)
        if cookie:
            request.add_header("Cookie", self.cookie)
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
            return response.read()

    def job(self, job_id: str) -> dict[str, object]:
        return json.loads(self.get(f"/api/v1/separations/{job_id}/", cookie=True))

    def until(self, what: str, done: Callable[[], object], timeout: float) -> None:
        """Every 0.2 s: the login page must answer, then ``done`` is asked."""
        deadline = time.monotonic() + timeout
        while True:
            self.get("/accounts/login/")
            self.login_pages += 1
            if done():
                return
            if time.monotonic() > deadline:
                tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
                pytest.fail(f"timed out waiting for {what}; serve's log ends:\n{tail}")
            time.sleep(0.2)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str], Path]]:
    """`demixer serve` (what `make run` runs) on a free port with a fresh database and media."""
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMIXER_")}
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="demixer.config.settings",
        DEMIXER_DATA_DIR=str(data),
        DEMIXER_PORT=str(free_port()),
        DEMIXER_SECRET_KEY="serve-tests-only-" + "x" * 40,
        DEMIXER_MODELS_DIR=os.environ.get("DEMIXER_MODELS_DIR", str(ROOT / "var" / "models")),
        # a dead worker's job comes back only through `serve` naming it to the new worker,
        # never through its heartbeat going stale, within this test
        DEMIXER_STALE_SECONDS="3600",
        # Site.until asks the API for the job several times a second, past its rate limit
        DEMIXER_API_REQUESTS_PER_MINUTE="0",
    )
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("demixer")), "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, env, log
    finally:
        children = children_of(process.pid)  # each in a session of its own
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for pid in [process.pid, *children]:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            process.wait()


@pytest.mark.model
def test_serve_brings_a_killed_worker_back_and_its_job_finishes(serve, make_clip) -> None:
    process, env, log = serve
    setup = subprocess.run(
        [sys.executable, "-c", SETUP_JOB, str(make_clip(8.0, seed=31))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr
    created = json.loads(setup.stdout)
    site = Site(f"http://127.0.0.1:{env['DEMIXER_PORT']}", created["cookie"], log)

    deadline = time.monotonic() + READY_S
    while True:  # until the web server listens
        assert process.poll() is None, log.read_text()
        try:
            site.get("/accounts/login/")
            break
        except OSError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    seen: list[str] = []

    def status_is(*wanted: str) -> Callable[[], bool]:
        def check() -> bool:
            status = str(site.job(created["job"])["status"])
            if not seen or seen[-1] != status:
                seen.append(status)
            return status in wanted

        return check

    site.until("the worker to start the job", status_is("running"), READY_S)
    killed = worker_pid(process)
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    seen.clear()
    site.login_pages = 0
    site.until("a new worker", lambda: worker_pid(process) not in (None, killed), 60)
    site.until("the job to finish", status_is("done", "failed", "cancelled"), JOB_S)

    assert seen[-1] == "done", seen
    assert "queued" in seen  # put back in the queue, then separated by the new worker
    assert f"separation_worker (pid {killed}) was killed by SIGKILL; restarting it in 1 s" in (
        log.read_text()
    )
    assert "died: 1 requeued, 0 failed" in log.read_text()  # the state machine's recovery line
    job = site.job(created["job"])
    stems = job["stems"]
    assert isinstance(stems, list)
    assert [s["name"] for s in stems] == ["drums", "bass", "other", "vocals"]
    assert len(site.get(stems[0]["downloads"]["flac"], cookie=True)) > 1000
    masters = list((Path(env["DEMIXER_DATA_DIR"]) / "media").rglob("*.flac"))
    assert len(masters) == 4 and all(m.stat().st_size > 1000 for m in masters)
    assert process.poll() is None  # serve itself never stopped
    assert site.login_pages > 10  # the site was asked all along, and answered every time
