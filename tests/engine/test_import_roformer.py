"""``demixer models import`` of MSST BS-RoFormer / Mel-Band RoFormer checkpoints: random-weight
checkpoints at small configs made with the reference classes (pymss-core), imported through the
CLI, then a generated song separated through demixer's whole path (decode, chunks, overlap,
fades, the last partial chunk; a stereo and a mono file) and compared with MSST's ``demix`` run
with the reference classes on the same input (tests/engine/roformer_reference.py).
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
HELPER = Path(__file__).with_name("roformer_reference.py")
CLI = [sys.executable, "-m", "demixer.engine.cli"]
MIN_SNR_DB = 40.0


@pytest.fixture(scope="module")
def roformer_checkpoints(importer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("roformer-checkpoints")
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
    """3.1 s of generated music as float WAVs (decoded exactly): stereo, and its left channel."""
    mix = signals.mix(signals.song(3.1, seed=7))
    folder = tmp_path_factory.mktemp("roformer-song")
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


def imported(folder: Path, checkpoints: Path, name: str) -> dict:
    if not (folder / "imported" / name).is_dir():
        result = import_cli(
            folder, str(checkpoints / f"{name}.ckpt"), str(checkpoints / f"{name}.yaml")
        )
        assert result.returncode == 0, result.stderr
    return json.loads((folder / "imported" / name / "manifest.json").read_text())


@pytest.mark.parametrize(
    ("name", "architecture", "stems"),
    [
        ("bs_small", "bs_roformer", ("vocals", "drums", "other")),
        ("mel_small", "mel_band_roformer", ("vocals", "other")),
        ("mel_target", "mel_band_roformer", ("vocals", "other")),
    ],
)
def test_roformer_matches_msst_demix(
    name: str,
    architecture: str,
    stems: tuple[str, ...],
    roformer_checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    song: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    manifest = imported(models_folder, roformer_checkpoints, name)
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
        theirs = reference(importer_python, roformer_checkpoints, name, mix, tmp_path)
        ours = np.stack([separated.stems[s] for s in stems])
        assert ours.shape == theirs.shape
        snrs = [snr_db(theirs[k], ours[k]) for k in range(len(stems))]
        assert min(snrs) >= MIN_SNR_DB, (path.name, snrs)
    if name == "mel_target":  # the network gives vocals only: other is the mix minus them
        np.testing.assert_allclose(ours[1], mix - ours[0], atol=1e-6)


def test_refusals(roformer_checkpoints: Path, models_folder: Path, tmp_path: Path) -> None:
    config = (roformer_checkpoints / "bs_small.yaml").read_text()
    checkpoint = str(roformer_checkpoints / "bs_small.ckpt")
    cases = {
        "unknown key": (config.replace("  depth: 1\n", "  depth: 1\n  wobble: 3\n"), "wobble"),
        "htdemucs": (
            "model_type: htdemucs\nmodel:\n  channels: 48\n",
            "htdemucs is recognised but not yet supported",
        ),
        "unknown type": (config.replace("bs_roformer", "bs_wobbleformer", 1), "unknown model_type"),
        "python object": ("model: !!python/object/apply:os.system ['true']\n", "YAML"),
    }
    for case, (text, expected) in cases.items():
        path = tmp_path / "config.yaml"
        path.write_text(text)
        result = import_cli(models_folder, checkpoint, str(path), "--name", "refused")
        assert result.returncode != 0, case
        assert expected in result.stderr, (case, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # one clear line
    assert not (models_folder / "imported" / "refused").exists()
