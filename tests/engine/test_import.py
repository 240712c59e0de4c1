"""``demixer models import``: random-weight Demucs v4 checkpoints made with demucs' own classes
(official htdemucs hyper-parameters), imported through the CLI, then separated by demixer and
compared with ``demucs.apply.apply_model`` on the same clip. The importer's environment (PyTorch,
demucs) is built by the first test that needs it (minutes, once; reused afterwards); where it
cannot be built the tests are skipped, saying why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from demixer.engine import registry
from demixer.engine.errors import ModelNotAvailable
from demixer.engine.options import SeparationOptions
from demixer.engine.separate import Progress, count_segments
from demixer.engine.sessions import load_model
from demixer.testing import signals
from tests.engine.import_parity import MIN_SNR_DB, models_cli, snr_db

pytestmark = pytest.mark.model
HELPER = Path(__file__).with_name("demucs_reference.py")
CLI = [sys.executable, "-m", "demixer.engine.cli"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    """9 s of generated music: two segments at overlap 0.25, the second one padded."""
    mix = signals.mix(signals.song(9.0, seed=5))
    path = tmp_path_factory.mktemp("clip") / "clip.npy"
    np.save(path, mix)
    return mix, path


def import_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return models_cli(folder, "import", *args)


def reference(importer_python: Path, clip: Path, files: list[Path], target: Path) -> np.ndarray:
    """``demucs.apply.apply_model`` on the clip: float32 (S, 2, N)."""
    command = [str(importer_python), str(HELPER), "apply", str(clip), str(target)]
    subprocess.run([*command, *map(str, files)], check=True, timeout=1800)
    return np.load(target)


def check_parity(
    name: str, files: list[Path], importer_python: Path, clip: tuple[np.ndarray, Path], tmp: Path
) -> list[float]:
    """Separate the clip with the imported model, compare each stem with apply_model's."""
    mix, clip_path = clip
    options = SeparationOptions(model=name)
    reports: list[Progress] = []
    ours = load_model(options).separate(mix, options, progress=reports.append)
    theirs = reference(importer_python, clip_path, files, tmp / "reference.npy")
    assert ours.shape == theirs.shape
    # every segment counted, each one all of a bag's runs
    assert reports[-1].done == reports[-1].total == count_segments(mix.shape[-1], options) == 2
    return [snr_db(theirs[k], ours[k]) for k in range(theirs.shape[0])]


def test_htdemucs_checkpoint_matches_apply_model(
    checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    clip: tuple[np.ndarray, Path],
    tmp_path: Path,
) -> None:
    files = sorted((checkpoints / "htdemucs").glob("*.th"))
    result = import_cli(models_folder, *map(str, files), "--name", "random-htdemucs")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((models_folder / "imported/random-htdemucs/manifest.json").read_text())
    assert manifest["sources"] == ["drums", "bass", "other", "vocals"]
    assert manifest["segment_samples"] == int(7.8 * 44100)
    assert "Meta's Demucs weights" in manifest["licence"]
    assert manifest["members"][0]["agreement_db"] >= MIN_SNR_DB
    graph = onnx.load(str(models_folder / "imported/random-htdemucs/member-0.onnx"))
    fused = [node for node in graph.graph.node if node.op_type == "MultiHeadAttention"]
    assert len(fused) == 10  # as the built-in graph: every attention block fused
    spec = registry.get_spec("random-htdemucs")
    assert spec.architecture == "htdemucs" and registry.is_installed("random-htdemucs")
    listed = subprocess.run(
        [*CLI, "--models-dir", str(models_folder), "models", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "random-htdemucs" in listed and "htdemucs_ft" not in listed

    snrs = check_parity("random-htdemucs", files, importer_python, clip, tmp_path)
    assert min(snrs) >= MIN_SNR_DB, snrs


def test_six_stem_checkpoint_matches_apply_model(
    checkpoints: Path,
    six_stem_import: Path,  # the import itself, shared with tests/web/test_six_stems.py
    models_folder: Path,
    importer_python: Path,
    clip: tuple[np.ndarray, Path],
    tmp_path: Path,
) -> None:
    files = sorted((checkpoints / "htdemucs_6s").iterdir())
    assert (models_folder / "imported" / "htdemucs_6s" / "manifest.json").is_file()
    spec = registry.get_spec("htdemucs_6s")  # named after its YAML
    assert spec.sources == ("drums", "bass", "other", "vocals", "guitar", "piano")
    snrs = check_parity("htdemucs_6s", files, importer_python, clip, tmp_path)
    assert len(snrs) == 6 and min(snrs) >= MIN_SNR_DB, snrs


def test_fine_tuned_bag_matches_apply_model(
    checkpoints: Path,
    models_folder: Path,
    importer_python: Path,
    clip: tuple[np.ndarray, Path],
    tmp_path: Path,
) -> None:
    files = sorted((checkpoints / "htdemucs_ft").iterdir())
    result = import_cli(models_folder, *map(str, files))
    assert result.returncode == 0, result.stderr
    spec = registry.get_spec("htdemucs_ft")
    assert spec.architecture == "htdemucs-bag" and len(spec.files) == 4
    assert spec.member_weights == tuple(
        tuple(1.0 if i == k else 0.0 for i in range(4)) for k in range(4)
    )
    snrs = check_parity("htdemucs_ft", files, importer_python, clip, tmp_path)
    assert min(snrs) >= MIN_SNR_DB, snrs


def test_changed_graph_is_refused_at_load(models_folder: Path, checkpoints: Path) -> None:
    """Uses the import of the first test: one byte more and the model is neither installed
    nor loadable, with a message that says what to do."""
    if "random-htdemucs" not in registry.MODELS:
        pytest.skip("needs the import of test_htdemucs_checkpoint_matches_apply_model")
    graph = models_folder / "imported/random-htdemucs/member-0.onnx"
    original = graph.read_bytes()
    try:
        graph.write_bytes(original + b"\0")
        assert not registry.is_installed("random-htdemucs")
        with pytest.raises(ModelNotAvailable, match="no longer matches the SHA-256"):
            load_model(SeparationOptions(model="random-htdemucs", threads=1))
    finally:
        graph.write_bytes(original)


def test_malicious_pickle_is_refused_without_running(
    checkpoints: Path, models_folder: Path, importer_python: Path
) -> None:
    evil = checkpoints / "evil" / "evil.th"
    marker = checkpoints / "evil" / "pwned"
    result = import_cli(models_folder, str(evil), "--name", "evil")
    assert result.returncode == 2
    assert "refused by the safe loader" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists(), "the pickle's payload ran"
    assert "evil" not in registry.MODELS
    # the file really is an exploit: an unrestricted load runs it
    unsafe = f"import torch; torch.load({str(evil)!r}, weights_only=False)"
    subprocess.run([str(importer_python), "-c", unsafe], check=False, capture_output=True)
    assert marker.exists()


def test_bad_requests_are_one_line(models_folder: Path, checkpoints: Path) -> None:
    """Refused before any export: a built-in name, a missing file."""
    th = next((checkpoints / "htdemucs").glob("*.th"))
    taken = import_cli(models_folder, str(th), "--name", "htdemucs")
    assert taken.returncode == 2 and "built-in" in taken.stderr
    missing = import_cli(models_folder, str(th.with_name("nope.th")))
    assert missing.returncode == 2 and "file not found" in missing.stderr
    assert "Traceback" not in taken.stderr + missing.stderr
