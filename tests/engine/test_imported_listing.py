"""Every architecture ``demixer models import`` takes is named in its --help, and every imported
model's manifest, whatever its architecture, is listed by the registry (RoFormer imports were
once skipped by the Demucs manifests' reader)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from demixer.engine import model_files, registry
from demixer.engine.importer import manifest

ARCHITECTURES = ("htdemucs", "bs_roformer", "mel_band_roformer", "mdx23c", "scnet", "mdx")


def test_import_help_names_every_architecture() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demixer.engine.cli", "models", "import", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = " ".join(result.stdout.split())
    for name in ARCHITECTURES:
        assert name in text, name
    assert "not yet supported" not in text


def _write(folder: Path, name: str, architecture: str, section: str, settings: dict) -> None:
    data = {
        "format": manifest.FORMAT,
        "name": name,
        "architecture": architecture,
        "sources": ["kick", "snare"],
        "samplerate": 44100,
        "channels": 2,
        "segment_samples": 8064,
        "members": [
            {"graph": "model.onnx", "sha256": "0" * 64, "checkpoint": "x.ckpt", "weights": [1, 1]}
        ],
        section: settings,
    }
    target = manifest.folder(folder, name)
    target.mkdir(parents=True)
    (target / manifest.FILENAME).write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("architecture", "section", "extra"),
    [
        ("mdx23c", "msst", {"dim_f": 128, "padding": 0, "rectangular": False}),
        ("scnet", "msst", {"dim_f": 257, "padding": 111, "rectangular": True}),
        ("bs_roformer", "roformer", {"zero_dc": False, "istft_length": 8064}),
    ],
)
def test_imported_models_of_every_architecture_are_listed(
    architecture: str,
    section: str,
    extra: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_files, "_configured_dir", tmp_path)
    settings = {
        "outputs": 2,
        "chunk_size": 8064,
        "num_overlap": 4,
        "batch_size": 1,
        "n_fft": 512,
        "hop_length": 128,
        "win_length": 512,
        "normalized": False,
        **extra,
    }
    _write(tmp_path, "parts", architecture, section, settings)
    spec = registry.get_spec("parts")
    assert spec.architecture == architecture and spec.sources == ("kick", "snare")
    assert dict(spec.settings)["chunk_size"] == 8064
    assert not registry.is_installed("parts")  # no graph: listed, not installed
