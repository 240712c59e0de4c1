"""Key and tempo of a track, for musicians practising with its stems.

Key: librosa's STFT chroma of the pitched stems (everything but the drums: the drums' noise only
blurs the chroma, while the melody is what settles the tonic) matched against Albrecht &
Shanahan's key profiles, plus a vote for the tonic from the bass line (its constant-Q chroma
over the lowest three octaves: songs rest on the tonic in the bass, and the bass is what tells a
minor song from its relative major when the chords hold the same notes, as i-VI-III-VII does).
Without stems the mix stands in for both. When the relative major and minor score nearly alike
the estimate says so (``key_alternative``) rather than naming one of them wrongly.

Tempo: librosa's autocorrelation tempo (``librosa.feature.tempo``) of an onset envelope taken
below 1.5 kHz, where the kick, snare and bass mark the beat, rather than the hi-hats' eighths or
sixteenths, which made a slow ballad come out in double time; its log-normal prior is centred
on 130 BPM, 1.5 octaves wide. The comparisons behind each choice are in docs/performance.md
(``bench/key_tempo.py``). librosa (ISC licence) is imported only when a track is analysed,
never by web processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ANALYSIS_RATE = 22050
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Albrecht & Shanahan (2013), tonic first: fitted to a corpus, sharper about the third (which
# separates a minor key from its relative major) than Temperley's or Krumhansl's
MAJOR_PROFILE = np.array(
    [0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]
)
MINOR_PROFILE = np.array(
    [0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]
)
# the bass's vote: its share of time on the key's tonic (0..1) times this, added to the profile
# correlation (-1..1)
BASS_WEIGHT = 2.4
# below this correlation the chroma fits no key well (noise, speech, atonal): no key is shown
MIN_KEY_CONFIDENCE = 0.4
# a relative major/minor scoring within this of the best: the mode is uncertain, both are shown
RELATIVE_MARGIN = 0.15
# tempo: the onset envelope below this frequency, and librosa's tempo prior
ONSET_MAX_HZ = 1500.0
PRIOR_BPM = 130.0
PRIOR_OCTAVES = 1.5
# how much of a long track is analysed (from its middle): enough for a stable estimate
MAX_SECONDS = 120.0
HARMONIC_SKIP = ("drums",)


@dataclass(frozen=True)
class Analysis:
    bpm: float
    key: str  # "A minor", "Eb major"; "" when nothing fits a key (silence, noise)
    key_confidence: float  # correlation of the best key profile with the chroma, -1..1
    # the relative key ("C major" beside "A minor") when the two score nearly alike
    key_alternative: str = ""

    @property
    def bpm_text(self) -> str:
        return f"{self.bpm:.0f} BPM"


@dataclass(frozen=True)
class KeyEstimate:
    key: str  # "" when nothing fits a key
    confidence: float  # correlation of the best key's profile with the chroma, -1..1
    alternative: str  # the relative key when the mode is uncertain, else ""


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
    """Tempo of float32 (channels, N) or (N,) audio at ``rate``, in BPM."""
    import librosa

    y = _mono(samples, rate)
    mel = librosa.feature.melspectrogram(y=y, sr=ANALYSIS_RATE, n_mels=64)
    low = librosa.mel_frequencies(n_mels=64, fmax=ANALYSIS_RATE / 2) < ONSET_MAX_HZ
    onsets = librosa.onset.onset_strength(S=librosa.power_to_db(mel[low]), sr=ANALYSIS_RATE)
    tempo = librosa.feature.tempo(
        onset_envelope=onsets, sr=ANALYSIS_RATE, start_bpm=PRIOR_BPM, std_bpm=PRIOR_OCTAVES
    )
    return float(tempo[0])


def _bass_share(bass: np.ndarray) -> np.ndarray:
    """Share of the time each pitch class sounds in the lowest three octaves (C1-B3): each
    frame counts alike however loud; sums to 1 (uniform for silence)."""
    import librosa

    chroma = librosa.feature.chroma_cqt(
        y=bass, sr=ANALYSIS_RATE, fmin=librosa.note_to_hz("C1"), n_octaves=3
    )
    share = (chroma / (chroma.max(axis=0, keepdims=True) + 1e-9)).sum(axis=1)
    total = float(share.sum())
    return share / total if total > 0 else np.full(12, 1 / 12)


def key_scores(
    samples: np.ndarray,
    rate: int,
    profiles: tuple[np.ndarray, np.ndarray] = (MAJOR_PROFILE, MINOR_PROFILE),
    bass: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(correlation, score) of each of the 24 keys [C major .. B major, C minor .. B minor]:
    the profile's correlation with the chroma of ``samples`` (all -1 when the chroma is flat,
    as for silence), and that plus the bass's vote (``bass``: float32 audio at ``rate``, the
    bass stem; the lowest octaves of ``samples`` when None)."""
    import librosa

    y = _mono(samples, rate)
    chroma = librosa.feature.chroma_stft(y=y, sr=ANALYSIS_RATE).sum(axis=1)
    correlation = np.full(24, -1.0)
    if np.ptp(chroma) <= 1e-6 * max(float(chroma.max()), 1e-12):
        return correlation, correlation.copy()
    for mode, profile in enumerate(profiles):
        for tonic in range(12):
            correlation[mode * 12 + tonic] = np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
    share = _bass_share(y if bass is None else _mono(bass, rate))
    return correlation, correlation + BASS_WEIGHT * np.concatenate([share, share])


