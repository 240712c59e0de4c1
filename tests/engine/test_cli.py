"""``demixer`` on the command line: real runs, output layout, and exit code 2 for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.engine import audio, cli
from demixer.engine.separate import separate_array
from demixer.testing import signals
from demixer.testing.files import write_audio

CLI = [sys.executable, "-m", "demixer.engine.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The command's own ``main`` in this process, for refusals that come before any session is
    made (a child process would only add its start-up): its exit code and what it wrote to
    stderr. An exception that escaped ``main`` (a traceback for the user) fails the test."""
    try:
        code = cli.main(list(args))
    except SystemExit as exit:  # argparse refuses a malformed option before main's own checks
        code = int(exit.code or 0)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5 s generated song at 48 kHz, tagged, as FLAC: one model run."""
    stems = signals.song(5.0, seed=11)
    mix = signals.mix(stems)
    folder = tmp_path_factory.mktemp("cli")
    mix48 = audio.resample(mix, 44100, 48000)
    return write_audio(
        folder / "My Song.flac",
        mix48,
        48000,
        "flac",
        tags={"title": "My Song", "artist": "The Band"},
    )


@pytest.mark.model
def test_separate_two_files_four_stems_and_two_stems(clip: Path, tmp_path: Path) -> None:
    """One call, two files (one of them corrupt): good one written, exit code 2 for the bad."""
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"definitely not an mp3" * 100)
    out = tmp_path / "out"
    result = run_cli(
        "separate",
        str(clip),
        str(bad),
        "-o",
        str(out),
        "--format",
        "flac",
        "--bit-depth",
        "24",
        "-q",
    )
    assert result.returncode == 2
    assert "broken.mp3: not a recognised audio file" in result.stderr
    assert "Traceback" not in result.stderr
    files = sorted(p.name for p in (out / "My Song").iterdir())
    assert files == ["bass.flac", "drums.flac", "other.flac", "vocals.flac"]
    info = sf.info(out / "My Song" / "vocals.flac")
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_24")
    assert info.frames == pytest.approx(5.0 * 44100, abs=2)
    assert audio.probe(out / "My Song" / "drums.flac").tags == {
        "title": "My Song",
        "artist": "The Band",
    }


@pytest.mark.model
def test_two_stems_mp3_at_source_rate(clip: Path, tmp_path: Path) -> None:
    result = run_cli(
        "separate",
        str(clip),
        "-o",
        str(tmp_path),
        "--two-stems",
        "vocals",
        "--format",
        "mp3",
        "--bitrate",
        "192",
        "--sample-rate",
        "source",
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "My Song"
    assert sorted(p.name for p in folder.iterdir()) == ["no_vocals.mp3", "vocals.mp3"]
    info = audio.probe(folder / "no_vocals.mp3")
    assert info.rate == 48000
    assert info.duration == pytest.approx(5.0, abs=0.1)
    assert "My Song.flac" in result.stdout  # the summary line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["separate", "missing.wav"], "missing.wav: file not found"),
        (["separate", "{clip}", "--two-stems", "kazoo"], "--two-stems must be one of"),
        (["separate", "{clip}", "--format", "flac", "--bit-depth", "32"], "flac supports"),
        (["separate", "{clip}", "--sample-rate", "fast"], "--sample-rate"),
        (
            ["separate", "{clip}", "--format", "mp3", "--sample-rate", "96000"],
            "mp3 cannot be written at 96000 Hz",
        ),
    ],
)
def test_bad_input_exit_code_2(
    args: list[str], message: str, clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.format(clip=clip) for a in args]
    code, stderr = run_main(capsys, *args, "-o", str(tmp_path / "out"))
    assert code == 2
    assert message in stderr


@pytest.mark.slow  # the child makes the real session first (~2.5 s)
def test_an_empty_file_exit_code_2(tmp_path: Path) -> None:
    """Refused once the session is made (a child process: the session stays out of this one)."""
    empty = tmp_path / "empty.wav"
    empty.touch()
    result = run_cli("separate", str(empty), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "the file is empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_weights_names_fetch_models(clip: Path, tmp_path: Path) -> None:
    result = run_cli(
        "separate",
        str(clip),
        "-o",
        str(tmp_path),
        env={"DEMIXER_MODELS_DIR": str(tmp_path / "no-models")},
    )
    assert result.returncode == 2
    assert "demixer fetch-models" in result.stderr
    assert "Traceback" not in result.stderr


def test_cuda_without_provider_is_a_clear_message(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has the CUDA provider")
    code, stderr = run_main(capsys, "separate", str(clip), "-o", str(tmp_path), "--device", "cuda")
    assert code == 2
    assert "onnxruntime-gpu" in stderr


def test_low_memory_gives_the_same_stems(clip: Path, tmp_path: Path, model) -> None:
    """--low-memory keeps the separated audio on disk: same stems, same files."""
    result = run_cli(
        "separate",
        str(clip),
        "-o",
        str(tmp_path),
        "--low-memory",
        "-q",
        "--bit-depth",
        "32",
        "--clip-mode",
        "none",
    )
    assert result.returncode == 0, result.stderr
    expected = separate_array(audio.decode(clip).samples, model=model)
    for index, name in enumerate(("drums", "bass", "other", "vocals")):
        got, _ = sf.read(tmp_path / "My Song" / f"{name}.wav", dtype="float32")
        np.testing.assert_allclose(got.T, expected[index], atol=1e-4)


@pytest.mark.model
def test_silence_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((44100, 2), dtype=np.float32), 44100)
    result = run_cli("separate", str(path), "-o", str(tmp_path), "-q")
    assert result.returncode == 0, result.stderr
    drums, _ = sf.read(tmp_path / "silence" / "drums.wav", dtype="float32")
    assert np.abs(drums).max() == 0.0
