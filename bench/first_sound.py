"""Listen while it separates: time from a job's claim to its first playable piece, what
publishing pieces costs in total job time, and the worker's peak memory.

Each run is its own child process running the worker's real task body (``tasks._run``) on a
claimed job: real engine and weights, a throw-away SQLite database and media folder under
``var/bench/first-sound/``, local storage. The session is created and warmed up before the
claim, as the worker does at start. A run "with" publishing is the product; a run "without"
replaces the publisher's work with nothing, for the baseline. Reported per track length:

- first sound: claim -> first piece recorded on the row (the page's next status poll sees it;
  add up to 0.7 s of polling and the fetch of one piece);
- pieces: how many, and the longest gap between two (playback stalls if a gap is longer
  than the audio of the piece before it);
- total: claim -> done, with and without publishing (the overhead is their difference; run to
  run noise on these shared 2-core machines is several %), and the publisher thread's own busy
  time as a share of the total (what it costs, free of that noise);
- peak RSS of the child (``os.wait4``), with and without.

Tracks are generated songs (``bench/engine_speed.py``'s 30 s and 180 s clips; the 10-minute one
is its 60 s clip tiled, as ``bench/memory_long.py``). A 10-minute track takes ~6 minutes a run
here: ``--seconds 30 180`` leaves it out. It prints, never asserts.

    .venv/bin/python bench/first_sound.py [--seconds 30 180 600] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engine_speed import CACHE, ROOT, clip_path
from memory_long import long_clip

WORK = CACHE / "first-sound"


def clip_for(seconds: float) -> Path:
    return long_clip(seconds / 60) if seconds > 180 else clip_path(seconds)


def child(clip: Path, publish: bool) -> None:
    """One run, in this process: prints one JSON line of figures."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.management import call_command

    from demixer.engine import audio
    from demixer.separation import pieces, services, tasks
    from demixer.separation.models import Separation
    from demixer.tracks.models import Track

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    info = audio.probe(clip)
    duration = float(info.duration)
    track = Track(
        owner=user,
        title=clip.stem,
        original_name=clip.name,
        sha256=os.urandom(16).hex(),
        size=clip.stat().st_size,
        duration=duration,
        sample_rate=info.rate,
        channels=info.channels,
    )
    with clip.open("rb") as fh:
        track.original.save(clip.name, File(fh), save=True)
    job = Separation.objects.create(track=track)
    tasks.worker_model(job.model_name, job.quality).warm_up()

    marks: dict[str, float] = {}
    busy = [0.0]
    gaps: list[float] = []
    real_write = pieces.Publisher._write

    def write(publisher: pieces.Publisher, piece: object) -> None:
        started = time.perf_counter()
        if publish:
            real_write(publisher, piece)  # type: ignore[arg-type]
        now = time.perf_counter()
        busy[0] += now - started
        if "first" not in marks:
            marks["first"] = now
        else:
            gaps.append(now - marks["last"])
        marks["last"] = now

    pieces.Publisher._write = write  # type: ignore[method-assign]
    claimed = services.claim(str(job.id), services.claim_id())
    assert claimed is not None
    started = time.perf_counter()
    outcome = tasks._run(claimed)
    total = time.perf_counter() - started
    print(
        json.dumps(
            {
                "outcome": outcome,
                "audio_s": duration,
                "first_sound_s": marks["first"] - started,
                "pieces": len(gaps) + 1,
                "longest_gap_s": max(gaps, default=0.0),
                "total_s": total,
                "publish_busy_s": busy[0],
            }
        )
    )


def run(clip: Path, publish: bool) -> dict:
    env = dict(os.environ)
    data = WORK / ("with" if publish else "without")
    data.mkdir(parents=True, exist_ok=True)
    for stale in ("db.sqlite3",):
        (data / stale).unlink(missing_ok=True)
    env.update(
        DJANGO_SETTINGS_MODULE="demixer.config.settings",
        DEMIXER_DATA_DIR=str(data),
        DEMIXER_MODELS_DIR=env.get("DEMIXER_MODELS_DIR", str(ROOT / "var" / "models")),
        DEMIXER_SECRET_KEY="bench-only-" + "x" * 40,
    )
    env.pop("DATABASE_URL", None)
    env.pop("DEMIXER_MEDIA_DIR", None)
    cmd = [sys.executable, __file__, "--child", str(clip), "--publish", str(int(publish))]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed ({status}):\n{out}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures["peak_rss_mib"] = usage.ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__)
    parser.add_argument("--seconds", type=float, nargs="+", default=[30, 180, 600])
    parser.add_argument("--no-baseline", action="store_true", help="skip the runs without")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--publish", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, bool(args.publish))
        return
    print(
        f"{'track':>7} {'first sound':>11} {'pieces':>9} {'longest gap':>11} "
        f"{'total':>8} {'without':>8} {'overhead':>8} {'publisher':>9} {'peak RSS':>14}"
    )
    for seconds in args.seconds:
        clip = clip_for(seconds)
        with_ = run(clip, publish=True)
        without = None if args.no_baseline else run(clip, publish=False)
        overhead = "-"
        baseline = "-"
        if without:
            overhead = f"{(with_['total_s'] / without['total_s'] - 1) * 100:+.1f}%"
            baseline = f"{without['total_s']:.1f}s"
        rss = f"{with_['peak_rss_mib']:.0f}"
        rss += f"/{without['peak_rss_mib']:.0f} MiB" if without else " MiB"
        print(
            f"{with_['audio_s']:>6.0f}s {with_['first_sound_s']:>10.2f}s "
            f"{with_['pieces']:>9} {with_['longest_gap_s']:>10.2f}s "
            f"{with_['total_s']:>7.1f}s "
            f"{baseline:>8} {overhead:>8} "
            f"{with_['publish_busy_s'] / with_['total_s'] * 100:>8.2f}% {rss:>14}",
            flush=True,
        )


if __name__ == "__main__":
    main()
