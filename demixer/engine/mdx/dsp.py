"""The STFT MDX-Net graphs are trained on, as audio-separator's ``uvr_lib_v5/stft.py`` computes it.

``torch.stft`` with a periodic Hann window of ``n_fft``, ``center=True`` (reflect padding), no
normalisation, bins cut at ``dim_f``; each channel's real and imaginary parts become channels of
their own: ``[L.re, L.im, R.re, R.im]``. The inverse pads the cut bins with zeros and is
``torch.istft`` (window-envelope normalised overlap-add, the centre padding trimmed).
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def hann(n_fft: int) -> np.ndarray:
    """``torch.hann_window(n_fft, periodic=True)``, float64."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)


def stft(wave: np.ndarray, n_fft: int, hop: int, dim_f: int) -> np.ndarray:
    """float32 (2, L) -> float32 (4, dim_f, 1 + L // hop): the graph's input for one chunk."""
    pad = n_fft // 2
    padded = np.pad(wave.astype(np.float64), ((0, 0), (pad, pad)), mode="reflect")
    frames = 1 + (padded.shape[-1] - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spectrum = scipy.fft.rfft(padded[:, index] * hann(n_fft), axis=-1)  # (2, frames, bins)
    cut = spectrum[..., :dim_f].transpose(0, 2, 1)  # (2, dim_f, frames)
    out = np.stack([cut.real, cut.imag], axis=1)  # (2, 2, dim_f, frames)
    return out.reshape(4, dim_f, frames).astype(np.float32)


def istft(spec: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """float32 (4, dim_f, T) -> float32 (2, hop * (T - 1)): bins above dim_f are zeros."""
    _, dim_f, frames = spec.shape
    bins = n_fft // 2 + 1
    pair = spec.astype(np.float64).reshape(2, 2, dim_f, frames)
    full = np.zeros((2, bins, frames), dtype=np.complex128)
    full[:, :dim_f] = pair[:, 0] + 1j * pair[:, 1]
    window = hann(n_fft)
    pieces = scipy.fft.irfft(full.transpose(0, 2, 1), n=n_fft, axis=-1) * window  # (2, T, n_fft)
    length = n_fft + hop * (frames - 1)
    out = np.zeros((2, length))
    envelope = np.zeros(length)
    for t in range(frames):
        out[:, t * hop : t * hop + n_fft] += pieces[:, t]
        envelope[t * hop : t * hop + n_fft] += window**2
    start, end = n_fft // 2, length - n_fft // 2
    return (out[:, start:end] / envelope[start:end]).astype(np.float32)
