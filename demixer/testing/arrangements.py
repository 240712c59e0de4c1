"""Generated arrangements of a known key and tempo, played by real instrument samples, to
measure the key and BPM estimates where :mod:`tonal`'s sine-tone songs are too easy.

Each song is written as General MIDI (one file a part, with mido) and rendered by the
``fluidsynth`` CLI with Debian's FluidR3 GM soundfont: a drum kit (kick, backbeat snare, hi-hats
in eighths or sixteenths, so a ballad's hats run at twice its beat), a bass line on the chord
roots, a pad or piano holding the chords, and a lead melody (the "vocals") that closes each phrase
on the tonic. Minor songs use the progressions real minor songs use, natural minor included
(i-VI-III-VII holds exactly the relative major's notes: only the bass and the cadence say which
is the tonic). Renders are cached under ``var/arrangements``; everything is deterministic for a
song's spec. Arrays are float32 (2, N) at 44.1 kHz like :mod:`signals`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from demixer.engine.formats import WAV as WAV_FORMAT
from demixer.testing.signals import RATE
from demixer.testing.tonal import Key

if TYPE_CHECKING:
    import mido

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
CACHE = Path(__file__).resolve().parents[2] / "var" / "arrangements"
INSTALL_HINT = "apt-get install -y fluidsynth fluid-soundfont-gm (scripts/ensure-deb.sh)"

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
# each bar's chord as semitones above the tonic
PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "I-V-vi-IV": ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)),
    "I-IV-V-I": ((0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7)),
    "I-vi-ii-V": ((0, 4, 7), (9, 12, 16), (2, 5, 9), (7, 11, 14)),
    "I-iii-IV-V": ((0, 4, 7), (4, 7, 11), (5, 9, 12), (7, 11, 14)),
    "i-iv-V-i": ((0, 3, 7), (5, 8, 12), (7, 11, 14), (0, 3, 7)),
    "i-VI-III-VII": ((0, 3, 7), (8, 12, 15), (3, 7, 10), (10, 14, 17)),
    "i-VII-VI-V": ((0, 3, 7), (10, 14, 17), (8, 12, 15), (7, 11, 14)),
    "i-VI-iv-v": ((0, 3, 7), (8, 12, 15), (5, 8, 12), (7, 10, 14)),
}
MAJOR_PROGRESSIONS = ("I-V-vi-IV", "I-IV-V-I", "I-vi-ii-V", "I-iii-IV-V")
MINOR_PROGRESSIONS = ("i-iv-V-i", "i-VI-III-VII", "i-VII-VI-V", "i-VI-iv-v")
# General MIDI programs (0-based)
PADS = (0, 4, 48, 89, 16)  # grand piano, electric piano, strings, warm pad, drawbar organ
BASSES = (33, 32, 34, 38)  # finger, acoustic, pick, synth bass
LEADS = (73, 65, 40, 56, 52)  # flute, alto sax, violin, trumpet, choir aahs
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49
TICKS = 480  # per beat
STEMS = ("drums", "bass", "other", "vocals")


class NoSynth(RuntimeError):
    """FluidSynth or the GM soundfont is not installed."""


WAV = WAV_FORMAT.extension  # what fluidsynth renders each part to


@dataclass(frozen=True)
class Arrangement:
    """A song's spec: what it is, and all a render needs."""

    key: Key
    bpm: float
    progression: str
    bars: int = 8  # plus a final bar on the tonic
    hats: int = 2  # hi-hat strokes per beat
    pad: int = 0
    bass: int = 33
    lead: int = 73
    seed: int = 0

    @property
    def seconds(self) -> float:
        return (self.bars + 1) * 4 * 60 / self.bpm

    @property
    def name(self) -> str:
        tonic = str(self.key).replace(" ", "-")
        return f"{tonic}-{self.bpm:g}bpm-{self.progression}-{self.seed}"


def available() -> str:
    """Why songs cannot be rendered here, or "" when they can."""
    if shutil.which("fluidsynth") is None:
        return f"fluidsynth is not installed ({INSTALL_HINT})"
    if not SOUNDFONT.is_file():
        return f"the General MIDI soundfont {SOUNDFONT} is missing ({INSTALL_HINT})"
    return ""


