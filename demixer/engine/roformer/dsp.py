"""``torch.stft`` / ``torch.istft`` as the RoFormers call them, in numpy.

``center=True`` with reflect padding, a periodic Hann window of ``win_length`` centred in
``n_fft``, one-sided, ``normalized`` scaling by ``n_fft ** -0.5`` (and back). The layout of the
network's input is the reference's: frequencies major, channels interleaved
(``stft_repr.permute(0, 2, 1, 3, 4).reshape(b, f * s, t, c)`` in pymss-core's ``stft_roformer``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.fft


@dataclass(frozen=True)
class Stft:
    """One model's STFT settings (its config's ``stft_*`` keys)."""

    n_fft: int
    hop: int
    win_length: int
    normalized: bool
    rectangular: bool = False  # no window given to torch.stft (SCNet): ones, not Hann

    @cached_property
    def window(self) -> np.ndarray:
        """``torch.hann_window(win_length)`` (or ones) zero-padded to ``n_fft`` as torch pads it:
        float32 (n_fft,)."""
        k = np.arange(self.win_length, dtype=np.float64)
        hann = (0.5 - 0.5 * np.cos(2.0 * np.pi * k / self.win_length)).astype(np.float32)
        if self.rectangular:
            hann = np.ones(self.win_length, dtype=np.float32)
        left = (self.n_fft - self.win_length) // 2
        window = np.zeros(self.n_fft, dtype=np.float32)
        window[left : left + self.win_length] = hann
        return window

    def frames(self, length: int) -> int:
        return 1 + length // self.hop

    def stft(self, x: np.ndarray) -> np.ndarray:
        """float32 (C, L) -> complex64 (C, T, F): frames first, F = n_fft // 2 + 1."""
        half = self.n_fft // 2
        padded = np.pad(x.astype(np.float32, copy=False), [(0, 0), (half, half)], mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft, axis=-1)
        frames = frames[:, :: self.hop, :] * self.window
        z = scipy.fft.rfft(frames, axis=-1).astype(np.complex64, copy=False)
        if self.normalized:
            z *= np.float32(1.0 / math.sqrt(self.n_fft))
        return z

    def istft(self, z: np.ndarray, length: int) -> np.ndarray:
        """complex64 (..., T, F) -> float32 (..., length), as ``torch.istft(length=length)``."""
        if self.normalized:
            z = z * np.float32(math.sqrt(self.n_fft))
        frames = scipy.fft.irfft(z, n=self.n_fft, axis=-1).astype(np.float32, copy=False)
        frames *= self.window
        count = frames.shape[-2]
        lead = frames.shape[:-2]
        blocks = -(-self.n_fft // self.hop)  # each frame spans this many hops
        span = np.zeros((*lead, count, blocks * self.hop), dtype=np.float32)
        span[..., : self.n_fft] = frames
        pieces = span.reshape(*lead, count, blocks, self.hop)
        ola = np.zeros((*lead, count + blocks - 1, self.hop), dtype=np.float32)
        for k in range(blocks):
            ola[..., k : k + count, :] += pieces[..., :, k, :]
        flat = ola.reshape(*lead, (count + blocks - 1) * self.hop)
        start = self.n_fft // 2
        out = np.zeros((*lead, length), dtype=np.float32)
        available = min(length, flat.shape[-1] - start)
        envelope = self._envelope(count)[start : start + available]
        if envelope.min() < 1e-11:
            raise ValueError("window overlap-add has zeros (torch.istft refuses it too)")
        out[..., :available] = flat[..., start : start + available] / envelope
        return out

    def _envelope(self, count: int) -> np.ndarray:
        """The summed squared windows ``torch.istft`` divides by: float32 over the frames' span."""
        square = self.window.astype(np.float32) ** 2
        envelope = np.zeros((count - 1) * self.hop + self.n_fft, dtype=np.float32)
        for t in range(count):
            envelope[t * self.hop : t * self.hop + self.n_fft] += square
        pad = -(-self.n_fft // self.hop) * self.hop - self.n_fft
        return np.pad(envelope, (0, pad))


def network_input(z: np.ndarray) -> np.ndarray:
    """complex64 (C, T, F) -> float32 (1, F*C, T, 2), the graph's ``spectrogram``."""
    channels, frames, freqs = z.shape
    laid = np.ascontiguousarray(z.transpose(2, 0, 1))  # (F, C, T)
    return laid.view(np.float32).reshape(1, freqs * channels, frames, 2)


def apply_masks(z: np.ndarray, masks: np.ndarray, zero_dc: bool) -> np.ndarray:
    """The mix's complex64 (C, T, F) times the graph's masks float32 (1, n, F*C, T, 2):
    complex64 (n, C, T, F), the DC bin zeroed when the model says so (``zero_dc``)."""
    channels, frames, freqs = z.shape
    m = np.ascontiguousarray(masks[0]).view(np.complex64)[..., 0]  # (n, F*C, T)
    m = m.reshape(-1, freqs, channels, frames).transpose(0, 2, 3, 1)  # (n, C, T, F)
    out = z[None] * m
    if zero_dc:
        out[..., 0] = 0
    return out
