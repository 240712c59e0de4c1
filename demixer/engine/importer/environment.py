"""The importer's own environment: a virtualenv with PyTorch and ``demucs``, made on first use.

Only ``demixer models import`` needs PyTorch (to read the checkpoints and export them); the app,
the worker and the web never do. The environment lives in ``$DEMIXER_IMPORTER_ENV``, else
``var/importer-venv`` under the current directory, and is built with ``$DEMIXER_IMPORTER_PYTHON``,
else ``python3.11``, by pip with its usual configuration. ``torch`` is pinned exactly: a looser pin
lets pip pick a different (much larger) build.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from demixer.engine.errors import EngineError

# the references the parity tests compare with: audio-separator (and the onnxruntime its MDX
# separator runs on) for MDX-Net, pymss-core (MSST's classes) for the RoFormers, whose exporter
# also builds the models with them
REQUIREMENTS = (
    "torch==2.13.0",
    "demucs==4.1.0",
    "numpy",
    "onnx",
    "audio-separator==0.47.1",
    "onnxruntime==1.32.0",
    "pymss-core==0.1.14",
)
MARKER = ".demixer-importer"  # written last: an environment without it is rebuilt
BUILD_TIMEOUT = 3600


class ImporterEnvError(EngineError):
    """The importer's environment could not be built (no suitable Python, pip failed)."""


def location() -> Path:
    configured = os.environ.get("DEMIXER_IMPORTER_ENV")
    return Path(configured or Path.cwd() / "var" / "importer-venv").resolve()


def base_python() -> str:
    """The interpreter the environment is built with (torch 2.13 needs CPython 3.10-3.13)."""
    wanted = os.environ.get("DEMIXER_IMPORTER_PYTHON") or "python3.11"
    found = shutil.which(wanted)
    if found is None:
        raise ImporterEnvError(
            f"the checkpoint importer needs {wanted} to build its environment (PyTorch, demucs); "
            "install it or point $DEMIXER_IMPORTER_PYTHON at a Python 3.11"
        )
    return found


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def is_ready(env: Path | None = None) -> bool:
    env = env or location()
    marker = env / MARKER
    return python_of(env).is_file() and marker.is_file() and marker.read_text() == _stamp()


def _stamp() -> str:
    return "\n".join(REQUIREMENTS) + "\n"


def ensure(log: Callable[[str], None] | None = None, env: Path | None = None) -> Path:
    """The environment's Python, building the environment first if it is missing or stale
    (minutes, once; a lock keeps two imports from building it at the same time)."""
    env = env or location()
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(env.with_name(env.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_ready(env):
            _build(env, log or (lambda line: print(line, file=sys.stderr)))
    return python_of(env)


def _build(env: Path, log: Callable[[str], None]) -> None:
    log(f"building the importer's environment in {env} ({', '.join(REQUIREMENTS)}) ...")
    shutil.rmtree(env, ignore_errors=True)
    _run([base_python(), "-m", "venv", str(env)], "creating the virtualenv")
    _run(
        [str(python_of(env)), "-m", "pip", "install", "-q", *REQUIREMENTS],
        "installing " + ", ".join(REQUIREMENTS),
    )
    (env / MARKER).write_text(_stamp())


def _run(command: list[str], what: str) -> None:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ImporterEnvError(f"{what} took longer than {BUILD_TIMEOUT} s") from None
    if result.returncode != 0:
        lines = [
            line
            for line in (result.stderr or result.stdout).splitlines()
            if line.strip() and not line.startswith("WARNING")
        ]
        raise ImporterEnvError(f"{what} failed: {lines[-1] if lines else result.returncode}")
