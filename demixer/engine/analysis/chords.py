"""Chords of a track, a label a beat: chroma, chord templates and a Viterbi path.

librosa (ISC) makes the constant-Q chroma, the beat grid and the Viterbi decoding; the templates
are a few lines here. The maintained alternatives do not fit: madmom's chord models are
CC BY-NC-SA (not for a product), Chordino is a GPL Vamp plugin in C++, and the learned
recognisers on PyPI need TensorFlow or PyTorch. Each beat's chroma (the median of its frames) is
scored against every template (cosine similarity) and "N" (no chord: a beat too quiet to hold
one); the Viterbi path over the beats prefers to stay on a chord, so a passing note or a drum
hit does not flip the label. Labels are Harte's, as chord datasets' ``.lab`` files write them:
``C:maj``, ``A:min``, ``G:7``, ``F:maj7``, ``D:min7``, ``N``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

ANALYSIS_RATE = 22050
HOP = 512
ROOTS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# semitones above the root
QUALITIES = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
}
NO_CHORD = "N"
# a beat whose RMS is this far below the track's loudest beat holds no chord
SILENCE_DB = -40.0
# the likelihood's sharpness: similarity differences of ~0.1 between templates decide
SHARPNESS = 25.0
STAY = 0.6  # probability that the next beat keeps the chord
NOT_HARMONIC = ("drums", "vocals")  # stems left out of the harmonic mix


@dataclass(frozen=True)
class Chord:
    start: float  # seconds
    end: float
    label: str  # "C:maj", "A:min7", "N"


def labels() -> list[str]:
    """Every label the estimator can give, "N" last."""
    return [f"{root}:{quality}" for quality in QUALITIES for root in ROOTS] + [NO_CHORD]


def templates() -> np.ndarray:
    """float (len(labels()) - 1, 12) unit vectors, one a chord."""
    rows = []
    for steps in QUALITIES.values():
        for root in range(12):
            row = np.zeros(12)
            row[[(root + s) % 12 for s in steps]] = 1.0
            rows.append(row / np.linalg.norm(row))
    return np.array(rows)


def harmonic_mix(stems: Mapping[str, np.ndarray]) -> np.ndarray:
    """The sum of every stem but drums and vocals, float32 like the stems; the sum of all when
    nothing else is there (a 2-stem model's "accompaniment" has the drums in it)."""
    harmonic = [wave for name, wave in stems.items() if name not in NOT_HARMONIC]
    chosen = harmonic or list(stems.values())
    if not chosen:
        raise ValueError("no stems given")
    return np.sum(chosen, axis=0).astype(np.float32)


def _mono(samples: np.ndarray, rate: int) -> np.ndarray:
    mono = np.asarray(samples, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if mono.ndim != 1:
        raise ValueError("chords() takes audio as (channels, N) or (N,)")
    if rate != ANALYSIS_RATE:
        import soxr

        mono = soxr.resample(mono, rate, ANALYSIS_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32)


def _beat_times(y: np.ndarray, duration: float) -> np.ndarray:
    """librosa's beat tracker, else (silence, no pulse) a half-second grid."""
    import librosa

    _, frames = librosa.beat.beat_track(y=y, sr=ANALYSIS_RATE, hop_length=HOP)
    times = librosa.frames_to_time(frames, sr=ANALYSIS_RATE, hop_length=HOP)
    if len(times) < 2:
        times = np.arange(0.0, duration, 0.5)
    return np.asarray(times, dtype=float)


def _bounds(beats: Sequence[float] | np.ndarray, duration: float) -> np.ndarray:
    """Segment edges: 0, the beats inside the track, the end."""
    inside = np.asarray(beats, dtype=float)
    inside = inside[(inside > 0.05) & (inside < duration - 0.05)]
    return np.concatenate([[0.0], np.unique(inside), [duration]])


def chords(
    audio: np.ndarray, sr: int, beats: Sequence[float] | np.ndarray | None = None
) -> list[Chord]:
    """Chords of float32 audio (channels, N) or (N,) at ``sr``, one label a beat (``beats`` in
    seconds, else librosa's beat tracker), equal neighbours merged. The harmonic stems
    (:func:`harmonic_mix`) give cleaner chroma than the mix where they are at hand."""
    import librosa

    y = _mono(audio, sr)
    duration = len(y) / ANALYSIS_RATE
    if duration <= 0:
        return []
    if float(np.abs(y).max()) < 1e-6:  # silence: nothing to tune the chroma to
        return [Chord(0.0, duration, NO_CHORD)]
    edges = _bounds(_beat_times(y, duration) if beats is None else beats, duration)
    chroma = librosa.feature.chroma_cqt(y=y, sr=ANALYSIS_RATE, hop_length=HOP, norm=None)
    rms = librosa.feature.rms(y=y, hop_length=HOP)[0]
    n = min(chroma.shape[1], len(rms))
    frames = librosa.time_to_frames(edges, sr=ANALYSIS_RATE, hop_length=HOP)
    frames = np.clip(frames, 0, n)
    beat_chroma = np.zeros((12, len(edges) - 1))
    loudness = np.zeros(len(edges) - 1)
    for i, (a, b) in enumerate(itertools.pairwise(frames)):
        if b > a:
            beat_chroma[:, i] = np.median(chroma[:, a:b], axis=1)
            loudness[i] = float(np.sqrt(np.mean(rms[a:b] ** 2)))
    path = _decode(beat_chroma, loudness)
    names = labels()
    merged: list[Chord] = []
    for i, state in enumerate(path):
        start, end = float(edges[i]), float(edges[i + 1])
        if merged and merged[-1].label == names[state]:
            merged[-1] = Chord(merged[-1].start, end, names[state])
        else:
            merged.append(Chord(start, end, names[state]))
    return merged


def _decode(beat_chroma: np.ndarray, loudness: np.ndarray) -> np.ndarray:
    """The most likely label index per beat: template likelihoods, "N" for quiet beats."""
    import librosa

    n_chords = 12 * len(QUALITIES)
    norms = np.linalg.norm(beat_chroma, axis=0)
    unit = beat_chroma / np.maximum(norms, 1e-12)
    similarity = templates() @ unit  # (chords, beats)
    loudest = float(loudness.max()) if loudness.size else 0.0
    quiet = (loudness <= loudest * 10 ** (SILENCE_DB / 20)) | (norms <= 1e-9) | (loudest <= 1e-6)
    likelihood = np.exp(SHARPNESS * (similarity - 1.0))
    likelihood = np.vstack([likelihood, np.full(similarity.shape[1], np.exp(-SHARPNESS))])
    likelihood[:n_chords, quiet] = 0.0
    likelihood[n_chords, quiet] = 1.0
    likelihood /= likelihood.sum(axis=0, keepdims=True)
    transition = librosa.sequence.transition_loop(n_chords + 1, STAY)
    return np.asarray(librosa.sequence.viterbi(likelihood, transition))


def to_lab(found: Sequence[Chord]) -> str:
    """The ``.lab`` text chord datasets use: "start end label" a line, seconds to 3 decimals."""
    return "".join(f"{c.start:.3f} {c.end:.3f} {c.label}\n" for c in found)


def from_lab(text: str) -> list[Chord]:
    """Read ``.lab`` text (whitespace-separated "start end label" lines; blank lines skipped)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            start, end, label = float(parts[0]), float(parts[1]), parts[2]
        except (IndexError, ValueError):
            raise ValueError(f"line {number} is not 'start end label': {line!r}") from None
        out.append(Chord(start, end, label))
    return out
