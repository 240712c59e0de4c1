"""Basic Pitch's own notes, from the ``basic-pitch`` package in a bench-only environment.

The package needs TensorFlow on Python 3.11+ only to import its TF model; its ONNX path runs on
onnxruntime. So ``var/basic-pitch-venv`` (Python 3.11) gets ``basic-pitch==0.4.0`` and what its
``inference`` and ``note_creation`` import, never TensorFlow: exactly ``basic_pitch.lock``, with
its hashes (see :mod:`demixer.engine.locked_env`). ``reference_notes`` runs
``basic_pitch.inference.predict`` there on 22050 Hz WAV files with the same ``nmp.onnx`` the app
uses; tests/engine/test_notes.py compares our port with what it returns.

    python bench/basic_pitch_reference.py            # build the env, compare on our pieces
    python bench/basic_pitch_reference.py --golden  # and rewrite tests/data/basic_pitch_golden.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = ROOT / "var" / "basic-pitch-venv"
LOCK = Path(__file__).with_name("basic_pitch.lock")  # `make lock` compiles basic_pitch.in
GOLDEN = ROOT / "tests" / "data" / "basic_pitch_golden.json"
# the generated pieces the golden file holds: (name, kind, key tonic, mode, bpm, seed, seconds)
PIECES = (
    ("melody-a", "melody", 9, "minor", 96.0, 1, 12.0),
    ("melody-eb", "melody", 3, "major", 132.0, 2, 10.0),
    ("chords-c", "chords", 0, "major", 110.0, 3, 12.0),
    ("chords-fs", "chords", 6, "minor", 84.0, 4, 10.0),
)


class EnvError(RuntimeError):
    """The bench environment could not be built (no Python 3.11, pip failed)."""


def base_python() -> str:
    found = os.environ.get("DEMIXER_BASIC_PITCH_PYTHON") or shutil.which("python3.11")
    if not found:
        raise EnvError("python3.11 is not installed (or set $DEMIXER_BASIC_PITCH_PYTHON)")
    return found


def ensure_env(env: Path = ENV) -> Path:
    """The environment's Python, built first from :data:`LOCK` if missing or stale (a minute or
    two, once)."""
    # here, not at the top: this file also runs inside the bench environment, without demixer
    from demixer.engine import locked_env

    try:
        return locked_env.ensure(env, LOCK, base_python, lambda line: print(line, file=sys.stderr))
    except locked_env.LockedEnvError as exc:
        raise EnvError(str(exc)) from None


Event = tuple[float, float, int, float, list[int] | None]


def reference_notes(python: Path, model: Path, wavs: list[Path]) -> list[list[Event]]:
    """The package's note events (start s, end s, MIDI pitch, amplitude, bends) per WAV file."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "notes.json"
        result = subprocess.run(
            [str(python), __file__, "--run", str(model), str(out), *map(str, wavs)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"basic-pitch failed: {result.stderr[-2000:]}")
        return [[tuple(event) for event in events] for events in json.loads(out.read_text())]  # type: ignore[misc]


def _run_in_env(model: str, out: str, wavs: list[str]) -> None:
    """Inside the bench env: the package's predict() on each file."""
    import logging

    logging.disable(logging.WARNING)  # "TensorFlow is not installed" and its kin
    from basic_pitch.inference import predict

    results = []
    for wav in wavs:
        _, _, events = predict(wav, model_or_model_path=model)
        results.append(
            [
                [float(s), float(e), int(p), float(a), [int(b) for b in bends] if bends else None]
                for s, e, p, a, bends in events
            ]
        )
    Path(out).write_text(json.dumps(results))


def piece_audio_22k(spec: tuple) -> tuple:  # type: ignore[type-arg]
    """A generated piece as float32 mono at 22050 Hz (what the package's loader reads back
    unchanged), with its known notes."""
    import soxr

    from demixer.testing.notes import piece
    from demixer.testing.signals import RATE
    from demixer.testing.tonal import Key

    _, kind, tonic, mode, bpm, seed, seconds = spec
    audio, notes = piece(kind, seconds, Key(tonic, mode), bpm, seed)
    return soxr.resample(audio, RATE, 22050, quality="HQ").astype("float32"), notes


def compare(golden: bool) -> None:
    import numpy as np
    import soundfile as sf

    from demixer.engine.analysis import notes_model
    from demixer.engine.analysis.notes import NoteModel

    python = ensure_env()
    model = notes_model.fetch(quiet=True)
    ours = NoteModel(model)
    with tempfile.TemporaryDirectory() as tmp:
        wavs = []
        audios = []
        for spec in PIECES:
            audio, _ = piece_audio_22k(spec)
            path = Path(tmp) / f"{spec[0]}.wav"
            sf.write(path, audio, 22050, subtype="FLOAT")
            wavs.append(path)
            audios.append(audio)
        theirs = reference_notes(python, model, wavs)
    for spec, audio, events in zip(PIECES, audios, theirs, strict=True):
        mine = ours.transcribe(audio, 22050)
        same = sorted((s, e, p, b) for s, e, p, _, b in events) == sorted(
            (n.start, n.end, n.pitch, list(n.bends) if n.bends else None) for n in mine
        )
        amp = max(
            (
                abs(a - b)
                for a, b in zip(
                    sorted(e[3] for e in events), sorted(n.amplitude for n in mine), strict=False
                )
            ),
            default=0.0,
        )
        print(
            f"{spec[0]}: package {len(events)} notes, ours {len(mine)}, identical={same}, "
            f"max amplitude diff {amp:.2e}"
        )
    if golden:
        GOLDEN.write_text(
            json.dumps({s[0]: e for s, e in zip(PIECES, theirs, strict=True)}, indent=0)
        )
        print(f"wrote {GOLDEN.relative_to(ROOT)} ({GOLDEN.stat().st_size} bytes)")
    del np


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        _run_in_env(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", action="store_true", help="rewrite the golden file")
    compare(parser.parse_args().golden)


if __name__ == "__main__":
    main()
