"""Peak memory of the worker for each built-in model at the upload limits.

Generates one input at the limits the settings allow by default (20 minutes, 192 kHz, 8
channels, 16-bit FLAC written frame by frame under ``var/bench/``), then runs one real job per
model and quality, each in a child process of its own that warms its session up first, as the
worker does (``demixer.testing.worker_memory``: the worker's task body, the pieces published
as they come). Then a 10-minute htdemucs job (``bench/first_sound.py``'s tiled song) with and
without the pieces published. Prints, per job, resident memory once the session is warm, the
peak, and the peak against the stated worker budget (README, "Worker memory"). Never asserts.
The htdemucs jobs take long on a small machine (a 20-minute track: about ten minutes each on 2
cores): run it on purpose, once.

    .venv/bin/python bench/worker_memory.py [--minutes 20] [--only htdemucs/default ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from demixer.testing import worker_memory  # noqa: E402

BUDGET_MIB = 1536  # the README's worker budget
RATE, CHANNELS = 192_000, 8
JOBS = ("spleeter/default", "htdemucs/default", "htdemucs/fast")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--only", nargs="+", choices=(*JOBS, "live"))
    args = parser.parse_args()
    path = ROOT / "var" / "bench" / f"limits-{args.minutes:g}min-192k-8ch.flac"
    worker_memory.write_flac(path, args.minutes * 60, RATE, CHANNELS)
    print(f"input: {path.name} ({path.stat().st_size / 1e6:.0f} MB), budget {BUDGET_MIB} MiB")
    print(f"{'job':<34} {'warm':>8} {'peak':>8} {'job adds':>9} {'of budget':>9} {'time':>8}")

    def show(label: str, run: worker_memory.JobMemory) -> None:
        print(
            f"{label:<34} {run.idle_mib:>7.0f}M {run.peak_mib:>7.0f}M {run.job_mib:>8.0f}M "
            f"{run.peak_mib / BUDGET_MIB * 100:>8.0f}% {run.seconds:>7.0f}s  {run.outcome}",
            flush=True,
        )

    for job in JOBS:
        if args.only and job not in args.only:
            continue
        model, quality = job.split("/")
        show(f"{job} {args.minutes:g} min 192k 7.1", worker_memory.measure(path, model, quality))
    if not args.only or "live" in args.only:
        from memory_long import long_clip

        clip = long_clip(10)
        for publish in (True, False):
            label = f"htdemucs 10 min, {'with' if publish else 'without'} pieces"
            show(label, worker_memory.measure(clip, publish=publish))


if __name__ == "__main__":
    main()
