"""Fixtures shared by every suite: one real model session per test process, generated clips."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import numpy as np

    from demixer.engine.htdemucs.model import SegmentModel

DATA = Path(__file__).parent / "data"


# Tests whose session fixtures are expensive run in one test process each when the suite runs in
# parallel (`make test`: pytest-xdist with --dist loadgroup), so each is set up once, not once per
# process: the importer's environment and exports (the 6-stem browser test among them), and the
# browser tests' shared live app with its worker warm-up. The two groups may run side by side.
IMPORTER_FIXTURES = {"importer_python", "checkpoints", "imports_folder", "six_stem_import"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups off the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the real session runs the real model, so it carries the mark; one
    that needs the importer's environment (PyTorch: minutes to build, seconds to start in each
    child process) is slow."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "model" in fixtures:
            item.add_marker(pytest.mark.model)
        if fixtures & IMPORTER_FIXTURES:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group("importer"))
        elif item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def one_throttle_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttles count in fixed windows of wall-clock time: a test that crossed a window's
    edge between two requests would see its count start again (and fail now and then). In a
    test, their clock stands still."""
    from demixer.ops import throttles

    now = time.time()
    monkeypatch.setattr(throttles, "time", SimpleNamespace(time=lambda: now))


@pytest.fixture(scope="session")
def model() -> SegmentModel:
    """The real htdemucs session (real weights), created once and shared by all tests."""
    # here, not at the top: this file is also loaded by the parallel run's controller process,
    # which runs no test (onnxruntime and scipy would only slow its start)
    from demixer.engine.htdemucs.model import shared_model

    return shared_model()


@pytest.fixture(scope="session")
def song_6s() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Six seconds of generated music: (true stems, mix), float32 (2, N) at 44.1 kHz."""
    from demixer.testing import signals  # as above: not in the controller process

    stems = signals.song(6.0, seed=7)
    return stems, signals.mix(stems)


# The checkpoint importer's fixtures (tests/engine/test_import.py, tests/web/test_six_stems.py):
# its environment is built once (minutes), random-weight checkpoints are made once, and imports go
# to one models folder per test session, so each model is exported once however many tests use it.
IMPORT_HELPER = Path(__file__).parent / "engine" / "demucs_reference.py"


@pytest.fixture(scope="session")
def importer_python() -> Path:
    from demixer.engine.importer import environment

    try:
        return environment.ensure()
    except environment.ImporterEnvError as exc:
        pytest.skip(f"the importer's environment cannot be built here: {exc}")


@pytest.fixture(scope="session")
def checkpoints(importer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random-weight Demucs checkpoints made with demucs' own classes (see the helper)."""
    import subprocess

    out = tmp_path_factory.mktemp("checkpoints")
    command = [str(importer_python), str(IMPORT_HELPER), "make", str(out)]
    subprocess.run(command, check=True, timeout=1800)
    return out


@pytest.fixture(scope="session")
def imports_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The models folder imports go to in this test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def six_stem_import(checkpoints: Path, imports_folder: Path) -> Path:
    """``demixer models import`` of the random-weight htdemucs_6s checkpoint and the wheel's
    htdemucs_6s.yaml into the session's imports folder, run once (one export) for the engine's
    parity test and the web's 6-stem job alike; returns the folder."""
    import subprocess
    import sys

    files = sorted((checkpoints / "htdemucs_6s").iterdir())
    command = [sys.executable, "-m", "demixer.engine.cli", "--models-dir", str(imports_folder)]
    result = subprocess.run(
        [*command, "models", "import", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return imports_folder
