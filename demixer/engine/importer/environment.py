"""The importer's own environment: a virtualenv with PyTorch and ``demucs``, made on first use.

Only ``demixer models import`` needs PyTorch (to read the checkpoints and export them); the app,
the worker and the web never do. The environment lives in ``$DEMIXER_IMPORTER_ENV``, else
``var/importer-venv`` under the current directory, and is built with ``$DEMIXER_IMPORTER_PYTHON``,
else ``python3.11``, from :data:`LOCK` (exact versions with their hashes, for CPython 3.11 on
x86-64 Linux; ``make lock`` refreshes it from ``environment.in``): see
:mod:`demixer.engine.locked_env`. PyTorch is its CPU build (``+cpu``): the default build of the
same version brings CUDA's libraries, and the export runs on the CPU.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from demixer.engine import locked_env
from demixer.engine.locked_env import LockedEnvError as ImporterEnvError
from demixer.engine.locked_env import python_of as python_of

# PyTorch, demucs and the references the parity tests compare with (see environment.in)
LOCK = Path(__file__).with_name("environment.lock")


def location() -> Path:
    configured = os.environ.get("DEMIXER_IMPORTER_ENV")
    return Path(configured or Path.cwd() / "var" / "importer-venv").resolve()


def base_python() -> str:
    """The interpreter the environment is built with (the lock is for CPython 3.11)."""
    wanted = os.environ.get("DEMIXER_IMPORTER_PYTHON") or "python3.11"
    found = shutil.which(wanted)
    if found is None:
        raise ImporterEnvError(
            f"the checkpoint importer needs {wanted} to build its environment (PyTorch, demucs); "
            "install it or point $DEMIXER_IMPORTER_PYTHON at a Python 3.11"
        )
    return found


def is_ready(env: Path | None = None) -> bool:
    return locked_env.is_ready(env or location(), LOCK)


def ensure(log: Callable[[str], None] | None = None, env: Path | None = None) -> Path:
    """The environment's Python, building the environment first if it is missing or stale."""
    say = log or (lambda line: print(line, file=sys.stderr))
    return locked_env.ensure(env or location(), LOCK, base_python, say)
