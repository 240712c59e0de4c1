"""Every architecture ``demixer models import`` takes is named in its --help, and every imported
model's manifest, whatever its architecture, is listed by the registry (RoFormer imports were
once skipped by the Demucs manifests' reader)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from demixer.engine import model_files, registry
from tests.engine.imported_manifests import MDX23C, write_manifest

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


@pytest.mark.parametrize(
    ("architecture", "section", "extra"),
    [
        ("mdx23c", "msst", MDX23C),
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
    write_manifest(tmp_path, "parts", architecture, section, extra)
    spec = registry.get_spec("parts")
    assert spec.architecture == architecture and spec.sources == ("kick", "snare")
    assert dict(spec.settings)["chunk_size"] == 8064
    assert not registry.is_installed("parts")  # no graph: listed, not installed
