"""``demixer models import`` of MSST MDX23C (TFC-TDF v3) and SCNet checkpoints: random-weight
checkpoints at small configs made with the reference classes (pymss-core), imported through the
CLI, then a generated song separated through demixer's whole path (decode, chunks, overlap,
fades, the last partial chunk; a stereo and a mono file) and compared with MSST's ``demix`` run
with the reference classes on the same input (tests/engine/spectral_reference.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from demixer.engine import registry
from tests.engine.import_parity import (
    MIN_SNR_DB,
    Reference,
    compare,
    import_checkpoint,
    models_cli,
    write_song,
)

pytestmark = pytest.mark.model
HELPER = Path(__file__).with_name("spectral_reference.py")


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """2.3 s of generated music: stereo, and its left channel."""
    return write_song(tmp_path_factory.mktemp("spectral-song"), 2.3, seed=11)


@pytest.mark.parametrize(
    ("name", "architecture", "stems"),
    [
        ("mdx_small", "mdx23c", ("kick", "snare", "toms")),
        ("mdx_target", "mdx23c", ("vocals", "other")),
        ("scnet_small", "scnet", ("drums", "bass", "other", "vocals")),
        ("mdx_norm", "mdx23c", ("kick", "snare", "toms")),  # inference.normalize
    ],
)
def test_spectral_matches_msst_demix(
    name: str,
    architecture: str,
    stems: tuple[str, ...],
    reference_checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    song: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    import_checkpoint(models_folder, reference_checkpoints, name)
    manifest = json.loads((models_folder / "imported" / name / "manifest.json").read_text())
    assert manifest["architecture"] == architecture
    assert manifest["members"][0]["agreement_db"] >= MIN_SNR_DB
    spec = registry.get_spec(name)
    assert spec.sources == stems and registry.is_installed(name)
    assert dict(spec.settings)["normalize"] == name.endswith("_norm")
    reference = Reference(importer_python, HELPER, reference_checkpoints)
    for path in song:  # stereo, then mono (both channels the same, as MSST makes it)
        result = compare(name, path, reference, tmp_path)
        print(name, path.name, "dB per stem:", [round(snr, 1) for snr in result.snrs])
        assert min(np.sqrt(np.mean(result.theirs**2, axis=(1, 2)))) > 1e-3  # stems that can differ
        assert min(result.snrs) >= MIN_SNR_DB, (path.name, result.snrs)
    if name == "mdx_target":  # the network gives vocals only: other is the mix minus them
        np.testing.assert_allclose(result.ours[1], result.mix - result.ours[0], atol=1e-6)


def test_spectral_refusals(
    reference_checkpoints: Path, models_folder: Path, tmp_path: Path
) -> None:
    config = (reference_checkpoints / "scnet_small.yaml").read_text()
    checkpoint = str(reference_checkpoints / "scnet_small.ckpt")
    cases = {
        "unknown key": (config.replace("  expand: 1\n", "  expand: 1\n  wobble: 3\n"), "wobble"),
        "mono": (config.replace("audio_channels: 2", "audio_channels: 1"), "stereo"),
        "wrong shape": (config.replace("- 32\n", "- 48\n", 1), "does not fit its config"),
        "partial hop": (
            (reference_checkpoints / "mdx_small.yaml")
            .read_text()
            .replace("chunk_size: 8064", "chunk_size: 8000"),
            "not a multiple of audio.hop_length",
        ),
    }
    for case, (text, expected) in cases.items():
        path = tmp_path / "config.yaml"
        path.write_text(text)
        result = models_cli(models_folder, "import", checkpoint, str(path), "--name", "refused")
        assert result.returncode != 0, case
        assert expected in result.stderr, (case, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # one clear line
    assert not (models_folder / "imported" / "refused").exists()


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
    import_checkpoint(models_folder, flagship_checkpoints, name)
    assert registry.get_spec(name).sources == stems
    stereo, _ = write_song(tmp_path, seconds, seed=5)
    reference = Reference(importer_python, HELPER, flagship_checkpoints)
    result = compare(name, stereo, reference, tmp_path)
    assert min(result.snrs) >= MIN_SNR_DB, result.snrs
