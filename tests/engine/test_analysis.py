"""Key and BPM on generated songs of known key and tempo (the accuracy over 24 songs is
bench/key_tempo.py's; these are songs the classic Krumhansl-Kessler profiles get wrong)."""

from __future__ import annotations

import numpy as np
import pytest

from demixer.engine import analysis
from demixer.testing.signals import RATE
from demixer.testing.tonal import Key, tonal_song


@pytest.mark.parametrize(
    ("key", "bpm", "seed"),
    [
        (Key(0, "major"), 87.9, 0),  # Krumhansl-Kessler: A minor
        (Key(4, "major"), 105.5, 4),  # Krumhansl-Kessler: C# minor (relative)
        (Key(3, "minor"), 152.6, 15),  # Krumhansl-Kessler: Bb major
    ],
)
def test_key_and_tempo_of_a_generated_song(key: Key, bpm: float, seed: int) -> None:
    mix = np.sum(list(tonal_song(30, key, bpm, seed=seed).values()), axis=0)
    result = analysis.analyse(mix, RATE)
    assert result.key == str(key)
    assert abs(result.bpm - bpm) <= 0.04 * bpm, result.bpm
    assert result.key_confidence > 0.5


def test_a_transposed_song_gets_the_transposed_key() -> None:
    """Same song a tone higher: the key moves with it (the estimate reads pitch, not a name)."""
    low = analysis.estimate_key(
        np.sum(list(tonal_song(20, Key(9, "minor"), 110).values()), 0), RATE
    )
    high = analysis.estimate_key(
        np.sum(list(tonal_song(20, Key(11, "minor"), 110).values()), 0), RATE
    )
    assert (low[0], high[0]) == ("A minor", "B minor")


def test_silence_and_noise_have_no_key() -> None:
    silence = np.zeros((2, 5 * RATE), np.float32)
    noise = np.random.default_rng(0).standard_normal((2, 10 * RATE)).astype(np.float32) * 0.1
    assert analysis.analyse(silence, RATE).key == ""
    assert analysis.analyse(noise, RATE).key == ""


def test_a_long_track_is_analysed_from_its_middle() -> None:
    """Memory and time stay bounded: only MAX_SECONDS around the middle are read."""
    rate = 8000
    long = np.zeros((2, int((analysis.MAX_SECONDS + 60) * rate)), np.float32)
    mono = analysis._mono(long, rate)
    assert mono.shape[-1] == pytest.approx(analysis.MAX_SECONDS * analysis.ANALYSIS_RATE, rel=1e-3)
