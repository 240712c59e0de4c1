"""Chords per beat on generated songs of known progressions (the accuracy over more songs is
bench/chords_accuracy.py's), the .lab text, and what happens on silence and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bench.chords_accuracy import song, wcsr
from demixer.engine.analysis.chords import Chord, chords, from_lab, harmonic_mix, labels, to_lab
from demixer.testing.signals import RATE


@pytest.mark.parametrize("index", [0, 2])  # C major at 70 BPM, Bb major at 144 BPM
def test_a_clean_progression_is_labelled(index: int) -> None:
    stems, truth = song(index, 20.0)
    found = chords(harmonic_mix(stems), RATE)
    assert wcsr(truth, found) >= 0.8
    assert {c.label for c in found} <= set(labels())


def test_given_beats_are_the_grid() -> None:
    stems, truth = song(0, 12.0)
    beats = np.arange(0.0, 12.0, 60 / 70)
    found = chords(harmonic_mix(stems), RATE, beats=beats)
    edges = {round(c.start, 6) for c in found} - {0.0}
    assert edges <= {round(b, 6) for b in beats}
    assert wcsr(truth, found) >= 0.8


def test_silence_is_no_chord() -> None:
    assert chords(np.zeros((2, RATE * 4), np.float32), RATE) == [Chord(0.0, 4.0, "N")]


def test_the_harmonic_mix_leaves_out_drums_and_vocals() -> None:
    stems = {
        name: np.full((2, 4), float(i + 1), np.float32)
        for i, name in enumerate(("drums", "bass", "other", "vocals"))
    }
    assert np.all(harmonic_mix(stems) == 5.0)  # bass 2 + other 3
    assert np.all(harmonic_mix({"accompaniment": stems["drums"]}) == 1.0)


def test_lab_round_trip() -> None:
    found = [Chord(0.0, 1.5, "C:maj"), Chord(1.5, 3.25, "A:min7"), Chord(3.25, 4.0, "N")]
    text = to_lab(found)
    assert text.splitlines()[1] == "1.500 3.250 A:min7"
    assert from_lab(text) == found


def test_bad_lab_and_bad_audio_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="line 2"):
        from_lab("0 1 C:maj\n1 two G:7\n")
    with pytest.raises(ValueError, match="channels"):
        chords(np.zeros((1, 2, 3), np.float32), RATE)
