"""Generated pieces of known notes, to check and measure note transcription.

A melody (one note at a time) or a chord part (three-note chords under a melody) on a key's
scale, each note a harmonic tone with an attack, a decay and a short release, so its start,
end and pitch are known exactly. Deterministic for a seed; float32 mono at 44.1 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demixer.engine.synthetic import RATE, _tone
from demixer.testing.tonal import PROGRESSIONS, Key


@dataclass(frozen=True)
class KnownNote:
    start: float  # seconds
    end: float
    pitch: int  # MIDI


def midi_hz(pitch: float) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


def _note_sound(pitch: int, seconds: float, loudness: float, decay: float) -> np.ndarray:
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    release = np.clip((seconds - t) / 0.03, 0.0, 1.0)  # 30 ms fade: the note ends on time
    envelope = np.minimum(1.0, t / 0.008) * np.exp(-t / decay) * release
    return loudness * _tone(midi_hz(pitch), n, 10, 1.4) * envelope


def render(notes: list[KnownNote], seconds: float, decay: float = 1.2) -> np.ndarray:
    """float32 (N,) at 44.1 kHz: the notes, each at a loudness drawn from its pitch."""
    out = np.zeros(round(seconds * RATE))
    for note in notes:
        start = round(note.start * RATE)
        sound = _note_sound(
            note.pitch, note.end - note.start, 0.12 + 0.02 * (note.pitch % 5), decay
        )
        end = min(len(out), start + len(sound))
        out[start:end] += sound[: end - start]
    peak = float(np.abs(out).max()) or 1.0
    return (0.8 * out / peak).astype(np.float32)


def melody_notes(
    seconds: float, key: Key, bpm: float, seed: int = 0, octave: int = 4
) -> list[KnownNote]:
    """A melody on the key's scale: notes of 1/2, 1, 3/2 or 2 beats, some rests."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    tonic = 12 * (octave + 1) + key.tonic
    notes = []
    t = 0.0
    while t < seconds - 0.5:
        length = beat * float(rng.choice([0.5, 1.0, 1.5, 2.0]))
        if rng.random() > 0.15:
            degree = int(rng.integers(0, 10))
            pitch = tonic + 12 * (degree // 7) + key.steps[degree % 7]
            notes.append(KnownNote(t, min(t + length * 0.9, seconds), pitch))
        t += length
    return notes


def chord_notes(seconds: float, key: Key, bpm: float, seed: int = 0) -> list[KnownNote]:
    """The key's four-chord progression, a triad (octave 3) a half bar, under a melody."""
    beat = 60.0 / bpm
    tonic = 12 * 4 + key.tonic  # octave 3
    notes = []
    for i, start in enumerate(np.arange(0.0, seconds - 0.5, 2 * beat)):
        triad = PROGRESSIONS[key.mode][(i // 2) % 4]
        end = min(float(start) + 2 * beat * 0.95, seconds)
        notes += [KnownNote(float(start), end, tonic + s) for s in triad]
    notes += melody_notes(seconds, key, bpm, seed, octave=5)
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def piece(
    kind: str, seconds: float, key: Key, bpm: float, seed: int = 0
) -> tuple[np.ndarray, list[KnownNote]]:
    """("melody" or "chords") -> (float32 (N,) at 44.1 kHz, the notes in it)."""
    make = {"melody": melody_notes, "chords": chord_notes}[kind]
    notes = make(seconds, key, bpm, seed)
    return render(notes, seconds), notes
