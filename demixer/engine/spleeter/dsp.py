"""Spleeter's STFT host code in numpy, one block of frames at a time.

Mirrors ``spleeter/model/__init__.py`` (``EstimatorSpecBuilder``): the waveform gets one frame
(4096 samples) of zeros in front, then ``tf.signal.stft(frame_length=4096, frame_step=1024,
periodic Hann, pad_end=True)`` frames it (the end zero-padded so that every sample is in a frame:
``ceil((N + 4096) / 1024)`` frames); the magnitudes of the first ``F`` bins, cut into blocks of
``T = 512`` frames (the last zero-padded), are the network's input; each instrument's mask,
extended with zeros above bin ``F`` (``mask_extension: zeros``), multiplies the complex STFT;
``tf.signal.inverse_stft`` with the same Hann window overlap-adds the frames and the result is
scaled by 2/3 (the window's squared overlap-add is 3/2 at this hop), then cropped back to
``[4096, 4096 + N)``.

Frame ``k`` covers input samples ``[k * 1024 - 4096, k * 1024)``, so any block of frames can
be computed on its own: a whole track is separated block by block with the same result as at
once. Arrays are float32 / complex64; ``C`` channels (2), ``S`` sources (2).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from demixer.engine.htdemucs.dsp import hann_window

FRAME = 4096
HOP = 1024
BINS = FRAME // 2 + 1  # 2049
T = 512  # frames per network input
WINDOW_COMPENSATION = np.float32(2.0 / 3.0)  # EstimatorSpecBuilder.WINDOW_COMPENSATION_FACTOR
# F = 1024 bins reach 11.025 kHz (Spleeter's "2stems" configuration), 1536 reach 16.5 kHz
# ("2stems-16kHz": the same weights, the network being convolutional)
BANDWIDTHS = {"11kHz": 1024, "16kHz": 1536}


def frames_count(length: int) -> int:
    """STFT frames of an ``length``-sample track (one frame of zeros in front, end padded)."""
    return math.ceil((length + FRAME) / HOP)


def blocks_count(length: int) -> int:
    """Network runs (blocks of ``T`` frames) for an ``length``-sample track."""
    return math.ceil(frames_count(length) / T)


def block_start(index: int) -> int:
    """The first input sample block ``index`` reaches: frames ``[512 i, 512 i + 512)`` cover
    samples from ``512 i * 1024 - 4096`` on (clipped at 0)."""
    return max(0, index * T * HOP - FRAME)


def _read_padded(mix: np.ndarray, start: int, length: int) -> np.ndarray:
    """``mix[:, start:start + length]`` with zeros outside the track: float32 (C, length)."""
    total = mix.shape[-1]
    lo, hi = max(0, start), min(total, start + length)
    out = np.zeros((mix.shape[0], length), dtype=np.float32)
    if hi > lo:
        out[:, lo - start : hi - start] = mix[:, lo:hi]
    return out


def stft(mix: np.ndarray, first: int, count: int, workers: int = 1) -> np.ndarray:
    """Frames ``[first, first + count)`` of Spleeter's STFT of ``mix`` (C, N) float32.

    Returns complex64 (C, count, 2049). Frames past the end of the track are zero, as the
    reference's padding to a whole block makes them.
    """
    x = _read_padded(mix, first * HOP - FRAME, (count - 1) * HOP + FRAME)
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME, axis=-1)[:, ::HOP, :]
    return scipy.fft.rfft(frames * hann_window(FRAME), axis=-1, workers=workers)


def magnitude(z: np.ndarray, bins: int) -> np.ndarray:
    """The network's input from an STFT block: complex64 (C, T, 2049) -> float32 (1, C, T, F)."""
    return np.abs(z[None, :, :, :bins])


def apply_masks(z: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Masked STFTs: complex64 (C, T, 2049) x float32 (S, C, T, F) -> complex64 (S, C, T, 2049).

    Bins from ``F`` up get a mask of zero in every source (``mask_extension: zeros``).
    """
    bins = masks.shape[-1]
    out = np.zeros((masks.shape[0], *z.shape), dtype=np.complex64)
    np.multiply(masks, z[None, :, :, :bins], out=out[..., :bins])
    return out


def overlap_add(z: np.ndarray, first: int, out: np.ndarray, workers: int = 1) -> None:
    """Add the inverse STFT of frames ``[first, first + T')`` into ``out`` (S, C, N) float32.

    ``z`` is complex64 (S, C, T', 2049). Each frame is ``irfft`` times the Hann window times
    2/3, added at input samples ``[k * 1024 - 4096, k * 1024)``; samples outside the track are
    dropped. Blocks added in any order sum to the reference's whole-track inverse.
    """
    count = z.shape[-2]
    frames = scipy.fft.irfft(z, n=FRAME, axis=-1, workers=workers)  # (S, C, T', FRAME) float32
    frames *= hann_window(FRAME) * WINDOW_COMPENSATION
    quarters = frames.reshape(*frames.shape[:2], count, FRAME // HOP, HOP)
    ola = np.zeros((*frames.shape[:2], count + FRAME // HOP - 1, HOP), dtype=np.float32)
    for k in range(FRAME // HOP):
        ola[:, :, k : k + count, :] += quarters[:, :, :, k, :]
    flat = ola.reshape(*frames.shape[:2], -1)
    start = first * HOP - FRAME
    lo, hi = max(0, start), min(out.shape[-1], start + flat.shape[-1])
    if hi > lo:
        out[..., lo:hi] += flat[..., lo - start : hi - start]
