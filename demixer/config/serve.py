"""``demixer serve`` / ``demixer worker``: the web server and one worker, as supervised children.

The heavy work never shares a process with the web: ``serve`` starts granian (WSGI) and one
``separation_worker``, and keeps both running: one that dies without being asked to (a crash, the
OOM killer, ``kill -9``) is started again after a back-off that doubles while it keeps dying, and
the other goes on serving meanwhile. A restarted worker is told the pid of the one that died, so
it puts that worker's job back in the queue at once instead of after its heartbeat goes stale.
Ctrl-C or SIGTERM is forwarded once to every child, which stop gracefully (the worker puts an
interrupted job back in the queue); those still running after ``GRACE_SECONDS`` are killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

GRACE_SECONDS = 30
FIRST_DELAY = 1.0  # seconds before restarting a child that died; doubled for each death in a row
MAX_DELAY = 60.0
STEADY_SECONDS = 60.0  # a child up this long before it dies starts again from FIRST_DELAY
POLL_SECONDS = 0.2


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "demixer.config.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")  # the children's logs appear as they happen
    return env


def web_command() -> list[str]:
    host = os.getenv("DEMIXER_HOST", "127.0.0.1")
    port = os.getenv("DEMIXER_PORT", "8000")
    threads = os.getenv("DEMIXER_WEB_THREADS", "4")
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        port,
        "--workers",
        os.getenv("DEMIXER_WEB_WORKERS", "1"),
        "--blocking-threads",
        threads,
        "demixer.config.wsgi:application",
    ]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "django", "separation_worker"]


def _log(line: str) -> None:
    print(f"demixer: {line}", file=sys.stderr, flush=True)


def _how(returncode: int) -> str:
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        return f"was killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"was killed by signal {-returncode}"


@dataclass
class Child:
    """One supervised command, its process while it runs, and its back-off once it has died."""

    name: str
    command: list[str]
    # arguments added when it is restarted, given the pid of the process that died
    restart_args: Callable[[int], list[str]] | None = None
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = 0.0  # the back-off before the last restart; 0 until it first dies
    restart_at: float = 0.0  # once it has died: when to start it again
    next_args: list[str] = field(default_factory=list)

    def spawn(self) -> None:
        # a session of its own: the terminal's Ctrl-C reaches only the supervisor, which forwards
        # it once, and whatever the child leaves behind when it dies is one process group
        self.process = subprocess.Popen(
            self.command + self.next_args, env=_env(), start_new_session=True
        )
        self.started = time.monotonic()


class Supervisor:
    """Keeps its children running: one that dies is restarted after ``first_delay`` seconds,
    doubling up to ``max_delay`` while it keeps dying within ``steady`` seconds of its start."""

    def __init__(
        self,
        children: list[Child],
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        steady: float = STEADY_SECONDS,
        log: Callable[[str], None] = _log,
    ) -> None:
        self.children = children
        self.first_delay, self.max_delay, self.steady = first_delay, max_delay, steady
        self.log = log

    def start(self) -> None:
        for child in self.children:
            child.spawn()

    def check(self) -> None:
        """One look: note the children that died, restart those whose back-off is over."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and _has_exited(child.process):
                self._died(child, now)
            elif child.process is None and now >= child.restart_at:
                child.spawn()

    def _died(self, child: Child, now: float) -> None:
        process = child.process
        assert process is not None
        # the dead leader is a zombie until reaped, so its process group cannot be reused yet:
        # kill what it left there (granian's own workers would go on holding the port)
        _kill_group(process.pid)
        returncode = process.wait()
        kept_dying = child.delay > 0 and now - child.started < self.steady
        child.delay = min(child.delay * 2, self.max_delay) if kept_dying else self.first_delay
        child.restart_at = now + child.delay
        child.next_args = child.restart_args(process.pid) if child.restart_args else []
        child.process = None
        self.log(
            f"{child.name} (pid {process.pid}) {_how(returncode)}; "
            f"restarting it in {child.delay:g} s"
        )

    def stop(self) -> None:
        """SIGTERM to every running child once; kill those still running after the grace time."""
        running = []
        for child in self.children:
            if child.process is None:
                continue
            if _has_exited(child.process):  # died since the last look: only its leftovers
                _kill_group(child.process.pid)
            else:
                child.process.send_signal(signal.SIGTERM)
                running.append(child)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{child.name} did not stop within {GRACE_SECONDS} s; killing it")
                _kill_group(child.process.pid)
        for child in self.children:
            if child.process is not None:
                child.process.wait()
                child.process = None


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether it exited, without reaping it (so its pid stays taken until we wait for it)."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # nothing left in it
        os.killpg(pgid, signal.SIGKILL)


def run(children: list[Child]) -> int:
    """Start ``children`` and keep them running until we are asked to stop."""
    stopping = False

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, ask_to_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor(children)
    try:
        supervisor.start()
        while not stopping:
            supervisor.check()
            time.sleep(POLL_SECONDS)
        return 0
    finally:
        supervisor.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def worker_child() -> Child:
    # a dead worker's job stays claimed by it until its heartbeat is DEMIXER_STALE_SECONDS old;
    # its successor, told the pid, requeues that job before it even warms up
    return Child(
        "separation_worker", worker_command(), restart_args=lambda pid: ["--dead-worker", str(pid)]
    )


def main(command: str) -> int:
    if command == "serve":
        host = os.getenv("DEMIXER_HOST", "127.0.0.1")
        port = os.getenv("DEMIXER_PORT", "8000")
        print(f"demixer: serving on http://{host}:{port}/ with one worker (Ctrl-C stops both)")
        return run([Child("granian", web_command()), worker_child()])
    if command == "web":
        host = os.getenv("DEMIXER_HOST", "127.0.0.1")
        port = os.getenv("DEMIXER_PORT", "8000")
        print(f"demixer: serving on http://{host}:{port}/ (workers: `demixer worker`)")
        return run([Child("granian", web_command())])
    if command == "worker":
        return run([worker_child()])
    print(f"demixer: unknown command {command!r}", file=sys.stderr)
    return 2
