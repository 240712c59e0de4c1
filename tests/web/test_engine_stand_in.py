"""The stand-in the web tests separate with is honest: the model's own sources and rate, stems
that follow the input, differ from each other and add up to it, and progress and cancel as the
real engine reports and honours them."""

from __future__ import annotations

import numpy as np
import pytest

from demixer.engine import model_files, registry
from demixer.engine.errors import Cancelled, ModelNotAvailable
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.separate import Progress, count_segments
from demixer.testing import signals
from demixer.testing.stand_in import StandInSession
from tests.web.test_files import correlation


@pytest.mark.parametrize("name", ["htdemucs", "spleeter"])
def test_the_stems_are_the_models_own_and_add_up_to_the_mix(name: str) -> None:
    session = StandInSession(SessionConfig(model=name))
    mix = signals.mix(signals.song(3.0, seed=5))
    stems = session.separate(mix, SeparationOptions(model=name))
    spec = registry.get_spec(name)
    assert (session.sources, session.samplerate) == (spec.sources, spec.samplerate)
    assert stems.shape == (len(spec.sources), *mix.shape) and stems.dtype == np.float32
    np.testing.assert_allclose(stems.sum(axis=0), mix, atol=1e-5)
    for i in range(len(stems)):
        assert np.abs(stems[i]).max() > 0.01  # every stem carries some of the song
        for j in range(i):
            assert abs(correlation(stems[i], stems[j])) < 0.2  # and not the others' part
    louder = session.separate(2 * mix, SeparationOptions(model=name))
    np.testing.assert_allclose(louder, 2 * stems, atol=1e-5)  # a function of the input


def test_progress_and_cancel_come_per_segment_like_the_engine() -> None:
    session = StandInSession(SessionConfig())
    mix = signals.mix(signals.song(12.0, seed=6))
    options = SeparationOptions()
    reports: list[Progress] = []
    session.separate(mix, options, progress=reports.append)
    total = count_segments(mix.shape[-1], options)
    assert total > 1 and [p.done for p in reports] == list(range(total + 1))
    asked: list[int] = []

    def cancel() -> bool:
        asked.append(len(reports))
        return len(asked) == 2  # once the first segment is done

    reports.clear()
    with pytest.raises(Cancelled):
        session.separate(mix, options, progress=reports.append, cancel=cancel)
    assert asked == [1, 2] and [p.done for p in reports] == [0, 1]


def test_a_model_whose_weights_are_missing_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(model_files, "_configured_dir", tmp_path)  # nothing fetched here
    with pytest.raises(ModelNotAvailable, match="fetch-models"):
        StandInSession(SessionConfig(model="spleeter"))
