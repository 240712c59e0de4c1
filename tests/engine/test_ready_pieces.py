"""Final pieces handed over while the engine runs: back to back, in song order, and exactly
what the returned stems hold (listen while it separates)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest

from demixer.engine import audio
from demixer.engine.htdemucs import chunking
from demixer.engine.htdemucs.model import SegmentModel
from demixer.engine.options import SeparationOptions
from demixer.engine.registry import get_spec
from demixer.engine.separate import Piece, separate_array, separate_file
from demixer.testing import signals

SEGMENT = get_spec("htdemucs").segment_samples  # the plan uses the real model's segment


class FakeSegmentModel:
    """The SegmentModel interface around a cheap, position-dependent function (wrong offsets,
    trims or a missing contribution would show), so many lengths run in milliseconds."""

    spec = get_spec("htdemucs")
    sources = spec.sources
    segment = SEGMENT

    def __init__(self) -> None:
        self.exclusive = threading.RLock()
        self.ramp = np.linspace(0.5, 1.5, SEGMENT, dtype=np.float32)

    def prepare(self, wave: np.ndarray) -> dict[str, np.ndarray]:
        return {"wave": np.array(wave, dtype=np.float32)}

    def infer(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        wave = feeds["wave"]
        return wave * self.ramp, np.roll(wave, 7, axis=-1)

    def finish(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack([a, b, a - b, a * 0.25])


def collect(calls: list[tuple[int, int, np.ndarray]]):
    def on_ready(start: int, end: int, block: np.ndarray) -> None:
        calls.append((start, end, np.array(block)))  # a copy: what was final then

    return on_ready


@pytest.mark.parametrize(
    "length",
    [
        1,
        SEGMENT // 3,  # shorter than one segment
        SEGMENT,
        SEGMENT + 1,
        2 * SEGMENT + 12_345,  # several segments, the last one partial
        int(3.4 * SEGMENT),
    ],
)
@pytest.mark.parametrize(("overlap", "shifts"), [(0.0, 0), (0.25, 0), (0.5, 0), (0.25, 2)])
def test_published_pieces_are_the_returned_stems(length: int, overlap: float, shifts: int) -> None:
    mix = np.random.default_rng(length).standard_normal((2, length)).astype(np.float32)
    calls: list[tuple[int, int, np.ndarray]] = []
    options = SeparationOptions(overlap=overlap, shifts=shifts, seed=5)
    out = separate_array(mix, options, model=FakeSegmentModel(), on_ready=collect(calls))  # type: ignore[arg-type]
    assert calls, "nothing was published"
    assert calls[0][0] == 0
    assert calls[-1][1] == length
    for (_, end, _), (start, _, _) in itertools.pairwise(calls):
        assert start == end, "pieces must join back to back"
    assert all(end > start for start, end, _ in calls)
    joined = np.concatenate([block for _, _, block in calls], axis=-1)
    assert joined.dtype == np.float32
    np.testing.assert_array_equal(joined, out)  # bit-identical, not merely close


def test_first_piece_is_final_after_one_segment_even_with_shifts() -> None:
    """Shifted passes run side by side, so the beginning does not wait for the last pass."""
    length = 5 * SEGMENT
    for shifts in (0, 3):
        passes = chunking.plan_passes(length, 44100, shifts, seed=1)
        runs = chunking.interleave(passes, SEGMENT, 0.25)
        edges = chunking.ready_edges(runs, length)
        assert edges == sorted(edges) and edges[-1] == length
        first = next(i for i, e in enumerate(edges) if e > 0)
        assert first < max(1, shifts), (shifts, first)  # after the first run of each pass at most


def test_interleaved_passes_reconstruct_the_input_with_an_identity_model() -> None:
    mix = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)
    passes = chunking.plan_passes(mix.shape[-1], 1000, shifts=3, seed=1)
    out = np.zeros((1, 2, 5000), dtype=np.float32)
    ola = chunking.OverlapAdd(out, passes, 1000, 0.25)
    for seg in chunking.interleave(passes, 1000, 0.25):
        ola.add(seg, chunking.read_padded(mix, seg.start, 1000)[None])
    np.testing.assert_allclose(out[0], mix, atol=1e-5)


@pytest.mark.model
def test_real_model_file_pieces_join_into_the_stems(model: SegmentModel, tmp_path: Path) -> None:
    """The real engine on a file of two and a bit segments, two-stem selection included."""
    stems = signals.song(17.0, seed=3)
    path = audio.encode(
        signals.mix(stems), tmp_path / "song.wav", rate=44100, fmt="wav", bit_depth=24
    )
    got: list[Piece] = []
    options = SeparationOptions(two_stems="vocals")
    result = separate_file(path, options, model=model, on_ready=got.append)
    assert len(got) >= 3 and got[0].start == 0
    assert got[0].end < SEGMENT  # the first is ready after one segment
    for name, wav in result.stems.items():
        joined = np.concatenate([s.stems[name] for s in got], axis=-1)
        np.testing.assert_array_equal(joined, wav)
