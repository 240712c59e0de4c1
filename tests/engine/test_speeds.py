"""Imported models are listed with their architecture's measured speed (demixer.engine.speeds),
at the measured size nearest their graph's, not a placeholder; every architecture `demixer models
import` takes has been measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demixer.engine import model_files, registry, speeds
from demixer.engine.importer import manifest
from demixer.engine.mdx import manifest as mdx_manifest
from tests.engine.imported_manifests import MDX23C, write_manifest

IMPORTED = ("bs_roformer", "mel_band_roformer", "mdx23c", "scnet", "mdx")
TWO_SIZES = (
    speeds.Measured("mdx23c", "small", graph_mb=10.0, speed=0.5),
    speeds.Measured("mdx23c", "large", graph_mb=400.0, speed=3.0),
)


def test_every_imported_architecture_has_a_measured_speed() -> None:
    for architecture in IMPORTED:
        speed = speeds.relative_speed(architecture)
        assert speed is not None and speed > 0, architecture
    assert speeds.relative_speed("wobbleformer") is None


def test_the_nearest_measured_size_gives_the_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speeds, "MEASURED", TWO_SIZES)
    assert speeds.relative_speed("mdx23c", 12_000_000) == 0.5
    assert speeds.relative_speed("mdx23c", 250_000_000) == 3.0  # nearer 400 than 10 on a log scale
    assert speeds.relative_speed("mdx23c", 50_000_000) == 0.5
    assert speeds.relative_speed("mdx23c") == 0.5  # size unknown: the first measured


def _msst(folder: Path, name: str, graph_bytes: int) -> None:
    target = write_manifest(folder, name, "mdx23c", "msst", MDX23C)
    (target / "model.onnx").write_bytes(b"\0" * graph_bytes)


def test_an_import_is_listed_with_the_speed_of_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files, "_configured_dir", tmp_path)
    tiny = tuple(  # the same two rows at a thousandth of the size: small files will do
        speeds.Measured(row.architecture, row.size, row.graph_mb / 1000, row.speed)
        for row in TWO_SIZES
    )
    monkeypatch.setattr(speeds, "MEASURED", tiny)
    _msst(tmp_path, "kit-small", 9_000)
    _msst(tmp_path, "kit-large", 300_000)
    assert registry.get_spec("kit-small").speed == 0.5
    assert registry.get_spec("kit-large").speed == 3.0


def test_an_mdx_net_import_is_listed_with_the_measured_mdx_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files, "_configured_dir", tmp_path)
    target = manifest.folder(tmp_path, "inst")
    target.mkdir(parents=True)
    data = {
        "format": mdx_manifest.FORMAT,
        "name": "inst",
        "architecture": mdx_manifest.ARCHITECTURE,
        "graph": "model.onnx",
        "sha256": "0" * 64,
        "file": "UVR-MDX-NET-Inst_HQ_3.onnx",
        "params": {
            "n_fft": 6144,
            "dim_f": 3072,
            "dim_t": 256,
            "compensate": 1.022,
            "primary_stem": "Instrumental",
        },
    }
    (target / manifest.FILENAME).write_text(json.dumps(data))
    assert registry.get_spec("inst").speed == speeds.relative_speed("mdx")
