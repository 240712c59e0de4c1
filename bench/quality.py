"""Separation quality of each mode against the true stems of generated mixtures.

Builds ``--songs`` songs of ``--seconds`` each with ``demixer.testing.signals`` (every stem
known), plus two vocal-heavy songs of 20 s (seeds 2 and 4: htdemucs hears clear vocals in them),
separates each mix with the default mode, the fast mode (int8 MatMul weights) on each of
onnxruntime's x86 int8 kernel choices (u8 x s8, which saturates on CPUs without VNNI, and the
exact u8 x u8 that demixer picks there; see demixer/engine/cpu.py) and the fast mode with a
smaller overlap, and prints the mean SDR per stem and overall, the difference from the default
mode, the same for the vocal-heavy songs alone, and each mode's steady-state real-time factor.
Then the SNR of each fast variant's stems against the default mode's on 6 s clips (seeds 7 and
2), the figures the fast-mode check uses. Prints the CPU class first; never asserts.

With ``--ensemble``, instead: the vocals' SDR of htdemucs, Spleeter and an ensemble of the two
(``demixer models ensemble``, weights 1:1, run by its own session from a scratch models folder
that links the installed weights) on the same songs.

    .venv/bin/python bench/quality.py --songs 4 --seconds 30
    .venv/bin/python bench/quality.py --songs 2 --seconds 20 --ensemble
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from demixer.engine.htdemucs import cpu
from demixer.engine.htdemucs.model import SegmentModel, SessionConfig
from demixer.engine.separate import SeparationOptions, separate_array
from demixer.testing import signals

# (quality, overlap, DEMIXER_EXACT_INT8: "" = this host's choice, "0" u8 x s8, "1" u8 x u8)
MODES = (
    ("default", 0.25, ""),
    ("fast", 0.25, "0"),
    ("fast", 0.25, "1"),
    ("fast", 0.1, ""),
)
CHECK_SEEDS = (7, 2)


def build(quality: str, kernels: str) -> SegmentModel:
    """A warm session; ``kernels`` forces the int8 kernel choice while it is built."""
    previous = os.environ.get("DEMIXER_EXACT_INT8")
    os.environ["DEMIXER_EXACT_INT8"] = kernels
    try:
        model = SegmentModel(SessionConfig(quality=quality))
    finally:
        if previous is None:
            del os.environ["DEMIXER_EXACT_INT8"]
        else:
            os.environ["DEMIXER_EXACT_INT8"] = previous
    model.warm_up(2)
    return model


def label(quality: str, overlap: float, kernels: str) -> str:
    name = {"0": " u8s8", "1": " u8u8"}.get(kernels, "") if quality == "fast" else ""
    return f"{quality}{name} overlap {overlap}"


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


def ensemble_vocals(material: list[tuple[str, dict[str, np.ndarray], np.ndarray]]) -> None:
    """Vocals SDR per song: htdemucs, Spleeter and their 1:1 ensemble (see the docstring)."""
    import tempfile
    from pathlib import Path

    from demixer.engine import registry
    from demixer.engine.ensemble import manifest
    from demixer.engine.sessions import load_model

    real = registry.models_dir()
    with tempfile.TemporaryDirectory(prefix="bench-ensemble-") as tmp:
        folder = Path(tmp)
        for path in real.iterdir():
            if path.is_file():
                (folder / path.name).symlink_to(path)
        manifest.write(folder, manifest.Ensemble("duo", ("htdemucs", "spleeter"), (1.0, 1.0)))
        registry.configure(folder)
        print(f"vocals SDR in dB against the true stems ({os.cpu_count()} CPUs)")
        print(f"{'song':12s} {'htdemucs':>9s} {'spleeter':>9s} {'ensemble':>9s}")
        totals = []
        for name, stems, mix in material:
            row = []
            for model in ("htdemucs", "spleeter", "duo"):
                options = SeparationOptions(model=model)
                session = load_model(options)
                estimates = session.separate(mix, options)
                row.append(signals.sdr(stems["vocals"], estimates[session.sources.index("vocals")]))
            totals.append(row)
            print(f"{name:12s} " + " ".join(f"{v:9.2f}" for v in row))
        print(f"{'mean':12s} " + " ".join(f"{v:9.2f}" for v in np.mean(totals, axis=0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ensemble", action="store_true", help="htdemucs + Spleeter vocals")
    args = parser.parse_args()
    material = songs(args.songs, args.seconds)
    if args.ensemble:
        ensemble_vocals(material)
        return
    audio_seconds = sum(mix.shape[-1] for _, _, mix in material) / signals.RATE
    rows, check_clips = [], {}
    clips = {seed: signals.mix(signals.song(6.0, seed=seed)) for seed in CHECK_SEEDS}
    for quality, overlap, kernels in MODES:
        model = build(quality, kernels)
        options = SeparationOptions(quality=quality, overlap=overlap)
        table, elapsed = separate_songs(model, options, material)
        generated, vocal = table[: args.songs], table[args.songs :]
        name = label(quality, overlap, kernels)
        rows.append(
            (
                name,
                generated.mean(axis=0),
                generated.mean(),
                vocal.mean(axis=1),
                elapsed / audio_seconds,
            )
        )
        if overlap == 0.25:
            check_clips[name] = {
                seed: separate_array(mix, options, model=model) for seed, mix in clips.items()
            }
        del model
    print(
        f"CPU class: {cpu.cpu_class()}; this host's int8 kernels: "
        f"{'exact u8u8' if cpu.exact_int8() else 'u8s8'}; {os.cpu_count()} CPUs"
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
    print("\nfast stems against the default mode's, SNR in dB (6 s clips; the check needs 25)")
    default = check_clips.pop(rows[0][0])
    for name, results in check_clips.items():
        cells = []
        for seed in CHECK_SEEDS:
            snr = [
                signals.sdr(default[seed][i], results[seed][i]) for i in range(len(signals.STEMS))
            ]
            cells.append(f"seed {seed}: " + " / ".join(f"{v:.1f}" for v in snr))
        print(f"  {name:22s} {'   '.join(cells)}   (drums / bass / other / vocals)")


if __name__ == "__main__":
    main()
