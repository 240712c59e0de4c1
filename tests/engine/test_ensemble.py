"""Ensembles: ``demixer models ensemble`` names a combination of installed models; run like a
model, each stem is the weighted average of the members that give it (audio-separator's
``avg_wave``), and the stems are the union of the members'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from demixer.engine import model_files, registry
from demixer.engine.options import SeparationOptions
from demixer.engine.separate import Progress
from demixer.engine.sessions import load_model

CLI = [sys.executable, "-m", "demixer.engine.cli"]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder with the real htdemucs and Spleeter files (links) and nothing else."""
    folder = tmp_path / "models"
    folder.mkdir()
    real = registry.models_dir()
    for path in real.iterdir():
        if path.name.startswith(("htdemucs", "spleeter")) and path.is_file():
            (folder / path.name).symlink_to(path)
    monkeypatch.setattr(model_files, "_configured_dir", folder)
    return folder


def ensemble_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*CLI, "--models-dir", str(folder), "models", "ensemble", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_an_ensemble_is_listed_with_the_union_of_its_members_stems(folder: Path) -> None:
    result = ensemble_cli(folder, "duo", "htdemucs", "spleeter", "--weights", "2", "1")
    assert result.returncode == 0, result.stderr
    data = json.loads((folder / "imported/duo/manifest.json").read_text())
    assert data["members"] == ["htdemucs", "spleeter"] and data["weights"] == [2.0, 1.0]
    spec = registry.get_spec("duo")
    assert spec.sources == ("drums", "bass", "other", "vocals", "accompaniment")
    assert spec.speed == pytest.approx(registry.HTDEMUCS.speed + registry.SPLEETER.speed)
    assert registry.is_installed("duo")
    listed = subprocess.run(
        [*CLI, "--models-dir", str(folder), "models", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "duo (ensemble: htdemucs + spleeter)" in listed


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["solo", "htdemucs"], "two different models or more"),
        (["duo", "htdemucs", "nosuch"], "unknown model 'nosuch'"),
        (["duo", "htdemucs", "spleeter", "--weights", "1"], "one positive weight a member"),
        (["htdemucs", "htdemucs", "spleeter"], "htdemucs is a built-in model"),
    ],
)
def test_a_bad_ensemble_is_refused_with_one_line(folder: Path, args: list[str], error: str) -> None:
    result = ensemble_cli(folder, *args)
    assert result.returncode != 0 and error in result.stderr
    assert not (folder / "imported" / args[0]).exists()


@pytest.mark.model
def test_the_ensemble_averages_its_members_stems(
    folder: Path, song_6s: tuple[dict[str, np.ndarray], np.ndarray]
) -> None:
    assert (
        ensemble_cli(folder, "duo", "htdemucs", "spleeter", "--weights", "2", "1").returncode == 0
    )
    _, mix = song_6s
    reports: list[Progress] = []
    options = SeparationOptions(model="duo")
    ours = load_model(options).separate(mix, options, progress=reports.append)
    demucs = load_model(SeparationOptions()).separate(mix, SeparationOptions())
    spleeter_options = SeparationOptions(model="spleeter")
    spleeter = load_model(spleeter_options).separate(mix, spleeter_options)
    np.testing.assert_allclose(ours[3], (2 * demucs[3] + spleeter[0]) / 3, atol=1e-6)
    np.testing.assert_allclose(ours[:3], demucs[:3], atol=1e-6)  # htdemucs' alone
    np.testing.assert_allclose(ours[4], spleeter[1], atol=1e-6)  # Spleeter's alone
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0.5 < f < 1 for f in fractions)  # the second member's share is reported too
