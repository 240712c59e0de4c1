"""Fixtures shared by every suite: one real model session per test process, generated clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from demixer.engine.onnx_model import SegmentModel, shared_model
from demixer.testing import signals

DATA = Path(__file__).parent / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the real session runs the real model, so it carries the mark."""
    for item in items:
        if "model" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def model() -> SegmentModel:
    """The real htdemucs session (real weights), created once and shared by all tests."""
    return shared_model()


@pytest.fixture(scope="session")
def song_6s() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Six seconds of generated music: (true stems, mix), float32 (2, N) at 44.1 kHz."""
    stems = signals.song(6.0, seed=7)
    return stems, signals.mix(stems)