def test_set(count: int = 24, seconds: float = 24.0) -> list[Arrangement]:
    """The bench's harder set: every tonic in both modes, half the songs slow (60-80 BPM, hats
    in sixteenths or eighths), the rest 90-180 BPM, each at least ``seconds`` long (in whole
    4-bar phrases); instruments, progressions and hats vary from song to song."""
    rng = np.random.default_rng(22)
    songs = []
    for i in range(count):
        minor = i % 2 == 1
        names = MINOR_PROGRESSIONS if minor else MAJOR_PROGRESSIONS
        slow = (i // 2) % 2 == 0
        bpm = float(round(rng.uniform(60, 80) if slow else rng.uniform(90, 180)))
        bars = 4 * max(1, int(np.ceil(seconds * bpm / 240 / 4)))
        songs.append(
            Arrangement(
                key=Key((i // 2 * 7) % 12, "minor" if minor else "major"),
                bpm=bpm,
                progression=names[(i // 2) % len(names)],
                bars=bars,
                hats=int(rng.choice((2, 4))) if slow else 2,
                pad=PADS[i % len(PADS)],
                bass=BASSES[i % len(BASSES)],
                lead=LEADS[(i // 3) % len(LEADS)],
                seed=i,
            )
        )
    return songs


def render(song: Arrangement) -> dict[str, np.ndarray]:
    """The song's stems, name -> float32 (2, N) at 44.1 kHz, N = its length in samples
    (rendered once, then read from the cache). Raises :class:`NoSynth` when FluidSynth or the
    soundfont is missing."""
    import soundfile

    reason = available()
    if reason:
        raise NoSynth(reason)
    digest = hashlib.sha256(repr(song).encode()).hexdigest()[:12]
    folder = CACHE / f"{song.name}-{digest}"
    if not all((folder / f"{stem}{WAV}").is_file() for stem in STEMS):
        _render_into(song, folder)
    n = round(song.seconds * RATE)
    stems = {}
    for stem in STEMS:
        data, rate = soundfile.read(folder / f"{stem}{WAV}", dtype="float32", always_2d=True)
        assert rate == RATE
        wave = np.zeros((2, n), np.float32)
        wave[:, : min(n, len(data))] = data[:n].T
        stems[stem] = wave
    return stems


def _render_into(song: Arrangement, folder: Path) -> None:
    """Render each part into a scratch folder, then move it into place whole, so a render
    cut short never leaves a cache entry."""
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=CACHE))
    try:
        for stem, part in _parts(song).items():
            path = work / f"{stem}.mid"
            _midi(song.bpm, part).save(path)
            subprocess.run(
                ["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(RATE), "-F",
                 str(work / f"{stem}{WAV}"), str(SOUNDFONT), str(path)],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
            path.unlink()
        if folder.exists():  # another process rendered it meanwhile
            shutil.rmtree(work)
        else:
            work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _midi(bpm: float, part: Part) -> mido.MidiFile:
    import mido

    midi = mido.MidiFile(ticks_per_beat=TICKS)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=round(60e6 / bpm)))
    if part.channel != 9:
        track.append(mido.Message("program_change", channel=part.channel, program=part.program))
    now = 0
    for tick, kind, note, velocity in sorted(part.events, key=lambda e: (e[0], e[1])):
        track.append(
            mido.Message(kind, channel=part.channel, note=note, velocity=velocity, time=tick - now)
        )
        now = tick
    return midi


Event = tuple[int, str, int, int]  # tick, "note_on"/"note_off", note, velocity


@dataclass
class Part:
    channel: int
    program: int
    events: list[Event]


def _note(events: list[Event], start: int, length: int, note: int, velocity: int) -> None:
    # note_off sorts before note_on at the same tick, so repeated notes restrike
    events.append((start, "note_on", note, velocity))
    events.append((start + length - 1, "note_off", note, 0))


def _parts(song: Arrangement) -> dict[str, Part]:
    """Each part's notes, by stem name."""
    rng = np.random.default_rng(song.seed)
    tonic = 48 + song.key.tonic  # C3 .. B3
    chords = PROGRESSIONS[song.progression]
    steps = MAJOR_STEPS if song.key.mode == "major" else NATURAL_MINOR_STEPS
    bar = 4 * TICKS
    drums: list[Event] = []
    bass: list[Event] = []
    pad: list[Event] = []
    lead: list[Event] = []
    for b in range(song.bars + 1):
        last = b == song.bars
        triad = (0, 4 if song.key.mode == "major" else 3, 7) if last else chords[b % len(chords)]
        start = b * bar
        # drums: kick on 1 (and 3, and the "and" of 3 now and then), snare on 2 and 4
        if b == 0 or last:
            _note(drums, start, TICKS, CRASH, 100)
        if not last:
            for beat in range(4):
                t = start + beat * TICKS
                if beat in (0, 2):
                    _note(drums, t, TICKS // 4, KICK, 110)
                else:
                    _note(drums, t, TICKS // 4, SNARE, 100)
                if beat == 2 and rng.random() < 0.4:
                    _note(drums, t + TICKS // 2, TICKS // 4, KICK, 90)
                for h in range(song.hats):
                    hat = (
                        OPEN_HAT
                        if (h == song.hats - 1 and beat == 3 and b % 4 == 3)
                        else CLOSED_HAT
                    )
                    accent = 85 if h == 0 else 65
                    _note(drums, t + h * TICKS // song.hats, TICKS // song.hats, hat, accent)
        else:
            _note(drums, start, TICKS, KICK, 110)
        # bass: root on 1, root/fifth/octave moving through the bar
        root = tonic - 12 + triad[0] % 12
        if last:
            _note(bass, start, bar, root, 100)
        else:
            pattern = (
                ((0, 0), (2, 0), (3, 7))
                if rng.random() < 0.5
                else ((0, 0), (1, 12), (2, 7), (3, 0))
            )
            for beat, interval in pattern:
                length = TICKS * (2 if beat == 0 and len(pattern) == 3 else 1)
                _note(bass, start + beat * TICKS, length, root + interval, 95)
        # chords: held, or struck on each beat for a piano
        voicing = [tonic + 12 + s for s in triad]
        if song.pad in (0, 4) and not last:
            for beat in range(4):
                for note in voicing:
                    _note(pad, start + beat * TICKS, TICKS, note, 70 if beat else 80)
        else:
            for note in voicing:
                _note(pad, start, bar, note, 70)
        # melody: chord tones on strong beats, scale steps between; each phrase's last bar
        # ends on the tonic
        if last:
            _note(lead, start, bar, tonic + 24, 90)
            continue
        for beat in range(4):
            if rng.random() < 0.15:
                continue
            # chord tones on the strong beats, any note of the scale between
            semis = int(rng.choice(triad)) if beat % 2 == 0 else steps[int(rng.integers(0, 7))]
            note = tonic + 24 + semis % 12
            if b % 4 == 3 and beat == 3:
                note = tonic + 24
            _note(lead, start + beat * TICKS, TICKS, note, 90)
    return {
        "drums": Part(9, 0, drums),
        "bass": Part(1, song.bass, bass),
        "other": Part(2, song.pad, pad),
        "vocals": Part(3, song.lead, lead),
    }
