"""Note accuracy of the Basic Pitch port on generated pieces of known notes: onset F-measure
(mir_eval's ``transcription.precision_recall_f1_overlap``, onsets within 50 ms, pitch within
a quarter tone, offsets ignored), and with offsets too (within 20 % of the note or 50 ms).

    python bench/notes_accuracy.py [--pieces 8] [--seconds 20]

Pieces (demixer/testing/notes.py): melodies (one note at a time) and chord parts (triads under
a melody), harmonic tones with a decay, keys and tempos cycled; 44.1 kHz stereo in, as a stem.
"""

from __future__ import annotations

import argparse
import time

import mir_eval
import numpy as np

from demixer.engine.analysis import notes_model
from demixer.engine.analysis.notes import Note, NoteModel
from demixer.testing.notes import KnownNote, midi_hz, piece
from demixer.testing.signals import RATE
from demixer.testing.tonal import Key


def scores(known: list[KnownNote], found: list[Note]) -> tuple[float, float]:
    """(onset-only F-measure, onset-and-offset F-measure)."""
    ref = np.array([[n.start, n.end] for n in known])
    ref_hz = np.array([midi_hz(n.pitch) for n in known])
    est = np.array([[n.start, n.end] for n in found]).reshape(-1, 2)
    est_hz = np.array([midi_hz(n.pitch) for n in found])
    onset = mir_eval.transcription.precision_recall_f1_overlap(
        ref, ref_hz, est, est_hz, onset_tolerance=0.05, offset_ratio=None
    )[2]
    both = mir_eval.transcription.precision_recall_f1_overlap(
        ref, ref_hz, est, est_hz, onset_tolerance=0.05
    )[2]
    return float(onset), float(both)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=8, help="of each kind")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    model = NoteModel(notes_model.fetch(quiet=True))
    started = time.monotonic()
    for kind in ("melody", "chords"):
        onset, both = [], []
        for i in range(args.pieces):
            key = Key((7 * i) % 12, "major" if i % 2 == 0 else "minor")
            bpm = 72.0 + (i * 29) % 80
            audio, known = piece(kind, args.seconds, key, bpm, seed=100 + i)
            found = model.transcribe(np.stack([audio, audio]), RATE)
            f_onset, f_both = scores(known, found)
            onset.append(f_onset)
            both.append(f_both)
        print(
            f"{kind}: {args.pieces} pieces of {args.seconds:.0f} s, onset F-measure "
            f"{np.mean(onset):.3f} (min {np.min(onset):.3f}); with offsets {np.mean(both):.3f}"
        )
    print(f"{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
