"""Accuracy of the key and BPM shown for a track (demixer.engine.analysis) on generated songs of
known key and tempo (demixer.testing.tonal): every tonic in both modes, tempi spread over
70-170 BPM, with the shipped key profiles (Temperley) and Krumhansl-Kessler's for comparison.
Prints a table; never asserts.

    .venv/bin/python bench/key_tempo.py [--seconds 30] [--songs 24]

Scores: key exact, and MIREX's weighted key score (1 exact, 0.5 a fifth away, 0.3 relative,
0.2 parallel); BPM "Acc1" within 4 % of the truth, "Acc2" also accepting double/half/triple/
third (octave errors). Tempo does not depend on the key profiles.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demixer.engine import analysis
from demixer.testing.signals import RATE
from demixer.testing.tonal import PITCH_CLASSES, Key, tonal_song


def parse_key(text: str) -> Key:
    tonic, mode = text.split()
    return Key(PITCH_CLASSES.index(tonic), mode)


def mirex_score(truth: Key, guess: Key) -> float:
    """MIREX audio key detection weights."""
    if guess == truth:
        return 1.0
    if guess.mode == truth.mode and (guess.tonic - truth.tonic) % 12 in (5, 7):
        return 0.5
    relative = 9 if truth.mode == "major" else 3  # A minor <-> C major
    if guess.mode != truth.mode and (guess.tonic - truth.tonic) % 12 == relative:
        return 0.3
    if guess.mode != truth.mode and guess.tonic == truth.tonic:
        return 0.2
    return 0.0


def bpm_hits(truth: float, guess: float) -> tuple[bool, bool]:
    acc1 = abs(guess - truth) <= 0.04 * truth
    acc2 = any(abs(guess - truth * f) <= 0.04 * truth * f for f in (1, 2, 0.5, 3, 1 / 3))
    return acc1, acc2


# Krumhansl & Kessler (1982) probe-tone ratings, tonic first: the classic profiles, compared
KRUMHANSL_KESSLER = (
    np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
)
PROFILES = {
    "Temperley (shipped)": (analysis.MAJOR_PROFILE, analysis.MINOR_PROFILE),
    "Krumhansl-Kessler": KRUMHANSL_KESSLER,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--songs", type=int, default=24)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    keys: dict[str, list[tuple[bool, float]]] = {name: [] for name in PROFILES}
    tempo: list[tuple[bool, bool]] = []
    elapsed = 0.0
    analysis.analyse(np.zeros((2, RATE), np.float32), RATE)  # librosa's one-off JIT compile
    print(f"{'song':>4} {'key':>9} {'bpm':>6} | {'shipped':>18} | {'Krumhansl-Kessler':>17}")
    for i in range(args.songs):
        key = Key(i % 12, "major" if (i // 12) % 2 == 0 else "minor")
        bpm = float(rng.uniform(70, 170))
        mix = np.sum(list(tonal_song(args.seconds, key, bpm, seed=i).values()), axis=0)
        start = time.perf_counter()
        result = analysis.analyse(mix, RATE)  # what the worker runs
        elapsed += time.perf_counter() - start
        tempo.append(bpm_hits(bpm, result.bpm))
        line = f"{i:>4} {key!s:>9} {bpm:6.1f} | {result.key:>9} {result.bpm:6.1f}"
        for name, profiles in PROFILES.items():
            guess = parse_key(analysis.estimate_key(mix, RATE, profiles)[0])
            keys[name].append((guess == key, mirex_score(key, guess)))
            if name != next(iter(PROFILES)):
                line += f" | {guess!s:>17}"
        print(line)
    minutes = args.songs * args.seconds / 60
    acc1, acc2 = (float(np.mean([t[k] for t in tempo])) for k in range(2))
    print(f"\n{args.songs} songs x {args.seconds:.0f} s")
    print("| key profiles | key exact | MIREX key score |")
    print("| --- | --- | --- |")
    for name, results in keys.items():
        exact, score = (float(np.mean([r[k] for r in results])) for k in range(2))
        print(f"| {name} | {exact:.0%} | {score:.3f} |")
    print(f"BPM: Acc1 (within 4 %) {acc1:.0%}, Acc2 (octave errors accepted) {acc2:.0%}")
    print(f"analysis time: {elapsed / minutes:.2f} s per minute of audio (key + BPM)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
