"""Generated songs of a known key and tempo, to measure the key and BPM estimates.

Diatonic harmony (a common four-chord progression of the key, chords voiced as triads with a
root-position bass line) and a melody on the key's scale, over drums on the beat. Everything is
deterministic for a seed; arrays are float32 (2, N) at 44.1 kHz like :mod:`signals`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demixer.engine.synthetic import RATE, _drums, _env, _place, _stereo, _tone

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor: the leading tone of its major V
# each bar's chord as semitones above the tonic: I-V-vi-IV, and i-iv-V-i (a minor key's own
# cadence; i-VI-III-VII would be the relative major's vi-IV-I-V, the same notes)
PROGRESSIONS = {
    "major": ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)),
    "minor": ((0, 3, 7), (5, 8, 12), (7, 11, 14), (0, 3, 7)),
}


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class, 0 = C
    mode: str  # "major" or "minor"

    def __str__(self) -> str:
        return f"{PITCH_CLASSES[self.tonic]} {self.mode}"

    @property
    def steps(self) -> tuple[int, ...]:
        return MAJOR_STEPS if self.mode == "major" else MINOR_STEPS


def _freq(pitch_class: int, octave: int) -> float:
    """Equal-tempered frequency, A4 = 440 Hz; octave 4 holds middle C."""
    midi = 12 * (octave + 1) + pitch_class
    return 440.0 * 2 ** ((midi - 69) / 12)


def _above(key: Key, semitones: int, octave: int) -> float:
    """Frequency ``semitones`` above the key's tonic in ``octave``."""
    return _freq(key.tonic, octave) * 2 ** (semitones / 12)


def tonal_song(seconds: float, key: Key, bpm: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Drums, bass, chords and a melody in ``key`` at ``bpm``: name -> float32 (2, N)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    beat = round(RATE * 60 / bpm)
    bar = 4 * beat
    progression = PROGRESSIONS[key.mode]
    bass = np.zeros(n)
    chords = np.zeros(n)
    melody = np.zeros(n)
    for b, start in enumerate(range(0, n, bar)):
        triad = progression[b % len(progression)]
        voicing = sum(_tone(_above(key, s, 3), bar, 8, 1.8) for s in triad)
        _place(chords, start, 0.12 * voicing * _env(bar, 0.02, 1.5))
        for i in range(4):
            note = _tone(_above(key, triad[0], 1), beat, 6, 1.2) * _env(beat, 0.01, 0.4)
            _place(bass, start + i * beat, 0.35 * note)
        for i in range(4):
            if rng.random() < 0.2:
                continue  # rests
            # chord tones on the strong beats, any note of the scale between
            scale_note = key.steps[int(rng.integers(0, 7))]
            semitones = int(rng.choice(triad)) if i % 2 == 0 else scale_note
            length = beat
            tone = _tone(_above(key, semitones, 4), length, 12, 1.3, vibrato=0.5)
            _place(melody, start + i * beat, 0.18 * tone * _env(length, 0.03, 0.5))
    stems = {
        "drums": _stereo(_drums(n, beat, rng), 0.5),
        "bass": _stereo(bass, 0.5),
        "other": _stereo(chords, 0.4),
        "vocals": _stereo(melody, 0.6),
    }
    return {name: wave.astype(np.float32) for name, wave in stems.items()}
