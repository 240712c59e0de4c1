"""Separation quality of each mode against the true stems of generated mixtures.

Builds ``--songs`` songs of ``--seconds`` each with ``demixer.testing.signals`` (every stem
known), separates each mix with the default mode, fast mode (int8 MatMul weights) and fast mode
with a smaller overlap, and prints the mean SDR per stem and overall, the difference from the
default mode, and each mode's steady-state real-time factor. Prints, never asserts.

    .venv/bin/python bench/quality.py --songs 4 --seconds 30
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from demixer.engine.onnx_model import SegmentModel, SessionConfig
from demixer.engine.separate import SeparationOptions, separate_array
from demixer.testing import signals

MODES = (("default", 0.25), ("fast", 0.25), ("fast", 0.1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    songs = []
    for i in range(args.songs):
        stems = signals.song(args.seconds, seed=100 + i, bpm=95 + 10 * i)
        songs.append((stems, signals.mix(stems)))
    rows = []
    for quality, overlap in MODES:
        model = SegmentModel(SessionConfig(quality=quality))
        model.warm_up(2)
        options = SeparationOptions(quality=quality, overlap=overlap)
        sdrs, elapsed = [], 0.0
        for stems, mix in songs:
            started = time.perf_counter()
            estimates = separate_array(mix, options, model=model)
            elapsed += time.perf_counter() - started
            sdrs.append([signals.sdr(stems[n], estimates[i]) for i, n in enumerate(signals.STEMS)])
        table = np.array(sdrs)
        rows.append(
            (
                f"{quality} overlap {overlap}",
                table.mean(axis=0),
                table.mean(),
                elapsed / (args.seconds * args.songs),
            )
        )
    print(f"{args.songs} generated songs x {args.seconds:g} s; SDR in dB against the true stems")
    print(
        f"{'mode':22s} "
        + " ".join(f"{n:>7s}" for n in signals.STEMS)
        + f" {'mean':>7s} {'vs default':>10s} {'RTF':>6s}"
    )
    base = rows[0][2]
    for name, per_stem, mean, rtf in rows:
        print(
            f"{name:22s} "
            + " ".join(f"{v:7.2f}" for v in per_stem)
            + f" {mean:7.2f} {mean - base:+10.2f} {rtf:6.3f}"
        )


if __name__ == "__main__":
    main()
