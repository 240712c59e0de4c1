"""``demixer models import`` of MSST BS-RoFormer / Mel-Band RoFormer checkpoints: random-weight
checkpoints at small configs made with the reference classes (pymss-core), imported through the
CLI, then a generated song separated through demixer's whole path (decode, chunks, overlap,
fades, the last partial chunk; a stereo and a mono file) and compared with MSST's ``demix`` run
with the reference classes on the same input (tests/engine/roformer_reference.py); the published
configs of Kim's Mel-Band RoFormer vocals and viperx's BS-RoFormer 1297 likewise (``flagship``).
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
HELPER = Path(__file__).with_name("roformer_reference.py")


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """3.1 s of generated music: stereo, and its left channel."""
    return write_song(tmp_path_factory.mktemp("roformer-song"), 3.1, seed=7)


def imported(folder: Path, checkpoints: Path, name: str) -> dict:
    if not (folder / "imported" / name).is_dir():
        import_checkpoint(folder, checkpoints, name)
    return json.loads((folder / "imported" / name / "manifest.json").read_text())


@pytest.mark.parametrize(
    ("name", "architecture", "stems"),
    [
        ("bs_small", "bs_roformer", ("vocals", "drums", "other")),
        ("mel_small", "mel_band_roformer", ("vocals", "other")),
        ("mel_target", "mel_band_roformer", ("vocals", "other")),
        ("mel_norm", "mel_band_roformer", ("vocals", "other")),  # inference.normalize
    ],
)
def test_roformer_matches_msst_demix(
    name: str,
    architecture: str,
    stems: tuple[str, ...],
    reference_checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    song: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    manifest = imported(models_folder, reference_checkpoints, name)
    assert manifest["architecture"] == architecture
    assert manifest["members"][0]["agreement_db"] >= MIN_SNR_DB
    spec = registry.get_spec(name)
    assert spec.sources == stems and registry.is_installed(name)
    assert dict(spec.settings)["normalize"] == name.endswith("_norm")
    reference = Reference(importer_python, HELPER, reference_checkpoints)
    for path in song:  # stereo, then mono (both channels the same, as MSST makes it)
        result = compare(name, path, reference, tmp_path)
        print(name, path.name, "dB per stem:", [round(snr, 1) for snr in result.snrs])
        assert min(result.snrs) >= MIN_SNR_DB, (path.name, result.snrs)
    if name in ("mel_target", "mel_norm"):  # the network gives vocals: other is the mix less them
        np.testing.assert_allclose(result.ours[1], result.mix - result.ours[0], atol=1e-6)


def test_refusals(reference_checkpoints: Path, models_folder: Path, tmp_path: Path) -> None:
    config = (reference_checkpoints / "bs_small.yaml").read_text()
    checkpoint = str(reference_checkpoints / "bs_small.ckpt")
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
        result = models_cli(models_folder, "import", checkpoint, str(path), "--name", "refused")
        assert result.returncode != 0, case
        assert expected in result.stderr, (case, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # one clear line
    assert not (models_folder / "imported" / "refused").exists()


@pytest.mark.slow
@pytest.mark.flagship
@pytest.mark.parametrize("name", ["kim_mel_band_roformer", "bs_roformer_1297"])
def test_flagship_configs_match_msst_demix(
    name: str,
    flagship_checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    tmp_path: Path,
) -> None:
    """The published configs (Kim's Mel-Band RoFormer vocals, viperx's BS-RoFormer 1297) at
    random weights: the import's export and one whole song (two borders, a batch of four chunks
    and the last one alone, zero-padded) against MSST's ``demix`` with the reference classes."""
    manifest = imported(models_folder, flagship_checkpoints, name)
    assert registry.get_spec(name).sources == ("vocals", "other")
    stereo, _ = write_song(tmp_path, 9.0, seed=5)
    reference = Reference(importer_python, HELPER, flagship_checkpoints)
    result = compare(name, stereo, reference, tmp_path)
    agreement = manifest["members"][0]["agreement_db"]
    print(name, f"one chunk {agreement:.1f} dB, per stem:", [round(snr, 1) for snr in result.snrs])
    assert min(result.snrs) >= MIN_SNR_DB, result.snrs
