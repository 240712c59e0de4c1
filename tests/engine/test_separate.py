"""The real engine with the real weights on short generated clips (one shared session)."""

from __future__ import annotations

import numpy as np
import pytest

from demixer.engine.errors import Cancelled, EngineError
from demixer.engine.htdemucs.model import SegmentModel
from demixer.engine.separate import (
    Progress,
    SeparationOptions,
    count_segments,
    select_stems,
    separate_array,
)
from demixer.testing import signals


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return signals.sdr(reference, estimate)


@pytest.fixture(scope="module")
def separated(model: SegmentModel, song_6s) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    stems, mix = song_6s
    return stems, mix, separate_array(mix, SeparationOptions(), model=model)


def test_shapes_and_source_order(separated, model: SegmentModel) -> None:
    _, mix, estimates = separated
    assert model.sources == ("drums", "bass", "other", "vocals")
    assert estimates.shape == (4, 2, mix.shape[-1])
    assert estimates.dtype == np.float32
    assert np.isfinite(estimates).all()


def test_stems_sum_close_to_the_mix(separated) -> None:
    _, mix, estimates = separated
    # htdemucs is not constrained to sum exactly; on music it stays well above 20 dB
    assert snr_db(mix, estimates.sum(axis=0)) > 20


def test_each_stem_lands_in_its_own_slot(separated) -> None:
    """Each estimate is closest to its own true stem: the order is really drums, bass, ..."""
    stems, _, estimates = separated
    for i, name in enumerate(signals.STEMS):
        own = snr_db(stems[name], estimates[i])
        others = [snr_db(stems[other], estimates[i]) for other in signals.STEMS if other != name]
        assert own > max(others), name
    assert snr_db(stems["drums"], estimates[0]) > 10
    assert snr_db(stems["bass"], estimates[1]) > 10


def test_silence_in_gives_silence_out(model: SegmentModel) -> None:
    silence = np.zeros((2, 44100 * 2), dtype=np.float32)
    out = separate_array(silence, model=model)
    assert np.isfinite(out).all()
    assert np.abs(out).max() < 1e-4


def test_short_input_under_a_second(model: SegmentModel, song_6s) -> None:
    _, mix = song_6s
    short = mix[:, :20000]
    out = separate_array(short, model=model)
    assert out.shape == (4, 2, 20000)
    assert snr_db(short, out.sum(axis=0)) > 15


def test_two_stem_mode_sums_the_others(separated) -> None:
    _, _, estimates = separated
    names = ("drums", "bass", "other", "vocals")
    two = select_stems(estimates, names, "vocals")
    assert list(two) == ["vocals", "no_vocals"]
    np.testing.assert_array_equal(two["vocals"], estimates[3])
    np.testing.assert_allclose(two["no_vocals"], estimates[:3].sum(axis=0), atol=1e-6)
    bass = select_stems(estimates, names, "bass")
    assert list(bass) == ["bass", "no_bass"]


def test_invalid_options_are_refused() -> None:
    with pytest.raises(EngineError, match="two-stems"):
        SeparationOptions(two_stems="kazoo").validate()
    with pytest.raises(EngineError, match="overlap"):
        SeparationOptions(overlap=1.5).validate()


def test_progress_and_cancellation(model: SegmentModel) -> None:
    """Cancel after the first segment: Cancelled is raised before the second one runs."""
    mix = np.zeros((2, 44100 * 12), dtype=np.float32)  # 12 s: three segments at overlap 0.25
    options = SeparationOptions()
    assert count_segments(mix.shape[-1], options) == 3
    seen: list[Progress] = []
    with pytest.raises(Cancelled):
        separate_array(
            mix,
            options,
            model=model,
            progress=seen.append,
            cancel=lambda: any(p.done >= 1 for p in seen),
        )
    assert [p.done for p in seen] == [0, 1]
    assert seen[-1].total == 3 and seen[-1].fraction == pytest.approx(1 / 3)
    assert seen[-1].eta is not None and seen[-1].eta > 0


def test_shifts_stay_close_to_unshifted(model: SegmentModel, separated) -> None:
    _, mix, estimates = separated
    shifted = separate_array(mix, SeparationOptions(shifts=1, seed=3), model=model)
    assert snr_db(mix, shifted.sum(axis=0)) > 20  # shifted passes line up with the track
    for i in (0, 1):  # drums and bass are well separated: a shift barely changes them
        assert snr_db(estimates[i], shifted[i]) > 10
