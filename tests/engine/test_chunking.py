"""Segments, weights and overlap-add, checked against a literal port of ``apply.py``'s loop."""

from __future__ import annotations

import numpy as np
import pytest

from demixer.engine.htdemucs import chunking

SEGMENT = 1000  # a small stand-in for the model's 343980 samples: same arithmetic


def reference_apply(mix: np.ndarray, fn, segment: int, overlap: float) -> np.ndarray:
    """``apply_model(split=True, shifts=0)`` written out as the reference does it."""
    length = mix.shape[-1]
    out = np.zeros((2, mix.shape[0], length))
    sum_weight = np.zeros(length)
    stride = int((1 - overlap) * segment)
    weight = np.concatenate(
        [np.arange(1, segment // 2 + 1), np.arange(segment - segment // 2, 0, -1)]
    ).astype(np.float64)
    weight /= weight.max()
    for offset in range(0, length, stride):
        chunk_len = min(segment, length - offset)
        delta = segment - chunk_len
        start = offset - delta // 2
        padded = np.zeros((mix.shape[0], segment))
        lo, hi = max(0, start), min(length, start + segment)
        padded[:, lo - start : hi - start] = mix[:, lo:hi]
        result = fn(padded)[..., delta // 2 : delta // 2 + chunk_len]
        out[..., offset : offset + chunk_len] += weight[:chunk_len] * result
        sum_weight[offset : offset + chunk_len] += weight[:chunk_len]
    return out / sum_weight


def fake_model(x: np.ndarray) -> np.ndarray:
    """Position-dependent, so wrong offsets or trims show: (2 sources, C, segment)."""
    ramp = np.linspace(0.5, 1.5, x.shape[-1])
    return np.stack([x * ramp, np.roll(x, 3, axis=-1)])


def run_ours(mix: np.ndarray, overlap: float, shifts: int = 0, seed: int = 0) -> np.ndarray:
    passes = chunking.plan_passes(mix.shape[-1], 44100, shifts, seed)
    out = np.zeros((2, mix.shape[0], mix.shape[-1]), dtype=np.float32)
    ola = chunking.OverlapAdd(out, passes, SEGMENT, overlap)
    for p in passes:
        for seg in chunking.plan_segments(p, SEGMENT, overlap):
            ola.add(seg, fake_model(chunking.read_padded(mix, seg.start, SEGMENT)))
    return out


@pytest.mark.parametrize("length", [1, 500, 999, 1000, 1001, 3333, 10_000])
@pytest.mark.parametrize("overlap", [0.0, 0.1, 0.25, 0.5])
def test_overlap_add_matches_reference_loop(length: int, overlap: float) -> None:
    mix = np.random.default_rng(length).standard_normal((2, length)).astype(np.float32)
    expected = reference_apply(mix, fake_model, SEGMENT, overlap)
    np.testing.assert_allclose(run_ours(mix, overlap), expected, atol=1e-5)


def test_identity_model_reconstructs_input_with_shifts() -> None:
    """Shifted passes must each line up again: with an identity model the track comes back."""
    mix = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)
    passes = chunking.plan_passes(mix.shape[-1], 1000, shifts=3, seed=1)
    assert len({p.view_start for p in passes}) > 1  # really shifted
    out = np.zeros((1, 2, 5000), dtype=np.float32)
    ola = chunking.OverlapAdd(out, passes, SEGMENT, 0.25)
    for p in passes:
        for seg in chunking.plan_segments(p, SEGMENT, 0.25):
            ola.add(seg, chunking.read_padded(mix, seg.start, SEGMENT)[None])
    np.testing.assert_allclose(out[0], mix, atol=1e-5)


def test_transition_weight_is_the_reference_triangle() -> None:
    w = chunking.transition_weight(6)
    np.testing.assert_allclose(w, np.array([1, 2, 3, 3, 2, 1]) / 3)
    assert chunking.transition_weight(343980).shape == (343980,)


def test_stride_of_model_segment() -> None:
    assert chunking.stride_of(343980, 0.25) == int(0.75 * 343980)
    with pytest.raises(ValueError, match="overlap"):
        chunking.stride_of(1000, 1.0)


def test_read_padded_fills_zeros_outside_the_track() -> None:
    mix = np.arange(10, dtype=np.float32)[None].repeat(2, 0)
    got = chunking.read_padded(mix, -3, 6)
    np.testing.assert_array_equal(got[0], [0, 0, 0, 0, 1, 2])
    got = chunking.read_padded(mix, 8, 4)
    np.testing.assert_array_equal(got[1], [8, 9, 0, 0])
