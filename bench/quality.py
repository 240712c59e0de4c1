"""Separation quality of each mode against the true stems of generated mixtures.

Builds ``--songs`` songs of ``--seconds`` each with ``demixer.testing.signals`` (every stem
known), plus two vocal-heavy songs of 20 s (seeds 2 and 4: htdemucs hears clear vocals in them),
separates each mix with the default mode, fast mode (int8 MatMul weights) and fast mode
with a smaller overlap, and prints the mean SDR per stem and overall, the difference from the
default mode, the same for the vocal-heavy songs alone, and each mode's steady-state real-time
factor. Prints, never asserts.

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
VOCAL_SEEDS = (2, 4)


def songs(count: int, seconds: float) -> list[tuple[str, dict[str, np.ndarray], np.ndarray]]:
    """(name, true stems, mix): ``count`` generated songs, then the vocal-heavy ones."""
    out = []
    for i in range(count):
        stems = signals.song(seconds, seed=100 + i, bpm=95 + 10 * i)
        out.append((f"song {100 + i}", stems, signals.mix(stems)))
    for seed in VOCAL_SEEDS:
        stems = signals.song(20.0, seed=seed)
        out.append((f"vocals {seed}", stems, signals.mix(stems)))
    return out


def separate_songs(
    model: SegmentModel,
    options: SeparationOptions,
    material: list[tuple[str, dict[str, np.ndarray], np.ndarray]],
) -> tuple[np.ndarray, float]:
    """SDR (songs x stems) of each song separated with ``model``, and the seconds it took."""
    sdrs, elapsed = [], 0.0
    for _, stems, mix in material:
        started = time.perf_counter()
        estimates = separate_array(mix, options, model=model)
        elapsed += time.perf_counter() - started
        sdrs.append([signals.sdr(stems[n], estimates[i]) for i, n in enumerate(signals.STEMS)])
    return np.array(sdrs), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    material = songs(args.songs, args.seconds)
    audio_seconds = sum(mix.shape[-1] for _, _, mix in material) / signals.RATE
    rows = []
    for quality, overlap in MODES:
        model = SegmentModel(SessionConfig(quality=quality))
        model.warm_up(2)
        options = SeparationOptions(quality=quality, overlap=overlap)
        table, elapsed = separate_songs(model, options, material)
        generated, vocal = table[: args.songs], table[args.songs :]
        rows.append(
            (
                f"{quality} overlap {overlap}",
                generated.mean(axis=0),
                generated.mean(),
                vocal.mean(axis=1),
                elapsed / audio_seconds,
            )
        )
    print(
        f"{args.songs} generated songs x {args.seconds:g} s and vocal-heavy songs (seeds "
        f"{', '.join(map(str, VOCAL_SEEDS))}) x 20 s; SDR in dB against the true stems"
    )
    print(
        f"{'mode':22s} "
        + " ".join(f"{n:>7s}" for n in signals.STEMS)
        + f" {'mean':>7s} {'vs default':>10s} {'vocal-heavy vs default':>24s} {'RTF':>6s}"
    )
    base, base_vocal = rows[0][2], rows[0][3]
    for name, per_stem, mean, vocal, rtf in rows:
        changes = " / ".join(f"{v - b:+.2f}" for v, b in zip(vocal, base_vocal, strict=True))
        print(
            f"{name:22s} "
            + " ".join(f"{v:7.2f}" for v in per_stem)
            + f" {mean:7.2f} {mean - base:+10.2f} {changes:>24s} {rtf:6.3f}"
        )


if __name__ == "__main__":
    main()
