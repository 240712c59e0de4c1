"""Segments, triangular transition weights and shifts, as ``demucs/apply.py`` does them.

The reference splits a track into segments of the model's training length with ``overlap``,
pads every segment to that length with the audio around it (zeros beyond the track), runs the
model, trims the centre back out and blends neighbours with triangular weights. With
``shifts > 0`` it does all that several times on the track shifted by a random amount up to
0.5 s and averages. Here every pass writes straight into one output buffer: each segment's
weights are divided by the (known in advance) sum of weights of its pass, so no per-pass
buffers are needed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class Segment:
    """One model run. ``start`` is where the model input begins in track coordinates (may be
    negative or run past the end: zeros there); ``out_*`` say which part of the model output to
    keep and where it goes in the track."""

    pass_index: int
    start: int
    keep_from: int  # first kept sample of the model output
    out_start: int  # track position of that sample (may be < 0 for a shifted pass)
    length: int  # kept samples


@dataclass(frozen=True)
class Pass:
    """One sweep over the track, maybe shifted: covers [view_start, view_start + view_len)."""

    index: int
    view_start: int
    view_len: int


@cache
def transition_weight(segment: int, power: float = 1.0) -> np.ndarray:
    """Triangular weight of the reference: 1..segment//2 then down to 1, normalised. float32."""
    half = segment // 2
    weight = np.concatenate([np.arange(1, half + 1), np.arange(segment - half, 0, -1)]).astype(
        np.float64
    )
    weight = (weight / weight.max()) ** power
    return weight.astype(np.float32)


def stride_of(segment: int, overlap: float) -> int:
    if not 0.0 <= overlap < 1.0:
        raise ValueError("overlap must be in [0, 1)")
    return max(1, int((1 - overlap) * segment))


def plan_passes(length: int, samplerate: int, shifts: int, seed: int = 0) -> list[Pass]:
    """The sweeps: one unshifted, or ``shifts`` shifted by a random offset in [0, 0.5 s]."""
    if shifts <= 0:
        return [Pass(0, 0, length)]
    max_shift = int(0.5 * samplerate)
    rng = random.Random(seed)  # noqa: S311 - dithering offsets, not security
    passes = []
    for index in range(shifts):
        offset = rng.randint(0, max_shift)
        passes.append(Pass(index, offset - max_shift, length + max_shift - offset))
    return passes


def plan_segments(p: Pass, segment: int, overlap: float) -> list[Segment]:
    """Segments of one pass, as ``apply_model``'s split branch and ``TensorChunk.padded``."""
    stride = stride_of(segment, overlap)
    segments = []
    for offset in range(0, p.view_len, stride):
        chunk = min(segment, p.view_len - offset)
        delta = segment - chunk
        segments.append(
            Segment(
                pass_index=p.index,
                start=p.view_start + offset - delta // 2,
                keep_from=delta // 2,
                out_start=p.view_start + offset,
                length=chunk,
            )
        )
    return segments


def interleave(passes: list[Pass], segment: int, overlap: float) -> list[Segment]:
    """Every pass's segments in one run order, by where their output starts in the track.

    Passes run side by side rather than one after another, so the start of the track becomes
    final after a segment or two whatever ``shifts`` is (see :func:`ready_edges`). Only the
    order in which each sample's contributions are summed changes from the reference's
    pass-by-pass loop (float32 rounding, ~1e-7): the result is still exactly what
    :func:`ready_edges` publishes.
    """
    runs = [s for p in passes for s in plan_segments(p, segment, overlap)]
    return sorted(runs, key=lambda s: (s.out_start, s.pass_index))


def ready_edges(segments: list[Segment], length: int) -> list[int]:
    """For each run in order, the track position before which the output is final once that
    run (and every run before it) has been added: the next run's start, clipped to the track.

    Every later run starts at or after that edge (the runs are sorted by ``out_start``), so no
    later addition touches a sample before it. Non-decreasing; the last edge is ``length``.
    """
    starts = [s.out_start for s in segments[1:]] + [length]
    edges, low = [], 0
    for start in starts:
        low = max(low, min(length, max(0, start)))
        edges.append(low)
    return edges


def pass_weight_sum(p: Pass, segment: int, overlap: float) -> np.ndarray:
    """Sum of transition weights over a pass, float32 (view_len,): what the reference divides by."""
    weight = transition_weight(segment)
    total = np.zeros(p.view_len, dtype=np.float32)
    for s in plan_segments(p, segment, overlap):
        offset = s.out_start - p.view_start
        total[offset : offset + s.length] += weight[: s.length]
    return total


def pass_weight_range(p: Pass, segment: int, overlap: float, lo: int, hi: int) -> np.ndarray:
    """``pass_weight_sum(p, segment, overlap)[lo:hi]`` (view offsets), from the few segments
    that touch it: float32 (hi - lo,), the same sums in the same order, so a long track needs no
    whole-pass array."""
    stride = stride_of(segment, overlap)
    weight = transition_weight(segment)
    total = np.zeros(hi - lo, dtype=np.float32)
    first = max(0, (lo - segment) // stride)
    for offset in range(first * stride, min(hi, p.view_len), stride):
        chunk = min(segment, p.view_len - offset)
        a, b = max(lo, offset), min(hi, offset + chunk)
        if b > a:
            total[a - lo : b - lo] += weight[a - offset : b - offset]
    return total


def read_padded(mix: np.ndarray, start: int, length: int) -> np.ndarray:
    """``mix[:, start:start+length]`` with zeros outside the track. float32 (C, length)."""
    total = mix.shape[-1]
    lo, hi = max(0, start), min(total, start + length)
    if lo == start and hi == start + length:
        return mix[:, lo:hi]
    out = np.zeros((mix.shape[0], length), dtype=np.float32)
    if hi > lo:
        out[:, lo - start : hi - start] = mix[:, lo:hi]
    return out


class OverlapAdd:
    """Accumulates segment outputs into ``out`` (S, C, N), already normalised per pass.

    ``out`` may be a memory-mapped array for very long tracks; nothing else here grows with the
    track (each segment's weight sums are worked out where it lands).
    """

    def __init__(self, out: np.ndarray, passes: list[Pass], segment: int, overlap: float) -> None:
        self.out = out
        self.segment = segment
        self.weight = transition_weight(segment)
        self.overlap = overlap
        self.scale = np.float32(1.0 / len(passes))
        self.passes = {p.index: p for p in passes}

    def add(self, seg: Segment, model_out: np.ndarray) -> None:
        """Blend one model output (S, C, segment) into the track."""
        p = self.passes[seg.pass_index]
        length = self.out.shape[-1]
        lo, hi = max(0, seg.out_start), min(length, seg.out_start + seg.length)
        if hi <= lo:
            return
        k0 = seg.keep_from + (lo - seg.out_start)
        w0 = lo - seg.out_start
        view_off = lo - p.view_start
        sums = pass_weight_range(p, self.segment, self.overlap, view_off, view_off + hi - lo)
        gain = self.weight[w0 : w0 + hi - lo] / sums * self.scale
        self.out[..., lo:hi] += model_out[..., k0 : k0 + hi - lo] * gain
