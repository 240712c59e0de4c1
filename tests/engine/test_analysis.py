"""Key and BPM on generated songs of known key and tempo (the accuracy over 24 songs is
bench/key_tempo.py's; these are songs the classic Krumhansl-Kessler profiles get wrong)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from demixer.engine import analysis
from demixer.testing import arrangements
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


def needs_synth(test: Callable[..., None]) -> Callable[..., None]:
    """FluidSynth renders the arrangements (make test installs it): slow, left out by test-fast."""
    return pytest.mark.slow(
        pytest.mark.skipif(
            bool(arrangements.available()), reason=arrangements.available() or "fluidsynth is here"
        )(test)
    )


def arrangement(index: int) -> tuple[arrangements.Arrangement, dict[str, np.ndarray], np.ndarray]:
    """A song of the bench's harder set (General MIDI instruments rendered by FluidSynth)."""
    song = arrangements.test_set()[index]
    stems = arrangements.render(song)
    return song, stems, np.sum(list(stems.values()), axis=0)


@needs_synth
@pytest.mark.parametrize(
    "index",
    [
        13,  # F# minor, i-VII-VI-V: was D major (its VI)
        3,  # G minor, i-VI-III-VII (the relative major's notes): was Bb major
        19,  # Eb minor, i-VI-III-VII: was F# major
    ],
)
def test_minor_arrangements_come_out_minor(index: int) -> None:
    song, stems, mix = arrangement(index)
    assert song.key.mode == "minor"
    assert analysis.analyse(mix, RATE).key == str(song.key)
    assert analysis.analyse(mix, RATE, stems).key == str(song.key)  # what the worker runs


@needs_synth
def test_natural_minor_over_its_relative_majors_chords_is_shown_as_uncertain() -> None:
    """i-VI-III-VII holds exactly the relative major's notes: the relative major is offered
    beside the (right) minor key rather than hidden."""
    song, stems, mix = arrangement(3)
    found = analysis.analyse(mix, RATE, stems)
    assert (song.progression, found.key, found.key_alternative) == (
        "i-VI-III-VII",
        "G minor",
        "Bb major",
    )


@needs_synth
@pytest.mark.parametrize("index", [8, 1])  # E major 72 BPM, C minor 62 BPM: were 144 and 123
def test_a_slow_ballad_is_not_taken_for_double_time(index: int) -> None:
    """Hi-hats in eighths or sixteenths over a slow backbeat: the beat is the kick/snare's."""
    song, _, mix = arrangement(index)
    assert song.bpm < 80
    bpm = analysis.analyse(mix, RATE).bpm
    assert abs(bpm - song.bpm) <= 0.04 * song.bpm, bpm
