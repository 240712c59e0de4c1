"""Recipes: ``demixer models recipe NAME --first A --then B --on STEM`` runs A on the mix and B on
one of A's stems (or on the mix minus it); its stems are A's less the one split further plus
B's, each exactly what running the two models by hand gives, with one progress bar."""

from __future__ import annotations

import itertools
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


def recipe_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*CLI, "--models-dir", str(folder), "models", "recipe", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_recipe_is_listed_with_its_stems(folder: Path) -> None:
    made = recipe_cli(folder, "split", "--first", "spleeter", "--then", "htdemucs")
    assert made.returncode != 0  # --on is required
    made = recipe_cli(
        folder, "split", "--first", "spleeter", "--then", "htdemucs", "--on", "accompaniment"
    )
    assert made.returncode == 0, made.stderr
    data = json.loads((folder / "imported/split/manifest.json").read_text())
    assert (data["first"], data["then"], data["on"], data["complement"]) == (
        "spleeter",
        "htdemucs",
        "accompaniment",
        False,
    )
    spec = registry.get_spec("split")
    assert spec.architecture == "recipe" and registry.is_installed("split")
    assert spec.sources == (
        "vocals",
        "accompaniment_drums",
        "accompaniment_bass",
        "accompaniment_other",
        "accompaniment_vocals",
    )
    assert spec.speed == pytest.approx(registry.HTDEMUCS.speed + registry.SPLEETER.speed)
    # on the rest: the first's stem kept, the second's by their own names unless taken
    rest = recipe_cli(
        folder, "rest", "--first", "htdemucs", "--then", "spleeter", "--on", "no_vocals"
    )
    assert rest.returncode == 0, rest.stderr
    assert registry.get_spec("rest").sources == ("vocals", "no_vocals_vocals", "accompaniment")
    listed = subprocess.run(
        [*CLI, "--models-dir", str(folder), "models", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "split (recipe: spleeter, then htdemucs on accompaniment)" in listed
    assert "rest (recipe: htdemucs, then spleeter on no_vocals)" in listed


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["x", "--first", "htdemucs", "--then", "spleeter", "--on", "guitar"], "not a stem of"),
        (["x", "--first", "htdemucs", "--then", "nosuch", "--on", "drums"], "unknown model"),
        (["spleeter", "--first", "htdemucs", "--then", "spleeter", "--on", "bass"], "built-in"),
    ],
)
def test_a_bad_recipe_is_refused_with_one_line(folder: Path, args: list[str], error: str) -> None:
    result = recipe_cli(folder, *args)
    assert result.returncode != 0 and error in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (folder / "imported" / args[0]).exists()


def test_a_recipe_of_a_recipe_is_refused(folder: Path) -> None:
    args = ["--then", "htdemucs", "--on", "accompaniment"]
    assert recipe_cli(folder, "one", "--first", "spleeter", *args).returncode == 0
    result = recipe_cli(folder, "two", "--first", "htdemucs", "--then", "one", "--on", "drums")
    assert result.returncode != 0 and "one is a recipe" in result.stderr


@pytest.mark.model
def test_the_recipe_runs_both_steps_as_by_hand(
    folder: Path, song_6s: tuple[dict[str, np.ndarray], np.ndarray]
) -> None:
    made = recipe_cli(
        folder, "split", "--first", "spleeter", "--then", "htdemucs", "--on", "accompaniment"
    )
    assert made.returncode == 0, made.stderr
    _, mix = song_6s
    reports: list[Progress] = []
    pieces: list[tuple[int, int, np.ndarray]] = []
    options = SeparationOptions(model="split")
    ours = load_model(options).separate(
        mix,
        options,
        progress=reports.append,
        on_ready=lambda start, end, block: pieces.append((start, end, block.copy())),
    )
    spleeter_options = SeparationOptions(model="spleeter")
    spleeter = load_model(spleeter_options).separate(mix, spleeter_options)
    demucs = load_model(SeparationOptions()).separate(spleeter[1], SeparationOptions())
    assert ours.shape == (5, 2, mix.shape[-1])
    np.testing.assert_allclose(ours[0], spleeter[0], atol=1e-6)  # Spleeter's vocals
    np.testing.assert_allclose(ours[1:], demucs, atol=1e-6)  # htdemucs on its accompaniment
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0 < f < 0.2 for f in fractions)  # the first step's share is reported
    assert any(0.5 < f < 1 for f in fractions)  # and the second's
    # the second step's final pieces come with the first's stems beside them, in order
    assert pieces and pieces[0][0] == 0
    for (_, end, _), (start, _, _) in itertools.pairwise(pieces):
        assert start == end
    for start, end, block in pieces:
        np.testing.assert_array_equal(block, ours[:, :, start:end])
