"""The models folder and the checksums of the files in it: verified downloads, stamped derivations.

Shared by every architecture's weights module (:mod:`demixer.engine.registry` for htdemucs,
:mod:`demixer.engine.spleeter.weights`); imports nothing heavy, so the web process can ask
whether a model is installed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

_configured_dir: Path | None = None


def configure(directory: str | os.PathLike[str] | None) -> None:
    """Set the models folder for this process (the web app does, from its settings)."""
    global _configured_dir
    _configured_dir = None if directory is None else Path(directory).resolve()


def models_dir() -> Path:
    """The folder configured for this process, else ``$DEMIXER_MODELS_DIR``, else ``var/models``
    under the current directory: never a path relative to the source, so an installed package
    finds the weights where it is run (the Makefile points every command at the checkout's)."""
    if _configured_dir is not None:
        return _configured_dir
    from_env = os.environ.get("DEMIXER_MODELS_DIR")
    return Path(from_env or Path.cwd() / "var" / "models").resolve()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def checked(path: Path, sha256: str | None = None) -> bool:
    """True when ``path`` has the expected hash (or, without one, the hash it was made with).

    Hashing a graph of hundreds of MB takes a noticeable moment on every load, so a checked file
    leaves a stamp beside it (hash, size, mtime)
    that counts only while the file keeps that size and mtime.
    """
    if not path.is_file():
        return False
    stat = path.stat()
    stamp = stamp_path(path)
    recorded = stamp.read_text().split() if stamp.is_file() else []
    if not recorded and sha256 is None:
        return False  # nothing to check against
    expected = sha256 or recorded[0]
    if recorded == [expected, str(stat.st_size), str(stat.st_mtime_ns)]:
        return True
    if sha256_of(path) != expected:
        return False
    stamp.write_text(f"{expected} {stat.st_size} {stat.st_mtime_ns}\n")
    return True


def recorded_checksum(path: Path) -> str | None:
    """The SHA-256 a derived file was stamped with, while it still has that size and mtime."""
    if not path.is_file() or not stamp_path(path).is_file():
        return None
    stat = path.stat()
    recorded = stamp_path(path).read_text().split()
    if len(recorded) == 3 and recorded[1:] == [str(stat.st_size), str(stat.st_mtime_ns)]:
        return recorded[0]
    return None


def derive(target: Path, make: Callable[[Path], None]) -> Path:
    """Write ``target`` with ``make(partial)``, move it into place atomically, stamp its hash."""
    partial = target.with_name(target.name + ".part")
    try:
        make(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    checked(target, sha256_of(target))  # record its checksum
    return target
