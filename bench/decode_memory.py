"""Peak memory of decoding (decode + resample to 44.1 kHz stereo, no separation).

Two inputs, written once under ``var/bench/`` with PyAV (no ffmpeg binary needed):

- the report's upload: 19.5 minutes of 7.1 silence at 384 kHz, 16-bit FLAC (about 0.5 MB);
  FFmpeg's equivalent is ``ffmpeg -f lavfi -i anullsrc=r=384000:cl=7.1 -t 1170 -c:a flac
  -sample_fmt s16 bomb.flac``;
- an ordinary long track: 20 minutes of stereo at 48 kHz, 16-bit FLAC (two quiet tones).

Each decode runs in its own child process; the figure is the child's peak RSS (VmHWM) after
the imports and after decoding. "server limits" passes the settings' defaults
(``DEMIXER_MAX_SAMPLE_RATE``, ``DEMIXER_MAX_CHANNELS``, ``DEMIXER_MAX_MINUTES``), "no limits"
decodes whatever is there. ``--rev REV`` runs ``demixer/engine/audio.py`` as it was at a git
revision instead of the working tree's (the code before the bounded decode: ``--rev
4a1f128``); limits that revision does not know are left out and named. Prints, never
asserts. With the old code each decode of the bomb takes about a minute and 7 GB: leave that
much memory free.

    .venv/bin/python bench/decode_memory.py [--rev REV] [--only bomb|long48k]
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench"
MARK = "DECODE-RESULT "
# the settings' defaults (demixer/config/settings.py)
SERVER_LIMITS = {"max_seconds": 20 * 60.0, "max_rate": 192_000, "max_channels": 8}
FRAME = 1 << 15  # samples per frame handed to the encoder


def _write_flac(path: Path, seconds: float, rate: int, layout: str, fill) -> Path:
    """Encode ``seconds`` of s16 audio with FFmpeg's FLAC encoder; ``fill(start, n)`` returns
    int16 (channels, n)."""
    import av

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    total = int(seconds * rate)
    with av.open(str(partial), mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout=layout)
        stream.format = "s16"
        stream.time_base = Fraction(1, rate)
        for start in range(0, total, FRAME):
            n = min(FRAME, total - start)
            data = fill(start, n)
            frame = av.AudioFrame.from_ndarray(
                data.T.reshape(1, -1).copy(), format="s16", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    partial.replace(path)
    return path


def bomb() -> Path:
    import numpy as np

    silence = np.zeros((8, FRAME), dtype=np.int16)
    return _write_flac(
        CACHE / "bomb-384k-7.1-19.5min.flac", 1170, 384_000, "7.1", lambda s, n: silence[:, :n]
    )


def long48k() -> Path:
    import numpy as np

    rate = 48_000

    def tones(start: int, n: int) -> np.ndarray:
        t = (start + np.arange(n)) / rate
        left = 0.2 * np.sin(2 * np.pi * 220 * t)
        right = 0.1 * np.sin(2 * np.pi * 330 * t)
        return (np.stack([left, right]) * 32767).astype(np.int16)

    return _write_flac(CACHE / "stereo-48k-20min.flac", 1200, rate, "stereo", tones)


INPUTS = {"bomb": bomb, "long48k": long48k}


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _audio_module(rev: str | None):
    if rev is None:
        from demixer.engine import audio

        return audio
    source = subprocess.run(
        ["git", "show", f"{rev}:demixer/engine/audio.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location("audio_at_rev", fh.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    os.unlink(fh.name)
    return module


def child(path: str, limits: bool, rev: str | None) -> None:
    """Decode ``path`` once and print what happened (run in a process of its own)."""
    sys.path.insert(0, str(ROOT))
    audio = _audio_module(rev)
    import numpy as np  # noqa: F401 - imported before the baseline is read

    known = inspect.signature(audio.decode).parameters
    given = {k: v for k, v in SERVER_LIMITS.items() if limits and k in known}
    unknown = [k for k in SERVER_LIMITS if limits and k not in known]
    result: dict[str, object] = {"after_imports_mib": _hwm_mib()}
    started = time.perf_counter()
    try:
        decoded = audio.decode(path, **given)
        result["outcome"] = f"decoded {decoded.samples.shape} {decoded.samples.dtype}"
        if unknown:
            result["outcome"] += f" (this code has no {', '.join(unknown)})"
    except Exception as exc:  # the bench reports whatever happened
        result["outcome"] = f"{type(exc).__name__}: {exc}"
    result["seconds"] = time.perf_counter() - started
    result["peak_mib"] = _hwm_mib()
    print(MARK + json.dumps(result), flush=True)


def run(path: Path, limits: bool, rev: str | None) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", str(path)]
    if limits:
        cmd.append("--limits")
    if rev:
        cmd += ["--rev", rev]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    return {"outcome": f"child failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="decode with demixer/engine/audio.py at this revision")
    parser.add_argument("--only", choices=sorted(INPUTS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--limits", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.limits, args.rev)
        return
    code = f"audio.py at {args.rev}" if args.rev else "working tree"
    print(f"decode + resample to 44.1 kHz, {code}; peak RSS of a child process (VmHWM)")
    for name, make in INPUTS.items():
        if args.only and name != args.only:
            continue
        path = make()
        print(f"\n{name}: {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
        for limits in (True, False):
            r = run(path, limits, args.rev)
            label = "server limits" if limits else "no limits"
            figures = ""
            if "peak_mib" in r:
                figures = (
                    f"peak {r['peak_mib']:7.0f} MiB (after imports {r['after_imports_mib']:.0f})"
                    f"  {r['seconds']:6.1f} s  "
                )
            print(f"  {label:13} {figures}{r['outcome']}")


if __name__ == "__main__":
    main()
