"""How well the player's metronome lands on the beats: its grid from the analysis' tempo alone,
and fitted to the chords' beats (what the page does once the chords come: beats.js's fitTempo
and alignGrid, run here under node), on generated songs of known tempo whose first beat opens a
bar at 0:00.

    .venv/bin/python bench/metronome_grid.py [--songs 24] [--seconds 60]

Two sets, 4/4 with a chord a bar: demixer.testing.arrangements' General MIDI arrangements
rendered by FluidSynth (half of them 60-80 BPM; skipped with the reason when FluidSynth or the
soundfont is missing), on which beats.js's TRACKER_LAG was measured, and, held out, the engine's
own synthetic songs (demixer.engine.synthetic, 80-170 BPM). The chords are made from the true
harmonic stems (as after a perfect separation), the tempo from the mix, as the worker does. Per
song: the tempo's error, the worst distance from a click to the nearest true beat over the song,
how late the grid is, and whether the accented click falls on a true bar's first beat. Prints;
never asserts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demixer.engine.analysis import chords, key_tempo
from demixer.testing import arrangements
from demixer.testing.signals import RATE, song

ROOT = Path(__file__).resolve().parent.parent

# the page's own arithmetic: beats.js, fed the analysis' figures as the page gets them
GRIDS = """
import { readFileSync } from "node:fs";
import {
  alignGrid, beatsFromChords, clampBpm, fitTempo,
} from "./demixer/player/static/player/beats.js";
const out = JSON.parse(readFileSync(0, "utf8")).map(({ bpm, chords }) => {
  const beats = beatsFromChords(chords);
  const fitted = clampBpm(fitTempo(beats, bpm));
  return {
    estimate: { bpm: clampBpm(bpm), offset: alignGrid(beats, clampBpm(bpm), 4) },
    fitted: { bpm: fitted, offset: alignGrid(beats, fitted, 4) },
  };
});
process.stdout.write(JSON.stringify(out));
"""


def grids(songs: list[dict]) -> list[dict]:
    result = subprocess.run(
        ["node", "--input-type=module", "-e", GRIDS],
        input=json.dumps(songs),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(result.stdout)


def worst_click(grid: dict, bpm: float, seconds: float) -> float:
    """The largest distance (s) from a click of ``grid`` within the song to a true beat."""
    period = 60 / grid["bpm"]
    first = grid["offset"] - np.floor(grid["offset"] / period) * period
    clicks = np.arange(first, seconds, period)
    true_period = 60 / bpm
    return float(np.max(np.abs(clicks - np.round(clicks / true_period) * true_period)))


def phase_error(grid: dict, bpm: float) -> float:
    """How late (s; negative: early) the grid's beats fall against the true ones."""
    period = 60 / bpm
    miss = grid["offset"] % period
    return miss if miss < period / 2 else miss - period


def bar_right(grid: dict, bpm: float) -> bool:
    """Whether the grid's accented beat is nearest a true bar's first beat."""
    return round(grid["offset"] / (60 / bpm)) % 4 == 0


Song = tuple[str, float, float, dict[str, np.ndarray]]  # name, BPM, seconds, stems


def arranged(count: int, seconds: float) -> list[Song]:
    return [
        (song.name, song.bpm, song.seconds, arrangements.render(song))
        for song in arrangements.test_set(count, seconds)
    ]


def synthetic(count: int, seconds: float) -> list[Song]:
    songs = []
    for i in range(count):
        bpm = float(80 + (i * 37) % 90)
        songs.append((f"synthetic-{bpm:.0f}bpm-{i}", bpm, seconds, song(seconds, seed=i, bpm=bpm)))
    return songs


def measure(songs: list[Song]) -> None:
    measured = []
    for _, _, _, stems in songs:
        mix = np.sum(list(stems.values()), axis=0)
        bpm = round(key_tempo.estimate_bpm(mix, RATE), 1)  # as the worker records it
        found = chords.chords(chords.harmonic_mix(stems), RATE)
        measured.append({"bpm": bpm, "chords": [{"start": c.start} for c in found]})
    rows: dict[str, list[tuple[float, ...]]] = {"estimate": [], "fitted": []}
    for (name, true_bpm, seconds, _), result in zip(songs, grids(measured), strict=True):
        line = [f"{name:<30} {true_bpm:3.0f} BPM {seconds:3.0f} s"]
        for kind, kept in rows.items():
            grid = result[kind]
            error = abs(grid["bpm"] / true_bpm - 1)
            octave = min(abs(grid["bpm"] / true_bpm * f - 1) for f in (0.5, 1, 2))
            worst = worst_click(grid, true_bpm, seconds)
            late = phase_error(grid, true_bpm)
            bar = bar_right(grid, true_bpm)
            kept.append((error, octave, worst, worst / (60 / true_bpm), bar, late))
            line.append(
                f"{kind} {grid['bpm']:6.2f} ({100 * error:3.1f} %), worst click "
                f"{1000 * worst:3.0f} ms, late {1000 * late:+3.0f} ms, bar {'ok' if bar else 'no'}"
            )
        print(" | ".join(line))
    for kind, kept in rows.items():
        errors, octaves, worst, beats, bars, late = (np.array(v) for v in zip(*kept, strict=True))
        print(
            f"{kind:>8}: tempo within 0.1 %: {np.mean(errors < 0.001):.0%}, within 1 % "
            f"(octaves allowed): {np.mean(octaves < 0.01):.0%}; median worst click "
            f"{1000 * np.median(worst):.0f} ms; clicks within 1/8 beat all song long: "
            f"{np.mean(beats < 0.125):.0%}; median lateness {1000 * np.median(late):+.0f} ms; "
            f"accent on the bar's first beat: {np.mean(bars):.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    started = time.monotonic()
    reason = arrangements.available()
    print(f"== {args.songs} General MIDI arrangements of {args.seconds:.0f} s or more")
    if reason:
        print(f"skipped: {reason}")
    else:
        measure(arranged(args.songs, args.seconds))
    print(f"\n== {args.songs} synthetic songs of {args.seconds:.0f} s (held out)")
    measure(synthetic(args.songs, args.seconds))
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
