"""Accuracy of the key and BPM shown for a track (demixer.engine.analysis), before and after
the rework of 2026-12-06, on two generated sets of known key and tempo:

- easy: demixer.testing.tonal's sine-tone songs (every tonic in both modes, 70-170 BPM);
- hard: demixer.testing.arrangements' General MIDI arrangements rendered by FluidSynth (drums
  with hi-hats in eighths or sixteenths, bass, pad or piano, a lead melody; major and natural/
  harmonic minor progressions; half of them 60-80 BPM). Skipped, with the reason, when
  FluidSynth or the soundfont is missing.

"before" is the estimator shipped until that rework (Temperley's profiles on the mix's chroma,
librosa's default tempo), reproduced here; "after (mix)" is today's analysis of the mix alone,
"after (stems)" what the worker runs (the key from the true stems, as after a perfect
separation); the profile rows compare key profiles in the "after (stems)" pipeline. Prints
tables; never asserts.

    .venv/bin/python bench/key_tempo.py [--songs 24]

Key: exact, and the errors by kind (relative major/minor, a fifth away, parallel mode, other);
"uncertain" counts the keys shown with their relative as "major/minor uncertain" (right when
either is the truth). BPM: within 4 % of the truth, and octave errors (double/half/triple/third).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demixer.engine import analysis
from demixer.testing import arrangements
from demixer.testing.signals import RATE
from demixer.testing.tonal import PITCH_CLASSES, Key, tonal_song

# Temperley (1999) and Krumhansl & Kessler (1982), tonic first: compared with the shipped ones
TEMPERLEY = (
    np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0]),
    np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
)
KRUMHANSL_KESSLER = (
    np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
)
Song = tuple[Key, float, dict[str, np.ndarray]]
Guess = tuple[str, str, float]  # key, alternative, bpm


def parse_key(text: str) -> Key | None:
    if not text:
        return None
    tonic, mode = text.split()
    return Key(PITCH_CLASSES.index(tonic), mode)


def key_error(truth: Key, guess: Key | None) -> str:
    if guess is None:
        return "none"
    if guess == truth:
        return "exact"
    relative = 9 if truth.mode == "major" else 3  # A minor <-> C major
    if guess.mode != truth.mode and (guess.tonic - truth.tonic) % 12 == relative:
        return "relative"
    if guess.mode == truth.mode and (guess.tonic - truth.tonic) % 12 in (5, 7):
        return "fifth"
    if guess.mode != truth.mode and guess.tonic == truth.tonic:
        return "parallel"
    return "other"


def tempo_error(truth: float, guess: float) -> str:
    if abs(guess - truth) <= 0.04 * truth:
        return "within 4 %"
    if any(abs(guess - truth * f) <= 0.04 * truth * f for f in (2, 0.5, 3, 1 / 3)):
        return "octave"
    return "other"


def before(mix: np.ndarray) -> Guess:
    """The estimator shipped before the rework."""
    import librosa

    y = analysis._mono(mix, RATE)
    chroma = librosa.feature.chroma_stft(y=y, sr=analysis.ANALYSIS_RATE).sum(axis=1)
    scores = [
        np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
        for profile in TEMPERLEY
        for tonic in range(12)
    ]
    best = int(np.argmax(scores))
    key = f"{PITCH_CLASSES[best % 12]} {'major' if best < 12 else 'minor'}"
    onsets = librosa.onset.onset_strength(y=y, sr=analysis.ANALYSIS_RATE)
    bpm = float(librosa.feature.tempo(onset_envelope=onsets, sr=analysis.ANALYSIS_RATE)[0])
    return key if scores[best] >= 0.4 else "", "", bpm


def after_mix(mix: np.ndarray) -> Guess:
    found = analysis.analyse(mix, RATE)
    return found.key, found.key_alternative, found.bpm


def after_stems(stems: dict[str, np.ndarray]) -> Guess:
    found = analysis.analyse(np.sum(list(stems.values()), axis=0), RATE, stems)
    return found.key, found.key_alternative, found.bpm


def with_profiles(profiles: tuple[np.ndarray, np.ndarray]) -> Callable[[dict], Guess]:
    def key_only(stems: dict[str, np.ndarray]) -> Guess:
        pitched = np.sum([w for name, w in stems.items() if name != "drums"], axis=0)
        found = analysis.key_of(pitched, RATE, profiles, bass=stems["bass"])
        return found.key, found.alternative, float("nan")

    return key_only


METHODS: dict[str, tuple[str, Callable]] = {
    "before (Temperley, mix)": ("mix", before),
    "after (mix)": ("mix", after_mix),
    "after (stems, Albrecht-Shanahan)": ("stems", after_stems),
    "stems, Temperley profiles": ("stems", with_profiles(TEMPERLEY)),
    "stems, Krumhansl-Kessler profiles": ("stems", with_profiles(KRUMHANSL_KESSLER)),
}


def easy_set(songs: int) -> list[Song]:
    rng = np.random.default_rng(2026)
    out = []
    for i in range(songs):
        key = Key(i % 12, "major" if (i // 12) % 2 == 0 else "minor")
        bpm = float(rng.uniform(70, 170))
        out.append((key, bpm, tonal_song(30, key, bpm, seed=i)))
    return out


def hard_set(songs: int) -> list[Song]:
    return [(s.key, s.bpm, arrangements.render(s)) for s in arrangements.test_set(songs)]


def report(name: str, songs: list[Song]) -> None:
    keys: dict[str, Counter] = {m: Counter() for m in METHODS}
    tempi: dict[str, Counter] = {m: Counter() for m in METHODS}
    elapsed = 0.0
    for truth, bpm, stems in songs:
        mix = np.sum(list(stems.values()), axis=0)
        line = f"{truth!s:>9} {bpm:5.0f} |"
        for method, (takes, estimate) in METHODS.items():
            start = time.perf_counter()
            key, alternative, guess = estimate(mix if takes == "mix" else stems)
            if method.startswith("after (stems"):
                elapsed += time.perf_counter() - start
            kind = key_error(truth, parse_key(key))
            if alternative:
                keys[method]["uncertain"] += 1
                if key_error(truth, parse_key(alternative)) == "exact":
                    kind = "relative, shown as alternative"
            keys[method][kind] += 1
            if not np.isnan(guess):
                tempi[method][tempo_error(bpm, guess)] += 1
            shown = f"{key}/{alternative.split()[0]}?" if alternative else key
            line += f" {shown:>13} {guess:5.0f} |" if not np.isnan(guess) else f" {shown:>13} |"
        print(line, flush=True)
    n = len(songs)
    print(f"\n{name}: {n} songs")
    print("| estimator | key exact | relative | fifth | parallel | other | none | "
          "major/minor uncertain | BPM within 4 % | BPM octave errors |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for method in METHODS:
        k, t = keys[method], tempi[method]
        relative = k["relative"] + k["relative, shown as alternative"]
        shown = k["relative, shown as alternative"]
        bpm = f"{t['within 4 %'] / n:.0%} | {t['octave']}" if t else "- | -"
        print(
            f"| {method} | {k['exact'] / n:.0%} | {relative}"
            f"{f' ({shown} shown as alternative)' if shown else ''} | {k['fifth']} | "
            f"{k['parallel']} | {k['other']} | {k['none']} | {k['uncertain']} | {bpm} |"
        )
    minutes = sum(s[2]["drums"].shape[-1] for s in songs) / RATE / 60
    print(f"analysis time (after, stems): {elapsed / minutes:.2f} s per minute of audio\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=24)
    args = parser.parse_args()
    analysis.analyse(np.zeros((2, RATE), np.float32), RATE)  # librosa's one-off JIT compile
    report("easy (demixer.testing.tonal)", easy_set(args.songs))
    reason = arrangements.available()
    if reason:
        print(f"hard set skipped: {reason}")
        return
    report("hard (demixer.testing.arrangements, FluidSynth)", hard_set(args.songs))


if __name__ == "__main__":
    main()