def _name(index: int) -> str:
    return f"{PITCH_CLASSES[index % 12]} {'major' if index < 12 else 'minor'}"


def estimate_key(
    samples: np.ndarray,
    rate: int,
    profiles: tuple[np.ndarray, np.ndarray] = (MAJOR_PROFILE, MINOR_PROFILE),
    bass: np.ndarray | None = None,
) -> tuple[str, float]:
    """The best-matching key ("A minor") and its correlation; see :func:`key_of`."""
    found = key_of(samples, rate, profiles, bass)
    return found.key, found.confidence


def key_of(
    samples: np.ndarray,
    rate: int,
    profiles: tuple[np.ndarray, np.ndarray] = (MAJOR_PROFILE, MINOR_PROFILE),
    bass: np.ndarray | None = None,
) -> KeyEstimate:
    """The key of float32 (channels, N) audio at ``rate`` (with the bass stem when there is
    one), how well it fits, and its relative key when that fits nearly as well."""
    correlation, scores = key_scores(samples, rate, profiles, bass)
    best = int(np.argmax(scores))
    if correlation[best] < MIN_KEY_CONFIDENCE:
        return KeyEstimate("", float(correlation[best]), "")
    # A minor <-> C major: the relative key shares the scale, only the tonic differs
    relative = (best + 9) % 12 + 12 if best < 12 else (best + 3) % 12
    close = scores[best] - scores[relative] < RELATIVE_MARGIN
    return KeyEstimate(_name(best), float(correlation[best]), _name(relative) if close else "")


def analyse(
    samples: np.ndarray, rate: int, stems: Mapping[str, np.ndarray] | None = None
) -> Analysis:
    """Key and tempo of a mix, float32 (channels, N) at ``rate``; with its separated ``stems``
    (name -> float32 (channels, N) at the same rate) the key comes from the pitched ones."""
    harmonic = [wave for name, wave in (stems or {}).items() if name not in HARMONIC_SKIP]
    if harmonic:
        pitched = np.sum([_mono(wave, rate) for wave in harmonic], axis=0)
        bass = stems["bass"] if stems and "bass" in stems else None
        found = key_of(pitched, ANALYSIS_RATE, bass=None if bass is None else _mono(bass, rate))
    else:
        found = key_of(samples, rate)
    return Analysis(estimate_bpm(samples, rate), found.key, found.confidence, found.alternative)
