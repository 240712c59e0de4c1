"""STFT / iSTFT host code for htdemucs, numerically faithful to Meta's reference.

Mirrors ``demucs/htdemucs.py`` (``_spec``, ``_ispec``, ``_magnitude``, ``_mask`` with
``cac=True``) and ``demucs/spec.py`` (``torch.stft``/``istft`` with a periodic Hann window,
``normalized=True``, ``center=True``, reflect padding). All arrays are float32 / complex64.

Shapes: ``C`` audio channels (2), ``S`` sources (4), ``F`` = 2048 frequency bins (the Nyquist bin is
dropped), ``T`` = ceil(length / 1024) frames.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import scipy.fft

NFFT = 4096
HOP = NFFT // 4
_PAD = HOP // 2 * 3  # the reference re-pads by 1.5 hops so frames align with the time branch


@cache
def hann_window(n: int = NFFT) -> np.ndarray:
    """Periodic Hann window, as ``torch.hann_window(n)``: float32 (n,)."""
    k = np.arange(n, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)).astype(np.float32)


def pad1d_reflect(x: np.ndarray, left: int, right: int) -> np.ndarray:
    """Reflect-pad the last axis like the reference ``pad1d``.

    Reflection needs the input to be longer than the padding; like the reference, a short input
    is first zero-padded on the right (then the left) until it is.
    """
    length = x.shape[-1]
    widths = [(0, 0)] * (x.ndim - 1)
    max_pad = max(left, right)
    if length <= max_pad:
        extra = max_pad - length + 1
        extra_right = min(right, extra)
        extra_left = extra - extra_right
        left, right = left - extra_left, right - extra_right
        x = np.pad(x, [*widths, (extra_left, extra_right)])
    return np.pad(x, [*widths, (left, right)], mode="reflect")


def frames_count(length: int) -> int:
    return math.ceil(length / HOP)


def _stft(x: np.ndarray, workers: int) -> np.ndarray:
    """The reference's STFT of (..., L) float32: complex64 (..., T, 2049), frames first.

    ``torch.stft(center=True)`` would add another 2048 samples of reflection on each side and the
    reference then drops the first two and last two frames; those frames are exactly the ones
    that need that extra padding, so framing the re-padded signal directly gives the same values.
    """
    length = x.shape[-1]
    le = frames_count(length)
    padded = pad1d_reflect(x.astype(np.float32, copy=False), _PAD, _PAD + le * HOP - length)
    frames = np.lib.stride_tricks.sliding_window_view(padded, NFFT, axis=-1)[..., ::HOP, :]
    assert frames.shape[-2] == le
    windowed = frames * (hann_window() / np.float32(math.sqrt(NFFT)))
    return scipy.fft.rfft(windowed, axis=-1, workers=workers)


def spec(x: np.ndarray, workers: int = 1) -> np.ndarray:
    """``HTDemucs._spec``: waveform (..., L) float32 -> complex64 (..., 2048, ceil(L/1024))."""
    return np.swapaxes(_stft(x, workers)[..., :-1], -1, -2)


def spec_channels(x: np.ndarray, workers: int = 1) -> np.ndarray:
    """``_spec`` then ``_magnitude`` (cac): waveform (C, L) -> float32 (2C, 2048, T).

    Channels are ordered re0, im0, re1, im1, as ``view_as_real(z).permute(0, 1, 4, 2, 3)``.
    Built straight from the FFT output with one copy.
    """
    z = _stft(x, workers)  # (C, T, F + 1)
    ri = z.view(np.float32).reshape(*z.shape, 2)[..., :-1, :]  # (C, T, F, 2)
    channels, le = x.shape[0], z.shape[-2]
    out = np.empty((channels, 2, NFFT // 2, le), dtype=np.float32)
    out[...] = ri.transpose(0, 3, 2, 1)
    return out.reshape(channels * 2, NFFT // 2, le)


@cache
def _ola_envelope(frames: int) -> np.ndarray:
    """Sum of squared windows that ``torch.istft`` divides by, in re-padded coordinates.

    ``_ispec`` pads two empty frames on each side; they add nothing to the signal but their
    windows count in the envelope, so all ``frames + 4`` are summed here. float32 (L_padded,).
    """
    total = frames * HOP + 3 * HOP
    envelope = np.zeros(total + 6 * HOP, dtype=np.float64)
    sq = hann_window().astype(np.float64) ** 2
    for p in range(frames + 4):
        start = (p - 2) * HOP + 2 * HOP  # shifted by 2 hops so negative starts fit
        envelope[start : start + NFFT] += sq
    envelope = envelope[2 * HOP : 2 * HOP + total]
    if envelope.min() < 1e-11:
        raise ValueError("window overlap-add has zeros (torch.istft would refuse too)")
    return envelope.astype(np.float32)


def ispec_channels(m: np.ndarray, length: int, workers: int = 1) -> np.ndarray:
    """``_mask`` (cac) then ``_ispec``: float32 (S, 2C, 2048, T) -> waveform float32 (S, C, length).

    ``m`` holds, per source, re0, im0, re1, im1 — the model's spectral output taken as a full
    spectrogram. The Nyquist bin is zero (the reference pads it back with zeros).
    """
    sources, ch2, freqs, le = m.shape
    channels = ch2 // 2
    spectrum = np.zeros((sources, channels, le, freqs + 1, 2), dtype=np.float32)
    spectrum[..., :freqs, :] = m.reshape(sources, channels, 2, freqs, le).transpose(0, 1, 4, 3, 2)
    z = spectrum.view(np.complex64)[..., 0]  # (S, C, T, F + 1)
    z *= np.float32(math.sqrt(NFFT))  # normalized=True: undo the forward 1/sqrt(n)
    frames = scipy.fft.irfft(z, n=NFFT, axis=-1, workers=workers)  # (S, C, T, NFFT) float32
    frames *= hann_window()
    quarters = frames.reshape(sources, channels, le, 4, HOP)
    ola = np.zeros((sources, channels, le + 3, HOP), dtype=np.float32)
    for k in range(4):
        ola[:, :, k : k + le, :] += quarters[:, :, :, k, :]
    flat = ola.reshape(sources, channels, (le + 3) * HOP)
    out = flat[..., _PAD : _PAD + length]
    out /= _ola_envelope(le)[_PAD : _PAD + length]
    return out
