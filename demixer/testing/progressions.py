"""Generated songs of a known chord progression, to measure chord recognition.

A progression of the key's diatonic chords with their sevenths where a song would have them
(I maj7, ii min7, V 7, vi min7 ...), a chord a bar: a root-note bass line, a sustained pad and a
piano-like part that strikes the chord on each beat in a moving inversion, a melody on chord and
scale tones as the "vocals", drums on the beat. The true labels are Harte's (``G:7``), so
mir_eval scores them directly. Deterministic for a seed; float32 (2, N) at 44.1 kHz.
"""

from __future__ import annotations

import numpy as np

from demixer.engine.synthetic import RATE, _drums, _env, _place, _stereo, _tone
from demixer.testing.tonal import PITCH_CLASSES, Key

# (semitones of the root above the tonic, quality) of each scale degree's chord
DIATONIC = {
    "major": (
        (0, "maj"), (0, "maj7"), (2, "min"), (2, "min7"), (4, "min"), (5, "maj"),
        (5, "maj7"), (7, "maj"), (7, "7"), (9, "min"), (9, "min7"),
    ),
    "minor": (
        (0, "min"), (0, "min7"), (3, "maj"), (3, "maj7"), (5, "min"), (5, "min7"),
        (7, "7"), (7, "maj"), (8, "maj"), (8, "maj7"), (10, "7"), (10, "maj"),
    ),
}  # fmt: skip
STEPS = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
}


def progression(key: Key, bars: int, seed: int) -> list[tuple[int, str]]:
    """(root pitch class, quality) a bar: the tonic chord first, then diatonic chords, no chord
    twice in a row."""
    rng = np.random.default_rng(seed)
    pool = DIATONIC[key.mode]
    chosen = [pool[0]]
    while len(chosen) < bars:
        candidate = pool[int(rng.integers(len(pool)))]
        if candidate[0] != chosen[-1][0]:
            chosen.append(candidate)
    return [((key.tonic + offset) % 12, quality) for offset, quality in chosen]


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def progression_song(
    seconds: float, key: Key, bpm: float, seed: int = 0
) -> tuple[dict[str, np.ndarray], list[tuple[float, float, str]]]:
    """Stems (drums, bass, other, vocals) and the true chords as (start s, end s, label)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    beat = round(RATE * 60 / bpm)
    bar = 4 * beat
    bars = -(-n // bar)
    chords = progression(key, bars, seed)
    bass, pad, piano, melody = (np.zeros(n) for _ in range(4))
    truth = []
    for b, (root, quality) in enumerate(chords):
        start = b * bar
        steps = STEPS[quality]
        truth.append((start / RATE, min(start + bar, n) / RATE, f"{PITCH_CLASSES[root]}:{quality}"))
        low = 36 + root  # bass in octave 2
        for i in range(4):
            note = low + (7 if i == 3 and rng.random() < 0.5 else 0)
            tone = _tone(_hz(note), beat, 8, 1.1) * _env(beat, 0.005, 0.35)
            _place(bass, start + i * beat, 0.35 * tone)
        mid = 48 + root  # pad and piano around octave 3-4
        sustain = sum(_tone(_hz(mid + s + 12), bar, 6, 1.6) for s in steps)
        _place(pad, start, 0.05 * sustain * np.minimum(1.0, np.arange(bar) / (0.08 * RATE)))
        for i in range(4):
            inversion = [mid + s + (12 if k < i % len(steps) else 0) for k, s in enumerate(steps)]
            strike = sum(_tone(_hz(p), beat, 10, 1.3) for p in inversion)
            _place(piano, start + i * beat, 0.08 * strike * _env(beat, 0.004, 0.5))
        for i in range(4):
            if rng.random() < 0.25:
                continue
            tones = steps if i % 2 == 0 else key.steps
            pitch = 72 + (root if i % 2 == 0 else key.tonic) + int(rng.choice(tones))
            tone = _tone(_hz(pitch), beat, 12, 1.2, vibrato=0.5) * _env(beat, 0.03, 0.5)
            _place(melody, start + i * beat, 0.15 * tone)
    stems = {
        "drums": _stereo(_drums(n, beat, rng), 0.5),
        "bass": _stereo(bass, 0.5),
        "other": _stereo(pad + piano, 0.4),
        "vocals": _stereo(melody, 0.6),
    }
    return {k: v.astype(np.float32) for k, v in stems.items()}, truth
