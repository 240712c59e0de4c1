"""Peak RSS of ``demixer separate`` on a 10-minute track: default settings and ``--low-memory``.

Targets: at most 3 GB at default settings, under 2 GB with ``--low-memory``.
The track is the 60 s clip of ``bench/engine_speed.py`` (``signals.song(60, seed=1)``) tiled
ten times (generating ten minutes of song is slow and adds nothing to a memory figure), written
once as 16-bit WAV under ``var/bench/``. Each run is the real CLI in its own child process,
measured with ``os.wait4`` (wall time, peak RSS of that child). About 4-5 minutes of CPU per
run on a 2-core machine: run it on purpose, not in a loop. It prints, never asserts.

    .venv/bin/python bench/memory_long.py [--minutes 10] [--only default|low-memory]
"""

from __future__ import annotations

import argparse
import tempfile
import wave
from pathlib import Path

from engine_speed import CACHE, RATE, ROOT, VENV_BIN, clip_path, run_child


def long_clip(minutes: float) -> Path:
    path = CACHE / f"song-{minutes:g}min-tiled.wav"
    if path.exists():
        return path
    with wave.open(str(clip_path(60.0))) as src:
        frames = src.readframes(src.getnframes())
    total = int(minutes * 60 * RATE) * 4  # bytes of 16-bit stereo
    data = (frames * (total // len(frames) + 1))[:total]
    partial = path.with_suffix(".partial")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(data)
    partial.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--only", choices=("default", "low-memory"))
    args = parser.parse_args()
    clip = long_clip(args.minutes)
    audio_s = (clip.stat().st_size - 44) / 4 / RATE
    modes = [args.only] if args.only else ["default", "low-memory"]
    print(f"{audio_s / 60:.1f} min clip ({clip.relative_to(ROOT)})")
    for mode in modes:
        flags = ["--low-memory"] if mode == "low-memory" else []
        with tempfile.TemporaryDirectory(prefix="bench-long-") as outdir:
            cmd = [str(VENV_BIN / "demixer"), "separate", str(clip), "-o", outdir, "-q", *flags]
            run = run_child(mode, cmd)
        status = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        print(
            f"  {mode}: wall {run.wall:7.1f} s  RTF {run.wall / audio_s:.3f}  "
            f"peak RSS {run.peak_rss_mib:6.0f} MiB ({run.peak_rss_mib / 1024:.2f} GiB)  {status}",
            flush=True,
        )
        if run.returncode != 0:
            print("    " + "\n    ".join(run.log.strip().splitlines()[-3:]))


if __name__ == "__main__":
    main()
