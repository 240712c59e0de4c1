"""``demixer serve`` / ``demixer worker``: the web server and one worker, as child processes.

The heavy work never shares a process with the web: ``serve`` starts granian (WSGI) and one
``separation_worker``; Ctrl-C or SIGTERM is forwarded once to both, which stop gracefully (the
worker puts an interrupted job back in the queue), and both are killed if they take too long.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

GRACE_SECONDS = 30


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


def _stop(children: list[subprocess.Popen[bytes]]) -> int:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    code = 0
    for child in children:
        try:
            code = code or child.wait(timeout=max(0.1, deadline - time.monotonic())) or 0
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            code = code or 1
    return code


def run(commands: list[list[str]]) -> int:
    """Start ``commands`` and wait; stop all when one exits or when we are asked to stop."""
    stopping = False

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, ask_to_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    children: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            # a session of its own: the terminal's Ctrl-C reaches only us, and we forward it once
            children.append(subprocess.Popen(command, env=_env(), start_new_session=True))
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        if not stopping:
            died = next(child for child in children if child.poll() is not None)
            print(
                f"demixer: {died.args[3] if len(died.args) > 3 else died.args} exited "
                f"with {died.returncode}; stopping",
                file=sys.stderr,
            )
        code = _stop(children)
        return 0 if stopping else (code or 1)
    finally:
        _stop(children)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(command: str) -> int:
    if command == "serve":
        host = os.getenv("DEMIXER_HOST", "127.0.0.1")
        port = os.getenv("DEMIXER_PORT", "8000")
        print(f"demixer: serving on http://{host}:{port}/ with one worker (Ctrl-C stops both)")
        return run([web_command(), worker_command()])
    if command == "worker":
        return run([worker_command()])
    print(f"demixer: unknown command {command!r}", file=sys.stderr)
    return 2
