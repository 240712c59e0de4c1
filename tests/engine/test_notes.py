"""Basic Pitch on onnxruntime: our host code against the ``basic-pitch`` package's own notes.

The golden notes were made by the package itself (``bench/basic_pitch_reference.py --golden``,
its ``predict`` on the same ``nmp.onnx``); the slow test makes them again in the bench
environment. Stated tolerance: the same notes (count and pitch), onsets and offsets within one
model frame (256 samples at 22050 Hz), pitch bends within one contour bin, amplitudes to 1e-4;
on the machine that made them they are identical.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import mido
import mir_eval
import numpy as np
import pytest

from bench import basic_pitch_reference as reference
from demixer.engine.analysis import notes_model
from demixer.engine.analysis.midi import lone_notes, to_midi
from demixer.engine.analysis.notes import FFT_HOP, SAMPLE_RATE, Note, NoteModel
from demixer.engine.errors import ModelNotAvailable
from demixer.testing.notes import piece
from demixer.testing.signals import RATE
from demixer.testing.tonal import Key

FRAME = FFT_HOP / SAMPLE_RATE


@pytest.fixture(scope="module")
def note_model() -> NoteModel:
    """The real note model (fetched with pip once; idempotent after)."""
    return NoteModel(notes_model.fetch(quiet=True))


def assert_same_notes(ours: list[Note], theirs: list[reference.Event]) -> None:
    theirs = sorted(theirs, key=lambda e: (e[0], e[2], e[1]))
    assert len(ours) == len(theirs)
    for note, (start, end, pitch, amplitude, bends) in zip(ours, theirs, strict=True):
        assert note.pitch == pitch
        assert abs(note.start - start) <= FRAME + 1e-9
        assert abs(note.end - end) <= FRAME + 1e-9
        assert note.amplitude == pytest.approx(amplitude, abs=1e-4)
        if bends is None or note.bends is None:
            assert bends == note.bends
        else:
            assert len(note.bends) == len(bends)
            assert max(abs(a - b) for a, b in zip(note.bends, bends, strict=True)) <= 1


@pytest.mark.parametrize("spec", reference.PIECES, ids=[p[0] for p in reference.PIECES])
def test_notes_match_the_package_golden(note_model: NoteModel, spec: tuple) -> None:  # type: ignore[type-arg]
    golden = json.loads(reference.GOLDEN.read_text())[spec[0]]
    audio, _ = reference.piece_audio_22k(spec)
    assert_same_notes(note_model.transcribe(audio, SAMPLE_RATE), golden)


@pytest.mark.slow
def test_notes_match_the_package_run_now(note_model: NoteModel, tmp_path: Path) -> None:
    """The package itself, in its bench environment, on a piece the golden file lacks."""
    import soundfile as sf

    try:
        python = reference.ensure_env()
    except reference.EnvError as exc:
        pytest.skip(f"Basic Pitch's bench environment cannot be built here: {exc}")
    spec = ("chords-bb", "chords", 10, "major", 126.0, 9, 8.0)
    audio, _ = reference.piece_audio_22k(spec)
    sf.write(tmp_path / "piece.wav", audio, SAMPLE_RATE, subtype="FLOAT")
    [theirs] = reference.reference_notes(python, notes_model.model_path(), [tmp_path / "piece.wav"])
    assert len(theirs) > 20
    assert_same_notes(note_model.transcribe(audio, SAMPLE_RATE), theirs)


def test_a_generated_melody_is_transcribed(note_model: NoteModel) -> None:
    """44.1 kHz stereo in (resampled by the front end); the known notes come back."""
    audio, known = piece("melody", 10.0, Key(7, "major"), 100.0, seed=5)
    found = note_model.transcribe(np.stack([audio, audio]), RATE)
    ref = np.array([[n.start, n.end] for n in known])
    est = np.array([[n.start, n.end] for n in found])
    _, _, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref,
        np.array([440.0 * 2 ** ((n.pitch - 69) / 12) for n in known]),
        est,
        np.array([440.0 * 2 ** ((n.pitch - 69) / 12) for n in found]),
        onset_tolerance=0.05,
        offset_ratio=None,
    )
    assert f1 >= 0.9


def test_silence_has_no_notes(note_model: NoteModel) -> None:
    assert note_model.transcribe(np.zeros((2, RATE * 3), np.float32), RATE) == []


def test_bad_audio_is_one_clear_error(note_model: NoteModel) -> None:
    with pytest.raises(ValueError, match="mono"):
        note_model.activations(np.zeros((2, 100), np.float32))


def test_a_missing_model_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match="fetch-models --model basic-pitch"):
        notes_model.model_path(tmp_path)
    (tmp_path / notes_model.FILENAME).write_bytes(b"not the model")
    with pytest.raises(ModelNotAvailable, match="SHA-256"):
        notes_model.model_path(tmp_path)


# --- MIDI ----------------------------------------------------------------------------------------


def _read(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))


def test_midi_holds_the_notes_velocities_and_tempo() -> None:
    notes = [
        Note(0.5, 1.0, 60, 0.5, (0, 1, 2)),
        Note(1.0, 2.0, 64, 1.0),  # starts as the first ends: both still alone
        Note(1.5, 2.5, 67, 0.25, (3, 3)),  # overlaps the second: no bends
    ]
    midi = _read(to_midi(notes, bpm=90.0))
    tempos = [m.tempo for m in midi.tracks[0] if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(90.0)]
    seconds, on, heard, bends = 0.0, {}, [], []
    for message in midi:  # playback order, times in seconds
        seconds += message.time
        if message.type == "note_on" and message.velocity > 0:
            on[message.note] = (seconds, message.velocity)
        elif message.type in ("note_off", "note_on"):
            start, velocity = on.pop(message.note)
            heard.append((message.note, round(start, 3), round(seconds, 3), velocity))
        elif message.type == "pitchwheel":
            bends.append((round(seconds, 3), message.pitch))
    assert sorted(heard) == [(60, 0.5, 1.0, 64), (64, 1.0, 2.0, 127), (67, 1.5, 2.5, 32)]
    # the first note's bends, a third of a semitone a step, then back to 0 as it ends
    assert bends == [(0.5, 0), (0.75, 1365), (1.0, 2731), (1.0, 0)]


def test_only_lone_notes_keep_bends() -> None:
    notes = [Note(0, 1, 60, 0.5), Note(0.5, 1.5, 62, 0.5), Note(2, 3, 64, 0.5)]
    assert lone_notes(notes) == [False, False, True]


def test_midi_refuses_a_tempo_of_zero() -> None:
    with pytest.raises(ValueError, match="tempo"):
        to_midi([Note(0, 1, 60, 0.5)], bpm=0)
