"""Peak memory of a worker running one real separation job, for the test and the bench.

:func:`write_flac` generates a long many-channel FLAC frame by frame (never the whole file in
memory). :func:`measure` runs the worker's own task body (``tasks._run``) on that file in a
child process of its own: a throw-away SQLite database and media folder, local storage, the
real engine and weights, the pieces published as the worker publishes them. The child warms
its one session up before the job, as the worker does at start, and reports its resident memory
then and its peak (``VmHWM``) once the job is done.

    python -m demixer.testing.worker_memory FILE MODEL QUALITY  # one run, prints JSON
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from demixer.engine import formats

FRAME = 1 << 15  # samples per frame handed to the encoder
LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}
MiB = 1 << 20


def write_flac(path: Path, seconds: float, rate: int, channels: int) -> Path:
    """``seconds`` of 16-bit ``channels``-channel FLAC at ``rate``: tones that move in the
    front pair, a quieter one in the centre and surrounds, silence elsewhere. Written frame by
    frame to a partial name, renamed when whole; an existing file is kept."""
    import av

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    layout = LAYOUTS[channels]
    total = int(seconds * rate)
    flac = formats.FLAC.name  # FFmpeg's muxer and encoder have the format's name
    with av.open(str(partial), mode="w", format=flac) as container:
        stream = container.add_stream(flac, rate=rate, layout=layout)
        assert isinstance(stream, av.audio.AudioStream)
        stream.format = "s16"
        stream.time_base = Fraction(1, rate)
        for start in range(0, total, FRAME):
            n = min(FRAME, total - start)
            t = (start + np.arange(n)) / rate
            block = np.zeros((channels, n), dtype=np.float64)
            swell = 0.5 + 0.5 * np.sin(2 * np.pi * 0.25 * t)
            block[0] = 0.3 * swell * np.sin(2 * np.pi * 220 * t)
            block[1 % channels] += 0.2 * np.sin(2 * np.pi * 330 * t)
            for extra in range(2, channels):
                block[extra] = 0.05 * np.sin(2 * np.pi * 110 * (extra + 1) * t)
            data = (block * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data.T).reshape(1, -1), format="s16", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    partial.replace(path)
    return path


@dataclass(frozen=True)
class JobMemory:
    """One job's figures: resident memory once the session is warm (before the job), the
    child's peak over its whole life, what the job ended as."""

    outcome: str
    audio_s: float
    seconds: float
    idle_mib: float
    peak_mib: float

    @property
    def job_mib(self) -> float:
        """What the job added on top of the warm session."""
        return self.peak_mib - self.idle_mib


def measure(
    path: Path,
    model: str = "htdemucs",
    quality: str = "default",
    publish: bool = True,
    env: dict[str, str] | None = None,
) -> JobMemory:
    """Run one job on ``path`` in a child process; ``env`` adds to its environment (settings
    such as ``DEMIXER_LOW_MEMORY_MINUTES``)."""
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="demixer-memory-") as data:
        child_env = dict(os.environ)
        for name in ("DATABASE_URL", "DEMIXER_MEDIA_DIR", "DEMIXER_S3_BUCKET"):
            child_env.pop(name, None)
        child_env.update(
            DJANGO_SETTINGS_MODULE="demixer.config.settings",
            DEMIXER_DATA_DIR=data,
            DEMIXER_MODELS_DIR=child_env.get("DEMIXER_MODELS_DIR", str(root / "var" / "models")),
            DEMIXER_SECRET_KEY="memory-only-" + "x" * 40,
            PYTHONPATH=str(root),
        )
        child_env.update(env or {})
        cmd = [sys.executable, "-m", __name__, str(path), model, quality, str(int(publish))]
        proc = subprocess.Popen(
            cmd, env=child_env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the job's child process failed:\n{err.decode()[-2000:]}")
    figures = json.loads(out.decode().strip().splitlines()[-1])
    return JobMemory(
        outcome=figures["outcome"],
        audio_s=figures["audio_s"],
        seconds=figures["seconds"],
        idle_mib=figures["idle_mib"],
        peak_mib=figures["peak_mib"],
    )


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _child(path: Path, model: str, quality: str, publish: bool) -> None:
    """The job, in this process: prints one JSON line."""
    import time

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.management import call_command

    # Django is set up in this child process first
    from demixer.engine import audio
    from demixer.separation import pieces, services, tasks
    from demixer.separation.models import Separation
    from demixer.tracks.models import Track

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="memory")
    info = audio.probe(path)
    track = Track(
        owner=user,
        title=path.stem,
        original_name=path.name,
        sha256=os.urandom(16).hex(),
        size=path.stat().st_size,
        duration=float(info.duration),
        sample_rate=info.rate,
        channels=info.channels,
    )
    with path.open("rb") as fh:
        track.original.save(path.name, File(fh), save=True)
    job = Separation.objects.create(track=track, model_name=model, quality=quality)
    tasks.worker_model(model, quality).warm_up()
    if not publish:
        pieces.Publisher.__call__ = lambda self, piece: None  # type: ignore[method-assign]
    idle = _status_mib("VmRSS")
    claimed = services.claim(str(job.id), services.claim_id())
    assert claimed is not None
    started = time.perf_counter()
    outcome = tasks._run(claimed)
    figures = {
        "outcome": outcome,
        "audio_s": float(info.duration),
        "seconds": time.perf_counter() - started,
        "idle_mib": idle,
        "peak_mib": _status_mib("VmHWM"),
    }
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    _child(Path(sys.argv[1]), sys.argv[2], sys.argv[3], bool(int(sys.argv[4])))
