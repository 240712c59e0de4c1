"""``demixer models import`` of MSST MDX23C (TFC-TDF v3) and SCNet checkpoints: random-weight
checkpoints at small configs made with the reference classes (pymss-core), imported through the
CLI, then a generated song separated through demixer's whole path (decode, chunks, overlap,
fades, the last partial chunk; a stereo and a mono file) and compared with MSST's ``demix`` run
with the reference classes on the same input (tests/engine/spectral_reference.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.engine import model_files, registry
from demixer.engine.importer import environment
from demixer.engine.options import SeparationOptions
from demixer.engine.roformer.demix import plan
from demixer.engine.separate import separate_file
from demixer.engine.sessions import load_model
from demixer.testing import signals

pytestmark = pytest.mark.model
HELPER = Path(__file__).with_name("spectral_reference.py")
CLI = [sys.executable, "-m", "demixer.engine.cli"]
MIN_SNR_DB = 40.0


@pytest.fixture(scope="module")
def spectral_checkpoints(importer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spectral-checkpoints")
    subprocess.run([str(importer_python), str(HELPER), "make", str(out)], check=True, timeout=900)
    return out


@pytest.fixture(scope="module")
def models_folder(imports_folder: Path) -> Iterator[Path]:
    previous = model_files._configured_dir
    registry.configure(imports_folder)
    yield imports_folder
    model_files._configured_dir = previous


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """2.3 s of generated music as float WAVs (decoded exactly): stereo, and its left channel."""
    mix = signals.mix(signals.song(2.3, seed=11))
    folder = tmp_path_factory.mktemp("spectral-song")
    sf.write(folder / "stereo.wav", mix.T, 44100, subtype="FLOAT")
    sf.write(folder / "mono.wav", mix[0], 44100, subtype="FLOAT")
    return folder / "stereo.wav", folder / "mono.wav"


def import_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--models-dir", str(folder), "models", "import", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "DEMIXER_IMPORTER_ENV": str(environment.location())},
        check=False,
    )


def reference(python: Path, checkpoints: Path, name: str, mix: np.ndarray, tmp: Path) -> np.ndarray:
    np.save(tmp / "mix.npy", mix)
    command = [str(python), str(HELPER), "demix", str(checkpoints / f"{name}.yaml")]
    command += [str(checkpoints / f"{name}.ckpt"), str(tmp / "mix.npy"), str(tmp / "ref.npy")]
    subprocess.run(command, check=True, timeout=900)
    return np.load(tmp / "ref.npy")


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = np.sum((reference.astype(np.float64) - estimate) ** 2)
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / noise))


@pytest.mark.parametrize(
    ("name", "architecture", "stems"),
    [
        ("mdx_small", "mdx23c", ("kick", "snare", "toms")),
        ("mdx_target", "mdx23c", ("vocals", "other")),
        ("scnet_small", "scnet", ("drums", "bass", "other", "vocals")),
    ],
)
def test_spectral_matches_msst_demix(
    name: str,
    architecture: str,
    stems: tuple[str, ...],
    spectral_checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    song: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    result = import_cli(
        models_folder,
        str(spectral_checkpoints / f"{name}.ckpt"),
        str(spectral_checkpoints / f"{name}.yaml"),
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((models_folder / "imported" / name / "manifest.json").read_text())
    assert manifest["architecture"] == architecture
    assert manifest["members"][0]["agreement_db"] >= MIN_SNR_DB
    spec = registry.get_spec(name)
    assert spec.sources == stems and registry.is_installed(name)
    options = SeparationOptions(model=name)
    session = load_model(options)
    for path in song:  # stereo, then mono (both channels the same, as MSST makes it)
        separated = separate_file(path, options, model=session)
        decoded, _ = sf.read(path, dtype="float32", always_2d=True)
        mix = np.ascontiguousarray(np.repeat(decoded.T, 2 // decoded.shape[1], axis=0))
        settings = dict(spec.settings)
        chunks = plan(mix.shape[-1], settings["chunk_size"], settings["num_overlap"])
        assert chunks.border > 0 and chunks.chunks[-1].length < settings["chunk_size"]
        theirs = reference(importer_python, spectral_checkpoints, name, mix, tmp_path)
        ours = np.stack([separated.stems[s] for s in stems])
        assert ours.shape == theirs.shape
        assert min(np.sqrt(np.mean(theirs**2, axis=(1, 2)))) > 1e-3  # stems that can disagree
        snrs = [snr_db(theirs[k], ours[k]) for k in range(len(stems))]
        assert min(snrs) >= MIN_SNR_DB, (path.name, snrs)
    if name == "mdx_target":  # the network gives vocals only: other is the mix minus them
        np.testing.assert_allclose(ours[1], mix - ours[0], atol=1e-6)


def test_spectral_refusals(spectral_checkpoints: Path, models_folder: Path, tmp_path: Path) -> None:
    config = (spectral_checkpoints / "scnet_small.yaml").read_text()
    checkpoint = str(spectral_checkpoints / "scnet_small.ckpt")
    cases = {
        "unknown key": (config.replace("  expand: 1\n", "  expand: 1\n  wobble: 3\n"), "wobble"),
        "mono": (config.replace("audio_channels: 2", "audio_channels: 1"), "stereo"),
        "wrong shape": (config.replace("- 32\n", "- 48\n", 1), "does not fit its config"),
        "partial hop": (
            (spectral_checkpoints / "mdx_small.yaml")
            .read_text()
            .replace("chunk_size: 8064", "chunk_size: 8000"),
            "not a multiple of audio.hop_length",
        ),
    }
    for case, (text, expected) in cases.items():
        path = tmp_path / "config.yaml"
        path.write_text(text)
        result = import_cli(models_folder, checkpoint, str(path), "--name", "refused")
        assert result.returncode != 0, case
        assert expected in result.stderr, (case, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # one clear line
    assert not (models_folder / "imported" / "refused").exists()


@pytest.fixture(scope="module")
def flagship_checkpoints(importer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spectral-flagship")
    command = [str(importer_python), str(HELPER), "make", str(out), "--flagship"]
    subprocess.run(command, check=True, timeout=900)
    return out


@pytest.mark.slow
@pytest.mark.flagship
@pytest.mark.parametrize(
    ("name", "seconds", "stems"),
    [
        ("drumsep_mdx23c", 6.0, ("Kick", "Snare", "Toms", "Hh", "Ride", "Crash")),
        ("scnet_large", 18.0, ("drums", "bass", "other", "vocals")),
    ],
)
def test_flagship_configs_match_msst_demix(
    name: str,
    seconds: float,
    stems: tuple[str, ...],
    flagship_checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    tmp_path: Path,
) -> None:
    """The published configs (6-stem DrumSep MDX23C, SCNet-large) at random weights: the
    import's export and one whole song (two borders and a partial last chunk) against MSST's
    ``demix`` with the reference classes."""
    result = import_cli(
        models_folder,
        str(flagship_checkpoints / f"{name}.ckpt"),
        str(flagship_checkpoints / f"{name}.yaml"),
    )
    assert result.returncode == 0, result.stderr
    spec = registry.get_spec(name)
    assert spec.sources == stems
    path = tmp_path / "song.wav"
    sf.write(path, signals.mix(signals.song(seconds, seed=5)).T, 44100, subtype="FLOAT")
    options = SeparationOptions(model=name)
    separated = separate_file(path, options, model=load_model(options))
    decoded, _ = sf.read(path, dtype="float32", always_2d=True)
    mix = np.ascontiguousarray(decoded.T)
    settings = dict(spec.settings)
    chunks = plan(mix.shape[-1], settings["chunk_size"], settings["num_overlap"])
    assert chunks.border > 0 and chunks.chunks[-1].length < settings["chunk_size"]
    theirs = reference(importer_python, flagship_checkpoints, name, mix, tmp_path)
    ours = np.stack([separated.stems[s] for s in stems])
    snrs = [snr_db(theirs[k], ours[k]) for k in range(len(stems))]
    assert min(snrs) >= MIN_SNR_DB, snrs
