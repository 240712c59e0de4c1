"""The numpy STFT/iSTFT host code against Meta's PyTorch reference (stored once) and itself."""

from __future__ import annotations

import numpy as np
import pytest

from demixer.engine.htdemucs import dsp
from tests.conftest import DATA

REFERENCE = np.load(DATA / "dsp_reference.npz")  # made by bench/make_dsp_golden.py (torch 2.13)


@pytest.mark.parametrize("length", [1000, 4096])
def test_spec_matches_reference(length: int) -> None:
    ours = dsp.spec_channels(REFERENCE[f"x_{length}"])
    ref = REFERENCE[f"spec_{length}"]
    assert ours.shape == ref.shape == (4, 2048, dsp.frames_count(length))
    np.testing.assert_allclose(ours, ref, atol=2e-6, rtol=0)


@pytest.mark.parametrize("length", [1000, 4096])
def test_ispec_matches_reference(length: int) -> None:
    ours = dsp.ispec_channels(REFERENCE[f"mask_{length}"], length)
    ref = REFERENCE[f"wave_{length}"]
    assert ours.shape == ref.shape == (4, 2, length)
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("length", [10000, 44100, 343980])
def test_spec_then_ispec_is_identity_inside(length: int) -> None:
    """Feeding the input spectrogram back as the model's output returns the waveform.

    The reference drops the two outer frames at each end (``z[..., 2:2+le]``), so the first and
    last 1.5 hops are not fully covered and only the inside is an identity; it also drops the
    Nyquist bin, so the test signal is a sum of sines well below it.
    """
    rng = np.random.default_rng(length)
    t = np.arange(length) / 44100
    freqs, phases = rng.uniform(50, 15000, (2, 20)), rng.uniform(0, 6, (2, 20))
    x = (
        np.stack(
            [
                sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(fs, ps, strict=True))
                for fs, ps in zip(freqs, phases, strict=True)
            ]
        ).astype(np.float32)
        / 10
    )
    wave = dsp.ispec_channels(dsp.spec_channels(x)[None], length)[0]
    inside = slice(3 * dsp.HOP // 2, dsp.frames_count(length) * dsp.HOP - 3 * dsp.HOP // 2)
    np.testing.assert_allclose(wave[:, inside], x[:, inside], atol=2e-4)  # float32 FFTs


def test_spec_channels_equals_complex_spec() -> None:
    x = np.random.default_rng(3).standard_normal((2, 5000)).astype(np.float32)
    z = dsp.spec(x)
    channels = dsp.spec_channels(x)
    np.testing.assert_allclose(channels[0::2], z.real, atol=1e-6)
    np.testing.assert_allclose(channels[1::2], z.imag, atol=1e-6)


def test_reflect_pad_of_short_input_follows_reference() -> None:
    """The reference zero-extends an input shorter than the padding before reflecting."""
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    out = dsp.pad1d_reflect(x, 4, 5)
    assert out.shape == (1, 12)
    np.testing.assert_array_equal(out[0, 4:7], x[0])  # the signal itself is untouched


def test_hann_window_is_periodic() -> None:
    w = dsp.hann_window(8)
    np.testing.assert_allclose(
        w, [0, 0.1464466, 0.5, 0.8535534, 1, 0.8535534, 0.5, 0.1464466], atol=1e-6
    )
