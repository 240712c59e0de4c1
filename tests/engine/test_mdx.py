"""UVR MDX-Net ``.onnx`` files: a random-weight graph of MDX-Net's shape (a small conv net exported
by PyTorch in the importer's environment) is imported through the CLI, then a generated song is
separated by demixer's whole path (decode, chunks, windows, the last partial chunk, stereo and
mono) and compared with audio-separator 0.47.1's ``MDXSeparator`` on the same file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.engine import model_files, registry
from demixer.engine.mdx import params
from demixer.engine.options import SeparationOptions
from demixer.engine.separate import Progress, separate_file
from demixer.testing import signals
from tests.engine.import_parity import MIN_SNR_DB, models_cli, snr_db

HELPER = Path(__file__).with_name("mdx_reference.py")
PAIRS = (("Vocals", "vocals"), ("Instrumental", "instrumental"))  # reference's label, our stem
FLAGS = ["--n-fft", "2048", "--dim-f", "96", "--compensate", "1.035", "--primary-stem", "Vocals"]


def make_graph(python: Path, out: Path, dim_t: int = 256) -> Path:
    """A random-weight MDX-Net-shaped graph declared with ``dim_t`` frames."""
    command = [str(python), str(HELPER), "make", str(out), str(dim_t)]
    subprocess.run(command, check=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def tiny_graph(importer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mdx") / "UVR-MDX-NET-tiny.onnx"
    return make_graph(importer_python, out)


def reference(python: Path, graph: Path, audio: Path, target: Path, *sizes: int) -> dict:
    """audio-separator's MDXSeparator on ``audio`` (at ``dim_t, segment_size`` when given)."""
    command = [str(python), str(HELPER), "separate", str(graph), str(audio), str(target)]
    subprocess.run([*command, *map(str, sizes)], check=True, timeout=600)
    return dict(np.load(target))


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
        "segment_size": 256,
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
    theirs = reference(importer_python, tiny_graph, path, tmp_path / "reference.npz")
    assert list(ours.stems) == ["vocals", "instrumental"]
    assert reports[-1].done == reports[-1].total >= 2
    snrs = [snr_db(theirs[label], ours.stems[stem]) for label, stem in PAIRS]
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
    rows = [params.from_mapping(row, key) for key, row in table.items()]
    # every row runs at audio-separator's default segment size, dim_t 128 and 512 included
    assert {r.segment_size for r in rows} == {params.SEGMENT}
    assert {r.dim_t for r in rows} == {128, 256, 512}
    # UVR-MDX-NET-Inst_HQ_3, as audio-separator's own log prints its values
    assert table["55657dd70583b0fedfba5f67df11d711"]["n_fft"] == 6144
    assert {r.sources for r in rows} >= {("vocals", "instrumental"), ("no_crowd", "crowd")}
    with pytest.raises(params.ParamsError, match="longer than n_fft"):
        params.from_mapping({**table["55657dd70583b0fedfba5f67df11d711"], "segment_size": 6}, "x")


@pytest.fixture(scope="module")
def graph_512(importer_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mdx-512") / "UVR-MDX-NET-512.onnx"
    return make_graph(importer_python, out, dim_t=512)


@pytest.mark.parametrize("segment", [None, 512], ids=["default-segment", "segment-512"])
def test_a_graph_of_another_dim_t_runs_as_audio_separator_runs_it(
    segment: int | None,
    graph_512: Path,
    models_folder: Path,
    importer_python: Path,
    tmp_path: Path,
) -> None:
    """dim_t 512 at audio-separator's default segment size (256 frames: the reference converts
    the graph to PyTorch; demixer opens its frame axis in onnxruntime), and at 512 (both run the
    graph as it is)."""
    name = f"mdx-512-at-{segment or params.SEGMENT}"
    sizes = ["--segment-size", str(segment)] if segment else []
    flags = [*FLAGS, "--dim-t", "512", *sizes, "--name", name]
    result = models_cli(models_folder, "import", str(graph_512), *flags)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((models_folder / "imported" / name / "manifest.json").read_text())
    assert manifest["params"]["dim_t"] == 512
    assert manifest["params"]["segment_size"] == (segment or params.SEGMENT)
    assert manifest["sha256"] == model_files.sha256_of(graph_512)  # the file as given
    path = tmp_path / "song.wav"
    sf.write(path, signals.mix(signals.song(14.3, seed=4), peak=0.95).T, 44100, subtype="FLOAT")
    reports: list[Progress] = []
    ours = separate_file(path, SeparationOptions(model=name), progress=reports.append)
    sizes_used = (512, segment or params.SEGMENT)
    theirs = reference(importer_python, graph_512, path, tmp_path / "reference.npz", *sizes_used)
    assert reports[-1].done == reports[-1].total >= 3
    snrs = [snr_db(theirs[label], ours.stems[stem]) for label, stem in PAIRS]
    print(f"MDX-Net dim_t 512 at segment size {sizes_used[1]}: vocals/instrumental {snrs} dB")
    assert min(snrs) >= MIN_SNR_DB, snrs
