"""Does standardising the whole track first, as Meta's ``demucs.separate`` does, change quality?

``demucs.separate`` subtracts the mono mix's mean and divides by its standard deviation before
``apply_model``, then undoes it on the stems. demixer separates the track as it is (htdemucs
normalises each segment inside the model anyway). This separates the songs of
``bench/quality.py`` both ways with the default mode and prints the SDR against the true stems,
and the SNR between the two results. Prints, never asserts.

    .venv/bin/python bench/standardize.py --songs 4 --seconds 30
"""

from __future__ import annotations

import argparse

import numpy as np
from quality import songs  # bench/quality.py: the same material

from demixer.engine.htdemucs.model import SegmentModel
from demixer.engine.separate import SeparationOptions, separate_array
from demixer.testing import signals


def standardized(model: SegmentModel, mix: np.ndarray) -> np.ndarray:
    """What ``demucs.separate`` does around ``apply_model``: float32 (2, N) in, (S, 2, N) out."""
    reference = mix.mean(axis=0)
    mean, std = float(reference.mean()), float(reference.std())
    estimates = separate_array((mix - mean) / std, SeparationOptions(), model=model)
    return estimates * std + mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    model = SegmentModel()
    print(f"{'song':12s} {'as is':>8s} {'standardised':>13s} {'change':>8s} {'SNR between':>12s}")
    changes = []
    for name, stems, mix in songs(args.songs, args.seconds):
        plain = separate_array(mix, SeparationOptions(), model=model)
        scaled = standardized(model, mix)
        sdr_plain = np.mean([signals.sdr(stems[n], plain[i]) for i, n in enumerate(signals.STEMS)])
        sdr_scaled = np.mean(
            [signals.sdr(stems[n], scaled[i]) for i, n in enumerate(signals.STEMS)]
        )
        between = np.mean([signals.sdr(plain[i], scaled[i]) for i in range(len(signals.STEMS))])
        changes.append(sdr_scaled - sdr_plain)
        print(
            f"{name:12s} {sdr_plain:8.3f} {sdr_scaled:13.3f} {sdr_scaled - sdr_plain:+8.3f} "
            f"{between:10.1f} dB"
        )
    print(f"mean change from standardising: {np.mean(changes):+.3f} dB SDR (mean over stems)")


if __name__ == "__main__":
    main()
