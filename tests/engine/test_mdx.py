"""UVR MDX-Net ``.onnx`` files: a random-weight graph of MDX-Net's shape (a small conv net exported
by PyTorch in the importer's environment) is imported through the CLI, then a generated song is
separated by demixer's whole path (decode, chunks, windows, the last partial chunk, stereo and
mono) and compared with audio-separator 0.47.1's ``MDXSeparator`` on the same file."""

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
from demixer.engine.mdx import params
from demixer.engine.options import SeparationOptions
from demixer.engine.separate import Progress, separate_file
from demixer.testing import signals

HELPER = Path(__file__).with_name("mdx_reference.py")
CLI = [sys.executable, "-m", "demixer.engine.cli"]
MIN_SNR_DB = 40.0
FLAGS = ["--n-fft", "2048", "--dim-f", "96", "--compensate", "1.035", "--primary-stem", "Vocals"]


@pytest.fixture(scope="module")
def models_folder(imports_folder: Path) -> Iterator[Path]:
    previous = model_files._configured_dir
    registry.configure(imports_folder)
    yield imports_folder
    model_files._configured_dir = previous


@pytest.fixture(scope="module")
def tiny_graph(importer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mdx") / "UVR-MDX-NET-tiny.onnx"
    subprocess.run([str(importer_python), str(HELPER), "make", str(out)], check=True, timeout=600)
    return out


def models_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--models-dir", str(folder), "models", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DEMIXER_IMPORTER_ENV": str(environment.location())},
        check=False,
    )


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = np.sum((reference.astype(np.float64) - estimate) ** 2)
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / noise))


@pytest.fixture(scope="module")
def tiny_mdx(models_folder: Path, tiny_graph: Path) -> str:
    result = models_cli(models_folder, "import", str(tiny_graph), *FLAGS, "--name", "tiny-mdx")
    assert result.returncode == 0, result.stderr
    return "tiny-mdx"


def test_import_registers_the_file_with_its_parameters(
    tiny_mdx: str, models_folder: Path, tiny_graph: Path
) -> None:
    manifest = json.loads((models_folder / "imported/tiny-mdx/manifest.json").read_text())
    assert manifest["architecture"] == "mdx"
    assert manifest["params"] == {
        "n_fft": 2048,
        "dim_f": 96,
        "dim_t": 256,
        "compensate": 1.035,
        "primary_stem": "Vocals",
        "hop": 1024,
    }
    assert manifest["sha256"] == model_files.sha256_of(tiny_graph)
    spec = registry.get_spec(tiny_mdx)
    assert spec.architecture == "mdx" and spec.sources == ("vocals", "instrumental")
    assert registry.is_installed(tiny_mdx)
    listed = models_cli(models_folder, "list").stdout
    assert "tiny-mdx" in listed and "imported MDX-Net: Vocals" in listed


@pytest.mark.parametrize(
    ("seconds", "channels", "peak"),
    [(14.3, 2, 0.8), (7.0, 1, 0.97)],  # 3 and 2 chunks, the last partial; below/above 0.9
    ids=["stereo", "mono-loud"],
)
def test_separation_matches_audio_separator(
    tiny_mdx: str,
    tiny_graph: Path,
    importer_python: Path,
    tmp_path: Path,
    seconds: float,
    channels: int,
    peak: float,
) -> None:
    mix = signals.mix(signals.song(seconds, seed=3), peak=peak)
    path = tmp_path / "song.wav"
    sf.write(path, (mix if channels == 2 else mix[:1]).T, 44100, subtype="FLOAT")
    reports: list[Progress] = []
    ours = separate_file(path, SeparationOptions(model=tiny_mdx), progress=reports.append)
    target = tmp_path / "reference.npz"
    command = [str(importer_python), str(HELPER), "separate", str(tiny_graph), str(path)]
    subprocess.run([*command, str(target)], check=True, timeout=600)
    theirs = np.load(target)
    assert list(ours.stems) == ["vocals", "instrumental"]
    assert reports[-1].done == reports[-1].total >= 2
    snrs = [
        snr_db(theirs[label], ours.stems[name])
        for label, name in (("Vocals", "vocals"), ("Instrumental", "instrumental"))
    ]
    print(f"MDX-Net parity, {channels} channel(s): vocals/instrumental {snrs} dB")
    assert min(snrs) >= MIN_SNR_DB, snrs


def test_a_file_without_parameters_or_of_another_shape_is_refused(
    models_folder: Path, tiny_graph: Path
) -> None:
    unknown = models_cli(models_folder, "import", str(tiny_graph), "--name", "nope")
    assert unknown.returncode != 0
    assert f"hash {params.uvr_hash(tiny_graph)}" in unknown.stderr
    flags = [*FLAGS[:2], "--dim-f", "128", *FLAGS[4:]]
    wrong = models_cli(models_folder, "import", str(tiny_graph), *flags, "--name", "nope")
    assert wrong.returncode != 0 and "takes dim_f 96, not 128" in wrong.stderr
    assert not (models_folder / "imported/nope").exists()


def test_uvr_hash_is_the_md5_of_the_last_10240000_bytes(tmp_path: Path) -> None:
    import hashlib

    small, large = tmp_path / "small.onnx", tmp_path / "large.onnx"
    small.write_bytes(b"abc")
    data = os.urandom(params.HASHED_BYTES + 1234)
    large.write_bytes(data)
    assert params.uvr_hash(small) == hashlib.md5(b"abc").hexdigest()  # noqa: S324
    assert params.uvr_hash(large) == hashlib.md5(data[1234:]).hexdigest()  # noqa: S324


def test_the_well_known_table_holds_runnable_parameters() -> None:
    table = json.loads(params.KNOWN.read_text())["models"]
    runnable = {k: r for k, r in table.items() if r["dim_t"] == params.SEGMENT}
    rows = [params.from_mapping(row, key) for key, row in runnable.items()]
    for key in table.keys() - runnable.keys():  # audio-separator converts these to PyTorch
        with pytest.raises(params.ParamsError, match="segment size 256"):
            params.from_mapping(table[key], key)
    # UVR-MDX-NET-Inst_HQ_3, as audio-separator's own log prints its values
    assert table["55657dd70583b0fedfba5f67df11d711"]["n_fft"] == 6144
    assert {r.sources for r in rows} >= {("vocals", "instrumental"), ("no_crowd", "crowd")}
