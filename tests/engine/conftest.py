"""Fixtures of the engine's import tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demixer.engine import model_files, registry
from tests.engine.import_parity import make_checkpoints


@pytest.fixture(scope="module")
def models_folder(imports_folder: Path) -> Iterator[Path]:
    """Imports go to the session's folder of their own, which the registry reads meanwhile."""
    previous = model_files._configured_dir
    registry.configure(imports_folder)
    yield imports_folder
    model_files._configured_dir = previous


@pytest.fixture(scope="module")
def reference_checkpoints(
    request: pytest.FixtureRequest, importer_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The random-weight checkpoints at small configs of the test module's reference helper
    (its ``HELPER``: ``roformer_reference.py``, ``spectral_reference.py``)."""
    helper = request.module.HELPER
    return make_checkpoints(importer_python, helper, tmp_path_factory.mktemp(helper.stem))


@pytest.fixture(scope="module")
def flagship_checkpoints(
    request: pytest.FixtureRequest, importer_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The same helper's checkpoints at the published configs (``make OUT --flagship``)."""
    helper = request.module.HELPER
    out = tmp_path_factory.mktemp(f"{helper.stem}-flagship")
    return make_checkpoints(importer_python, helper, out, "--flagship")
