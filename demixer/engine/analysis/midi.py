"""Notes as a Standard MIDI File, at the track's tempo, written with mido (MIT).

mido is the small, maintained MIDI library (pretty_midi, which Basic Pitch uses, is built on it
and adds numpy-heavy synthesis the app has no use for). A file is type 1: a tempo track, then one
track on channel 0 with the notes, their velocities and, for notes that sound alone, their pitch
bends (a MIDI pitch bend moves the whole channel, so overlapping notes get none, as Basic Pitch
decides).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from demixer.engine.analysis.notes import CONTOUR_BINS_PER_SEMITONE, Note

TICKS_PER_BEAT = 480
ELECTRIC_PIANO = 4  # General MIDI program 5, Basic Pitch's choice
BEND_RANGE = 8192  # +-2 semitones, the General MIDI default range


def lone_notes(notes: Sequence[Note]) -> list[bool]:
    """For each note (in the order given), whether no other note sounds during it."""
    order = sorted(range(len(notes)), key=lambda i: (notes[i].start, notes[i].end))
    alone = [True] * len(notes)
    for a, i in enumerate(order):
        for j in order[a + 1 :]:
            if notes[j].start >= notes[i].end:
                break
            alone[i] = alone[j] = False
    return alone


def _bend_value(bend: int) -> int:
    """Thirds of a semitone -> a pitchwheel value, clipped to the +-2 semitone range."""
    value = round(bend * (BEND_RANGE // 2) / CONTOUR_BINS_PER_SEMITONE)
    return max(-BEND_RANGE, min(BEND_RANGE - 1, value))


def to_midi(notes: Sequence[Note], bpm: float = 120.0, program: int = ELECTRIC_PIANO) -> bytes:
    """A .mid file's bytes: ``notes`` (seconds) at ``bpm``, one instrument ``program``."""
    import mido

    if not bpm > 0:
        raise ValueError(f"the tempo must be positive, not {bpm}")
    tempo = mido.bpm2tempo(bpm)
    per_second = TICKS_PER_BEAT * 1e6 / tempo

    def tick(seconds: float) -> int:
        return max(0, round(seconds * per_second))

    # (tick, order at that tick, message): note-offs first, so a re-struck note is not cut
    timed: list[tuple[int, int, mido.Message]] = []
    for note, alone in zip(notes, lone_notes(notes), strict=True):
        start, end = tick(note.start), max(tick(note.end), tick(note.start) + 1)
        timed.append((start, 2, mido.Message("note_on", note=note.pitch, velocity=note.velocity)))
        timed.append((end, 0, mido.Message("note_off", note=note.pitch, velocity=0)))
        if alone and note.bends:
            step = (note.end - note.start) / max(len(note.bends) - 1, 1)
            for k, bend in enumerate(note.bends):
                value = _bend_value(bend)
                timed.append(
                    (tick(note.start + k * step), 1, mido.Message("pitchwheel", pitch=value))
                )
            timed.append((end, 1, mido.Message("pitchwheel", pitch=0)))
    timed.sort(key=lambda item: (item[0], item[1]))

    tempo_track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    track = mido.MidiTrack([mido.Message("program_change", program=program, time=0)])
    now = 0
    for at, _, message in timed:
        track.append(message.copy(time=at - now))
        now = at
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT, tracks=[tempo_track, track])
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()
