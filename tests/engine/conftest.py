"""Fixtures of the engine's import tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demixer.engine import model_files, registry


@pytest.fixture(scope="module")
def models_folder(imports_folder: Path) -> Iterator[Path]:
    """Imports go to the session's folder of their own, which the registry reads meanwhile."""
    previous = model_files._configured_dir
    registry.configure(imports_folder)
    yield imports_folder
    model_files._configured_dir = previous
