"""Spleeter 2-stem on onnxruntime: speed, and separation quality against the true stems.

For each bandwidth (``11kHz``: Spleeter's ``2stems``, the network sees 1024 bins and every stem
is silent above 11.025 kHz; ``16kHz``: ``2stems-16kHz``, 1536 bins, the same weights):

- the real-time factor on a generated 60 s clip (wall time of ``SpleeterModel.separate`` /
  audio duration, warm session, best of ``--runs``);
- SDR in dB on ``bench/quality.py``'s songs (``--songs`` generated songs of ``--seconds`` each,
  plus the two vocal-heavy 20 s songs): vocals against the true vocals, accompaniment against
  drums + bass + other, and how closely the two stems sum to the mix (SNR);
- with ``--with-htdemucs``, the same figures for htdemucs (default mode) as vocals / no_vocals.

Prints figures, never asserts::

    .venv/bin/python bench/spleeter_quality.py --songs 4 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable

import numpy as np
from quality import songs  # bench/quality.py: this script's folder is on sys.path

from demixer.engine.spleeter.model import SpleeterModel
from demixer.testing import signals

Material = list[tuple[str, dict[str, np.ndarray], np.ndarray]]
Separate = Callable[[np.ndarray], np.ndarray]  # mix (2, N) -> stems (S, 2, N)


def _score(
    material: Material, separate: Separate, vocals_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(songs x [vocals, accompaniment]) SDR, and each song's stems-sum-to-mix SNR."""
    table, sums = [], []
    for _, stems, mix in material:
        out = separate(mix)
        vocals = out[vocals_index]
        accompaniment = out.sum(axis=0) - vocals
        truth = stems["drums"] + stems["bass"] + stems["other"]
        table.append([signals.sdr(stems["vocals"], vocals), signals.sdr(truth, accompaniment)])
        sums.append(signals.sdr(mix, out.sum(axis=0)))
    return np.array(table), np.array(sums)


def _rtf(separate: Separate, clip: np.ndarray, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        separate(clip)
        best = min(best, time.perf_counter() - started)
    return best / (clip.shape[-1] / signals.RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=2, help="timed runs of the 60 s clip")
    parser.add_argument("--with-htdemucs", action="store_true")
    args = parser.parse_args()
    material = songs(args.songs, args.seconds)
    clip = signals.mix(signals.song(60.0, seed=11))
    rows = []
    for bandwidth in ("11kHz", "16kHz"):
        model = SpleeterModel(bandwidth=bandwidth)
        model.warm_up()
        rtf = _rtf(model.separate, clip, args.runs)
        table, sums = _score(material, model.separate)
        rows.append((f"spleeter {bandwidth}", table, sums, rtf))
        del model
    if args.with_htdemucs:
        from demixer.engine.htdemucs.model import SegmentModel
        from demixer.engine.separate import SeparationOptions, separate_array

        htdemucs = SegmentModel()
        htdemucs.warm_up()
        options = SeparationOptions()

        def run(mix: np.ndarray) -> np.ndarray:
            return separate_array(mix, options, model=htdemucs)

        vocals = htdemucs.sources.index("vocals")
        table, sums = _score(material, run, vocals)
        rows.append(("htdemucs default", table, sums, _rtf(run, clip, 1)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{os.cpu_count()} CPUs; peak RSS of this process {peak:.0f} MiB")
    print(
        f"SDR in dB against the true stems: {args.songs} generated songs x {args.seconds:g} s, "
        "then the vocal-heavy songs (seeds 2, 4) x 20 s; RTF on a 60 s clip"
    )
    print(
        f"{'model':18s} {'vocals':>7s} {'accomp':>7s} {'mean':>7s} "
        f"{'vocal-heavy voc/acc':>22s} {'sum vs mix':>10s} {'RTF':>6s}"
    )
    for name, table, sums, rtf in rows:
        generated, vocal = table[: args.songs], table[args.songs :]
        heavy = " ".join(f"{v:.2f}/{a:.2f}" for v, a in vocal)
        print(
            f"{name:18s} {generated[:, 0].mean():7.2f} {generated[:, 1].mean():7.2f} "
            f"{generated.mean():7.2f} {heavy:>22s} {sums.mean():10.1f} {rtf:6.3f}"
        )


if __name__ == "__main__":
    main()
