"""Key and tempo of a track, for musicians practising with its stems.

Tempo comes from librosa's onset-strength autocorrelation (``librosa.feature.tempo``); the key
from librosa's STFT chroma, matched against Temperley's key profiles (the Krumhansl-Schmuckler
template method: librosa computes the chroma, the 24-way correlation is a few lines here).
Measured on generated songs (``bench/key_tempo.py``, docs/performance.md): Temperley's profiles
named 24 of 24 keys where Krumhansl-Kessler's named 21 (keys taken for their relative or
dominant key), and the STFT chroma beat the constant-Q chroma, which called half of the minor
keys major even after harmonic/percussive separation at 8x the time. librosa (ISC licence) is
the maintained library for both; it is imported only when a track is analysed, never by web
processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANALYSIS_RATE = 22050
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Temperley (1999), "What's key for key?", tonic first
MAJOR_PROFILE = np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0])
MINOR_PROFILE = np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0])
# below this correlation the chroma fits no key well (noise, speech, atonal): no key is shown;
# white noise scores ~0.25, the generated songs 0.7-0.9
MIN_KEY_CONFIDENCE = 0.4
# how much of a long track is analysed (from its middle): enough for a stable estimate
MAX_SECONDS = 120.0


@dataclass(frozen=True)
class Analysis:
    bpm: float
    key: str  # "A minor", "Eb major"; "" when nothing fits a key (silence, noise)
    key_confidence: float  # correlation of the best key profile, -1..1

    @property
    def bpm_text(self) -> str:
        return f"{self.bpm:.0f} BPM"


def _mono(samples: np.ndarray, rate: int) -> np.ndarray:
    """The middle ``MAX_SECONDS`` as mono float32 at ``ANALYSIS_RATE``."""
    import soxr

    mono = np.asarray(samples, dtype=np.float32)
    limit = int(MAX_SECONDS * rate)
    if mono.shape[-1] > limit:  # cut before anything else: a long track may be on disk
        start = (mono.shape[-1] - limit) // 2
        mono = mono[..., start : start + limit]
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if rate != ANALYSIS_RATE:
        mono = soxr.resample(mono, rate, ANALYSIS_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32)


def estimate_bpm(samples: np.ndarray, rate: int) -> float:
    import librosa

    y = _mono(samples, rate)
    onsets = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE)
    return float(librosa.feature.tempo(onset_envelope=onsets, sr=ANALYSIS_RATE)[0])


def key_scores(
    samples: np.ndarray,
    rate: int,
    profiles: tuple[np.ndarray, np.ndarray] = (MAJOR_PROFILE, MINOR_PROFILE),
) -> np.ndarray:
    """Correlation with each of the 24 keys: [C major .. B major, C minor .. B minor]; all -1
    when the chroma is flat (silence)."""
    import librosa

    y = _mono(samples, rate)
    chroma = librosa.feature.chroma_stft(y=y, sr=ANALYSIS_RATE).sum(axis=1)
    scores = np.full(24, -1.0)
    if np.ptp(chroma) <= 1e-6 * max(float(chroma.max()), 1e-12):
        return scores
    for mode, profile in enumerate(profiles):
        for tonic in range(12):
            scores[mode * 12 + tonic] = np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
    return scores


def estimate_key(
    samples: np.ndarray,
    rate: int,
    profiles: tuple[np.ndarray, np.ndarray] = (MAJOR_PROFILE, MINOR_PROFILE),
) -> tuple[str, float]:
    """The best-matching key ("A minor") and its correlation."""
    scores = key_scores(samples, rate, profiles)
    best = int(np.argmax(scores))
    if scores[best] < MIN_KEY_CONFIDENCE:
        return "", float(scores[best])
    mode = "major" if best < 12 else "minor"
    return f"{PITCH_CLASSES[best % 12]} {mode}", float(scores[best])


def analyse(samples: np.ndarray, rate: int) -> Analysis:
    """Key and tempo of a mix, float32 (channels, N) at ``rate``."""
    key, confidence = estimate_key(samples, rate)
    return Analysis(estimate_bpm(samples, rate), key, confidence)
