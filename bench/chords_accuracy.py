"""Chord accuracy on generated songs of known progressions: weighted chord symbol recall
(mir_eval's ``majmin``, the MIREX measure), on the mix and on the harmonic stems.

    python bench/chords_accuracy.py [--songs 12] [--seconds 30]

The songs (demixer/testing/progressions.py) cycle through keys, both modes and 70-160 BPM;
a song's harmonic stems are its mix without drums and vocals, as a separation would give them.
Chords are labelled per beat on librosa's beat grid.
"""

from __future__ import annotations

import argparse
import time

import mir_eval
import numpy as np

from demixer.engine.analysis.chords import Chord, chords, harmonic_mix
from demixer.testing.progressions import progression_song
from demixer.testing.signals import RATE
from demixer.testing.tonal import Key


def wcsr(truth: list[tuple[float, float, str]], found: list[Chord]) -> float:
    """mir_eval's majmin weighted chord symbol recall of ``found`` against ``truth``."""
    ref_iv = np.array([[s, e] for s, e, _ in truth])
    est_iv = np.array([[c.start, c.end] for c in found])
    est_iv, est_labels = mir_eval.util.adjust_intervals(
        est_iv, [c.label for c in found], ref_iv.min(), ref_iv.max(), "N", "N"
    )
    intervals, ref, est = mir_eval.util.merge_labeled_intervals(
        ref_iv, [label for _, _, label in truth], est_iv, est_labels
    )
    durations = mir_eval.util.intervals_to_durations(intervals)
    return float(mir_eval.chord.weighted_accuracy(mir_eval.chord.majmin(ref, est), durations))


def song(i: int, seconds: float) -> tuple[dict[str, np.ndarray], list[tuple[float, float, str]]]:
    key = Key((5 * i) % 12, "major" if i % 2 == 0 else "minor")
    bpm = 70.0 + (i * 37) % 90
    return progression_song(seconds, key, bpm, seed=i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    scores: dict[str, list[float]] = {"mix": [], "harmonic": []}
    started = time.monotonic()
    for i in range(args.songs):
        stems, truth = song(i, args.seconds)
        mix = np.sum(list(stems.values()), axis=0)
        row = []
        for name, audio in (("mix", mix), ("harmonic", harmonic_mix(stems))):
            scores[name].append(wcsr(truth, chords(audio, RATE)))
            row.append(f"{name} {scores[name][-1]:.3f}")
        print(f"song {i:2d} ({truth[0][2]}, {len(truth)} bars): " + ", ".join(row))
    print(
        f"majmin WCSR over {args.songs} songs of {args.seconds:.0f} s: "
        f"mix {np.mean(scores['mix']):.3f} (min {np.min(scores['mix']):.3f}), "
        f"harmonic stems {np.mean(scores['harmonic']):.3f} "
        f"(min {np.min(scores['harmonic']):.3f}); {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
