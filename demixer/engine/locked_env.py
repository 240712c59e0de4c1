"""A virtualenv of its own for work the app's environment must not carry, built from a lock file
with hashes and built anew when the lock changes.

The checkpoint importer (PyTorch, demucs: :mod:`demixer.engine.importer.environment`) and the
bench's Basic Pitch reference (``bench/basic_pitch_reference.py``) run in such environments:
``pip install --require-hashes`` installs exactly the versions ``make lock`` compiled, each file
checked against the lock's hashes, as the app's own ``.venv`` is. The stamp written last is the
lock's SHA-256, so an environment left half-built, or built from another lock, is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from demixer.engine.errors import EngineError

MARKER = ".demixer-lock"  # the lock's SHA-256, written once the install is complete
BUILD_TIMEOUT = 3600


class LockedEnvError(EngineError):
    """The environment could not be built (no suitable Python, pip failed)."""


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def stamp(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest() + "\n"


def is_ready(env: Path, lock: Path) -> bool:
    """Whether ``env`` is complete and was built from ``lock`` as it is now."""
    marker = env / MARKER
    return python_of(env).is_file() and marker.is_file() and marker.read_text() == stamp(lock)


def ensure(env: Path, lock: Path, base: Callable[[], str], log: Callable[[str], None]) -> Path:
    """The environment's Python, building it first with the interpreter ``base()`` names when it
    is missing or stale (minutes, once; a file lock keeps two processes from building it at the
    same time)."""
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(env.with_name(env.name + ".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not is_ready(env, lock):
            log(f"building {env} from {lock.name} (once; minutes) ...")
            shutil.rmtree(env, ignore_errors=True)
            _run([base(), "-m", "venv", str(env)], "creating the virtualenv")
            # the lock is the whole closure (a package's unwanted dependency left out of it, as
            # Basic Pitch's TensorFlow): pip installs it as it is, resolving nothing further
            install = [str(python_of(env)), "-m", "pip", "install", "-q", "--require-hashes"]
            _run([*install, "--no-deps", "-r", str(lock)], f"installing {lock.name}")
            (env / MARKER).write_text(stamp(lock))
    return python_of(env)


def _run(command: list[str], what: str) -> None:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise LockedEnvError(f"{what} took longer than {BUILD_TIMEOUT} s") from None
    if result.returncode != 0:
        lines = [
            line
            for line in (result.stderr or result.stdout).splitlines()
            if line.strip() and not line.startswith("WARNING")
        ]
        raise LockedEnvError(f"{what} failed: {lines[-1] if lines else result.returncode}")
