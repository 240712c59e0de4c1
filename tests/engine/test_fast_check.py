"""The fast-mode guard: every stem checked against the default mode on a built-in clip, a broken
fast graph refused, the verdict kept per host and graph, and a refused fast mode run as default
(by the CLI too, with one line saying so)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import soundfile as sf
from onnx import numpy_helper

from demixer.engine import registry
from demixer.engine.htdemucs import fast_check
from demixer.engine.htdemucs.fast_check import FastCheck
from demixer.engine.htdemucs.model import SegmentModel, SessionConfig, shared_model
from demixer.engine.separate import SeparationOptions, separate_array
from demixer.testing import signals
from demixer.testing.files import write_audio
from tests.engine.test_cli import run_cli

REFUSED = FastCheck(
    usable=False,
    snr_db={"drums": 37.9, "bass": 39.3, "other": 28.1, "vocals": 0.4},
    cpu_class="x86-64 AVX2 without VNNI",
    checked=0.0,
)


@pytest.fixture(scope="module")
def fast_model() -> SegmentModel:
    return shared_model(SessionConfig(quality="fast"))


@pytest.mark.model
def test_the_real_fast_mode_passes_its_check_on_this_cpu(
    model: SegmentModel, fast_model: SegmentModel
) -> None:
    result = fast_check.check(model, fast_model)
    assert set(result.snr_db) == set(model.sources)
    assert result.usable, result.describe()
    assert min(result.snr_db.values()) >= fast_check.BOUND_DB


def _broken_copy(source: Path, target: Path) -> Path:
    """The fast graph with every int8 MatMul weight halved: a 6 dB error in each linear layer,
    the kind of damage a saturating int8 kernel does."""
    graph = onnx.load(str(source))
    halved = 0
    for tensor in graph.graph.initializer:
        if tensor.name.endswith("_quantized") and tensor.data_type == onnx.TensorProto.INT8:
            weights = numpy_helper.to_array(tensor)
            tensor.CopyFrom(numpy_helper.from_array((weights // 2).astype(np.int8), tensor.name))
            halved += 1
    assert halved >= 40  # the transformer's and the linear layers' weights
    onnx.save(graph, str(target))
    return target


def test_a_broken_fast_graph_is_refused(model: SegmentModel, tmp_path: Path) -> None:
    broken = _broken_copy(registry.ensure_quantized(), tmp_path / "broken-int8.onnx")
    result = fast_check.check(model, SegmentModel(SessionConfig(quality="fast"), path=broken))
    assert not result.usable
    assert result.worst[1] < fast_check.BOUND_DB
    assert "fast mode is not available on this CPU" in result.describe()


def _stamped(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    registry.checked(path, registry.sha256_of(path))


def test_the_verdict_is_kept_per_host_device_and_graph(tmp_path: Path) -> None:
    graph = registry.quantized_path(registry.HTDEMUCS, tmp_path)
    assert fast_check.cached(directory=tmp_path) is None  # no graph, nothing to tie it to
    _stamped(graph, b"fast graph, first version")
    assert fast_check.cached(directory=tmp_path) is None  # not checked yet
    fast_check.record(REFUSED, directory=tmp_path)
    assert fast_check.cached(directory=tmp_path) == REFUSED
    assert fast_check.cached(device="cuda", directory=tmp_path) is None
    _stamped(graph, b"fast graph, second version")  # a new graph is checked anew
    assert fast_check.cached(directory=tmp_path) is None


def test_a_corrupt_verdicts_file_means_check_again(tmp_path: Path) -> None:
    _stamped(registry.quantized_path(registry.HTDEMUCS, tmp_path), b"fast graph")
    (tmp_path / fast_check.VERDICTS).write_text("{not json")
    assert fast_check.cached(directory=tmp_path) is None
    fast_check.record(REFUSED, directory=tmp_path)  # and a new verdict replaces it
    assert fast_check.cached(directory=tmp_path) == REFUSED


def test_exact_int8_kernels_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    from demixer.engine.htdemucs import cpu
    from demixer.engine.htdemucs import model as onnx_model

    monkeypatch.setenv("DEMIXER_EXACT_INT8", "1")
    assert cpu.exact_int8()
    options = onnx_model._session_options(SessionConfig(quality="fast"))
    assert options.get_session_config_entry("session.x64quantprecision") == "1"
    monkeypatch.setenv("DEMIXER_EXACT_INT8", "0")
    assert not cpu.exact_int8()


def test_a_refused_fast_mode_runs_in_default_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_check, "verdict", lambda config, **kwargs: REFUSED)
    config, result = fast_check.usable_config(SessionConfig(quality="fast", threads=1))
    assert config == SessionConfig(quality="default", threads=1)
    assert result is REFUSED
    unchanged, none = fast_check.usable_config(SessionConfig(quality="default"))
    assert unchanged.quality == "default" and none is None


@pytest.fixture
def models_with_refused_fast_mode(tmp_path: Path) -> Path:
    """A models folder with the real (verified) graphs, where this host refused the fast mode."""
    folder = tmp_path / "models"
    folder.mkdir()
    real = registry.models_dir()
    for graph in (
        registry.weights_path(),
        registry.ensure_fused(),
        registry.ensure_quantized(),
    ):
        os.symlink(graph, folder / graph.name)
        shutil.copy(real / f"{graph.name}.sha256", folder / f"{graph.name}.sha256")
    fast_check.record(REFUSED, directory=folder)
    return folder


def test_the_cli_says_so_and_separates_in_default_mode(
    models_with_refused_fast_mode: Path, tmp_path: Path, model: SegmentModel
) -> None:
    mix = signals.mix(signals.song(2.0, seed=3))
    clip = write_audio(tmp_path / "clip.wav", mix, 44100, "wavfloat")
    out = tmp_path / "out"
    result = run_cli(
        "separate",
        str(clip),
        "-o",
        str(out),
        "--quality",
        "fast",
        "--bit-depth",
        "32",
        "-q",
        env={"DEMIXER_MODELS_DIR": str(models_with_refused_fast_mode)},
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("demixer:")]
    assert lines == [
        "demixer: fast mode is not available on this CPU (x86-64 AVX2 without VNNI): its vocals "
        "stem was 0.4 dB from the default mode's on the check clip (at least 25 dB needed); "
        "running in default mode"
    ]
    # the stems are the default mode's (the fast mode's differ from them by ~30-50 dB)
    default = separate_array(mix, SeparationOptions(), model=model)
    for i, name in enumerate(model.sources):
        written, rate = sf.read(out / "clip" / f"{name}.wav", dtype="float32", always_2d=True)
        assert rate == 44100
        assert signals.sdr(default[i], written.T) > 70, name
