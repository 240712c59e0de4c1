"""Deterministic synthetic music with known stems: the fast mode's guard separates one such song
on each host (:mod:`demixer.engine.htdemucs.fast_check`), and the tests and benchmarks use them
(through :mod:`demixer.testing.signals`).

Each stem imitates its class closely enough for htdemucs to recognise it (kick/snare/hats,
a low bass line, sustained chords, a sung-like vowel with vibrato), so separation quality can be
measured against the true stems. Arrays are float32 (2, N) at 44.1 kHz.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

RATE = 44100
STEMS = ("drums", "bass", "other", "vocals")


def _env(n: int, attack: float, decay: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(n) / rate
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _place(track: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(track.shape[-1], start + sound.shape[-1])
    if end > start:
        track[..., start:end] += sound[..., : end - start]


def _drums(n: int, beat: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    kick_n = int(0.35 * RATE)
    t = np.arange(kick_n) / RATE
    kick = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t * 30)) / 30)) * _env(
        kick_n, 0.002, 0.12
    )
    b, a = signal.butter(2, [1500, 6000], btype="band", fs=RATE)
    hat_b, hat_a = signal.butter(4, 7000, btype="high", fs=RATE)
    for i, start in enumerate(range(0, n, beat // 2)):
        if i % 4 == 0:
            _place(out, start, 0.9 * kick)
        if i % 4 == 2:
            snare = signal.lfilter(b, a, rng.standard_normal(int(0.2 * RATE)))
            _place(out, start, 0.6 * snare * _env(snare.size, 0.001, 0.06))
        hat = signal.lfilter(hat_b, hat_a, rng.standard_normal(int(0.05 * RATE)))
        _place(out, start, 0.25 * hat * _env(hat.size, 0.001, 0.015))
    return out


def _tone(freq: float, n: int, harmonics: int, rolloff: float, vibrato: float = 0.0) -> np.ndarray:
    """Sum of sin(k phase) / k**rolloff over the harmonics. The k-th comes from the two before
    it (sin kx = 2 cos x sin (k-1)x - sin (k-2)x): one sine per tone instead of one per
    harmonic, 3x faster song() for the same signal to ~1e-11."""
    t = np.arange(n) / RATE
    phase = 2 * np.pi * freq * t + vibrato * np.sin(2 * np.pi * 5.5 * t) * freq / 5.5 * 0.02
    two_cos = 2 * np.cos(phase)
    before, current = np.zeros(n), np.sin(phase)
    out = current.copy()
    for k in range(2, harmonics + 1):
        before, current = current, two_cos * current - before
        out += current / k**rolloff
    return out


def _bass(n: int, beat: int, roots: list[float]) -> np.ndarray:
    out = np.zeros(n)
    for i, start in enumerate(range(0, n, beat)):
        note = roots[(i // 4) % len(roots)] * (1.5 if i % 4 == 3 else 1.0)
        tone = _tone(note, beat, 6, 1.2) * _env(beat, 0.01, 0.4)
        _place(out, start, 0.35 * tone)
    return out


def _chords(n: int, beat: int, roots: list[float]) -> np.ndarray:
    out = np.zeros(n)
    bar = beat * 4
    for i, start in enumerate(range(0, n, bar)):
        root = roots[i % len(roots)] * 4
        chord = sum(_tone(root * r, bar, 8, 1.8) for r in (1.0, 1.26, 1.5))
        _place(out, start, 0.12 * chord * _env(bar, 0.02, 1.5))
    return out


def _vocals(n: int, beat: int, roots: list[float], rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    scale = [1.0, 1.125, 1.26, 1.5, 1.68, 2.0]
    formants = [(700, 110), (1220, 120), (2600, 160)]
    for i, start in enumerate(range(0, n, beat * 2)):
        if i % 4 == 3:
            continue  # breathe
        freq = roots[(i // 2) % len(roots)] * 8 * scale[int(rng.integers(len(scale)))]
        length = int(beat * 1.8)
        source = _tone(freq, length, 30, 1.0, vibrato=1.0)
        voiced = np.zeros(length)
        for f, bw in formants:
            b, a = signal.iirpeak(f, f / bw, fs=RATE)
            voiced += signal.lfilter(b, a, source)
        _place(out, start, 0.25 * voiced * _env(length, 0.05, 0.9))
    return out


def _stereo(mono: np.ndarray, pan: float) -> np.ndarray:
    return np.stack([mono * np.sqrt(1 - pan), mono * np.sqrt(pan)])


def song(seconds: float, seed: int = 0, bpm: float = 120.0) -> dict[str, np.ndarray]:
    """The four stems of a short song: name -> float32 (2, N) at 44.1 kHz. Deterministic."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    beat = int(RATE * 60 / bpm)
    roots = [55.0, 61.7, 49.0, 65.4]
    rng.shuffle(roots)
    stems = {
        "drums": _stereo(_drums(n, beat, rng), 0.5),
        "bass": _stereo(_bass(n, beat, roots), 0.5),
        "other": _stereo(_chords(n, beat, roots), 0.35),
        "vocals": _stereo(_vocals(n, beat, roots, rng), 0.55),
    }
    return {k: v.astype(np.float32) for k, v in stems.items()}


def mix(stems: dict[str, np.ndarray], peak: float = 0.8) -> np.ndarray:
    """Sum of the stems scaled to ``peak``; the stems are scaled in place to match."""
    total = np.sum(list(stems.values()), axis=0)
    scale = peak / max(float(np.abs(total).max()), 1e-9)
    for name in stems:
        stems[name] *= scale
    return (total * scale).astype(np.float32)


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB (the plain MUSDB 'new SDR' definition)."""
    num = float(np.sum(reference.astype(np.float64) ** 2))
    den = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return 10 * np.log10((num + 1e-12) / (den + 1e-12))
