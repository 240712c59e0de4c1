"""Notes of a stem: Spotify's Basic Pitch on onnxruntime, with our own host code.

Basic Pitch (Bittner et al., ICASSP 2022; the ``basic-pitch`` package, Apache-2.0) maps 2-second
windows of 22050 Hz mono audio to three activations per frame of 256 samples: note (88 piano
keys), onset (88) and pitch contour (264, a third of a semitone a bin). The front end and the
decoding below follow ``basic_pitch.inference`` and ``basic_pitch.note_creation`` 0.4.0 step by
step (onset peaks, note tracking with an onset and a frame threshold, the "melodia trick" that
turns leftover frame energy into notes, pitch bends from the contour), so the notes are the
package's; ``tests/engine/test_notes.py`` compares them with the package's own output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort

SAMPLE_RATE = 22050
FFT_HOP = 256
FRAMES_PER_SECOND = SAMPLE_RATE // FFT_HOP  # 86, as the model was trained (not 86.13)
WINDOW_FRAMES = 2 * FRAMES_PER_SECOND  # model frames out per window
WINDOW_SAMPLES = 2 * SAMPLE_RATE - FFT_HOP  # samples in per window (AUDIO_N_SAMPLES)
OVERLAP_FRAMES = 30  # windows overlap; half of the overlap is dropped at each side
OVERLAP_SAMPLES = OVERLAP_FRAMES * FFT_HOP
HOP_SAMPLES = WINDOW_SAMPLES - OVERLAP_SAMPLES
MIDI_OFFSET = 21  # the model's first key, A0
N_KEYS = 88
CONTOUR_BINS_PER_SEMITONE = 3
N_CONTOUR_BINS = N_KEYS * CONTOUR_BINS_PER_SEMITONE
LOWEST_HZ = 27.5
BATCH = 8  # windows a model call

# Basic Pitch's defaults
ONSET_THRESHOLD = 0.5
FRAME_THRESHOLD = 0.3
MIN_NOTE_MS = 127.70
ENERGY_TOLERANCE = 11  # frames below the frame threshold that end a note
BEND_TOLERANCE_BINS = 25  # contour bins either side of a note searched for its bend


@dataclass(frozen=True)
class Note:
    """One note: times in seconds, MIDI pitch, mean note activation 0..1 and, where the contour
    says so, pitch bends in thirds of a semitone, evenly spaced from start to end."""

    start: float
    end: float
    pitch: int
    amplitude: float
    bends: tuple[int, ...] | None = None

    @property
    def velocity(self) -> int:
        return int(np.clip(round(127 * self.amplitude), 1, 127))


@dataclass(frozen=True)
class Activations:
    """The model's output for a whole track, float32 (frames, bins) at 86 frames a second."""

    note: np.ndarray  # (T, 88)
    onset: np.ndarray  # (T, 88)
    contour: np.ndarray  # (T, 264)


def mono_22k(samples: np.ndarray, rate: int) -> np.ndarray:
    """float32 (N,) at 22050 Hz from (channels, N) or (N,) at ``rate``: the channels' mean,
    resampled with soxr's high quality (what librosa.load does for the package)."""
    mono = np.asarray(samples, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if rate != SAMPLE_RATE:
        import soxr

        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def windows(audio: np.ndarray) -> np.ndarray:
    """float32 (W, WINDOW_SAMPLES, 1): the track, half an overlap of silence before it, cut
    every HOP_SAMPLES and zero-padded at the end."""
    padded = np.concatenate([np.zeros(OVERLAP_SAMPLES // 2, np.float32), audio])
    starts = range(0, len(padded), HOP_SAMPLES)
    out = np.zeros((len(starts), WINDOW_SAMPLES, 1), np.float32)
    for i, start in enumerate(starts):
        piece = padded[start : start + WINDOW_SAMPLES]
        out[i, : len(piece), 0] = piece
    return out


def _unwrap(output: np.ndarray, n_samples: int) -> np.ndarray:
    """(W, WINDOW_FRAMES, bins) -> (T, bins): each window's middle, trimmed to the track."""
    half = OVERLAP_FRAMES // 2
    kept = output[:, half:-half, :]
    frames = int(np.floor(n_samples * (FRAMES_PER_SECOND / SAMPLE_RATE)))
    return kept.reshape(-1, kept.shape[-1])[:frames]


def _session(path: Path) -> ort.InferenceSession:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


class NoteModel:
    """Basic Pitch's model, loaded once (a 230 KB graph): ``transcribe`` per stem."""

    def __init__(self, path: Path | None = None) -> None:
        # the weights' module: only when the model file is looked for
        from demixer.engine.analysis import notes_model

        self.session = _session(path or notes_model.model_path())

    def activations(self, audio: np.ndarray) -> Activations:
        """Model output for float32 (N,) mono audio at 22050 Hz."""
        if audio.ndim != 1 or audio.dtype != np.float32:
            raise ValueError("activations() takes float32 mono audio (N,) at 22050 Hz")
        batched = windows(audio)
        parts: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
        for first in range(0, len(batched), BATCH):
            note, onset, contour = self.session.run(
                [
                    "StatefulPartitionedCall:1",
                    "StatefulPartitionedCall:2",
                    "StatefulPartitionedCall:0",
                ],
                {"serving_default_input_2:0": batched[first : first + BATCH]},
            )
            parts["note"].append(note)
            parts["onset"].append(onset)
            parts["contour"].append(contour)
        unwrapped = {k: _unwrap(np.concatenate(v), len(audio)) for k, v in parts.items()}
        return Activations(**unwrapped)

    def transcribe(
        self,
        samples: np.ndarray,
        rate: int,
        *,
        onset_threshold: float = ONSET_THRESHOLD,
        frame_threshold: float = FRAME_THRESHOLD,
        min_note_ms: float = MIN_NOTE_MS,
        melodia_trick: bool = True,
    ) -> list[Note]:
        """The notes of a stem, float32 (channels, N) or (N,) at ``rate``, sorted by start."""
        acts = self.activations(mono_22k(samples, rate))
        min_frames = round(min_note_ms / 1000 * (SAMPLE_RATE / FFT_HOP))
        return notes_from(acts, onset_threshold, frame_threshold, min_frames, melodia_trick)


def notes_from(
    acts: Activations,
    onset_threshold: float = ONSET_THRESHOLD,
    frame_threshold: float = FRAME_THRESHOLD,
    min_frames: int = 11,
    melodia_trick: bool = True,
) -> list[Note]:
    """Decode activations into notes with pitch bends, sorted by (start, pitch)."""
    events, remaining = _track_notes(
        acts.note, acts.onset, onset_threshold, frame_threshold, min_frames
    )
    if melodia_trick:
        events += _melodia(acts.note, remaining, frame_threshold, min_frames)
    times = frame_times(len(acts.contour))
    notes = [
        Note(
            float(times[start]),
            float(times[end]),
            key + MIDI_OFFSET,
            amplitude,
            _bends(acts.contour, start, end, key + MIDI_OFFSET),
        )
        for start, end, key, amplitude in events
    ]
    return sorted(notes, key=lambda n: (n.start, n.pitch, n.end))


# (start frame, end frame, key 0..87, mean note activation)
Event = tuple[int, int, int, float]


def inferred_onsets(onsets: np.ndarray, frames: np.ndarray, n_diff: int = 2) -> np.ndarray:
    """Onsets, or where larger, a rise in the note activation over 1..n_diff frames (rescaled to
    the onsets' maximum): a re-struck note the onset head missed still starts a note."""
    diffs = []
    for n in range(1, n_diff + 1):
        shifted = np.concatenate([np.zeros((n, frames.shape[1])), frames])
        diffs.append(shifted[n:, :] - shifted[:-n, :])
    rise = np.min(diffs, axis=0)
    rise[rise < 0] = 0
    rise[:n_diff, :] = 0
    if np.max(rise) > 0:  # the package divides by zero on silence (NaN, no notes either way)
        rise = np.max(onsets) * rise / np.max(rise)
    return np.max([onsets, rise], axis=0)


def _track_notes(
    frames: np.ndarray,
    onsets: np.ndarray,
    onset_threshold: float,
    frame_threshold: float,
    min_frames: int,
) -> tuple[list[Event], np.ndarray]:
    """A note from each onset peak above the threshold, latest first, held while the frame
    activation stays above its threshold (ENERGY_TOLERANCE frames of grace); with the frame
    energy that no note claimed."""
    from scipy.signal import argrelmax

    n_frames = frames.shape[0]
    onsets = inferred_onsets(onsets, frames)
    peaks = np.zeros(onsets.shape)
    where = argrelmax(onsets, axis=0)
    peaks[where] = onsets[where]
    onset_times, onset_keys = np.where(peaks >= onset_threshold)
    remaining = frames.astype(np.float64)
    events: list[Event] = []
    for start, key in zip(onset_times[::-1], onset_keys[::-1], strict=True):
        if start >= n_frames - 1:
            continue
        i, k = start + 1, 0
        while i < n_frames - 1 and k < ENERGY_TOLERANCE:
            k = k + 1 if remaining[i, key] < frame_threshold else 0
            i += 1
        i -= k
        if i - start <= min_frames:
            continue
        remaining[start:i, max(key - 1, 0) : key + 2] = 0
        events.append((int(start), int(i), int(key), float(np.mean(frames[start:i, key]))))
    return events, remaining


def _melodia(
    frames: np.ndarray, remaining: np.ndarray, frame_threshold: float, min_frames: int
) -> list[Event]:
    """Notes from the strongest frame energy left, grown forwards and backwards from its peak
    until the activation drops (Basic Pitch's "melodia trick"); consumes ``remaining``."""
    n_frames = frames.shape[0]
    events: list[Event] = []
    while np.max(remaining) > frame_threshold:
        mid, key = np.unravel_index(np.argmax(remaining), remaining.shape)
        remaining[mid, key] = 0
        near = slice(max(key - 1, 0), key + 2)
        i, k = mid + 1, 0
        while i < n_frames - 1 and k < ENERGY_TOLERANCE:
            k = k + 1 if remaining[i, key] < frame_threshold else 0
            remaining[i, near] = 0
            i += 1
        end = i - 1 - k
        i, k = mid - 1, 0
        while i > 0 and k < ENERGY_TOLERANCE:
            k = k + 1 if remaining[i, key] < frame_threshold else 0
            remaining[i, near] = 0
            i -= 1
        start = i + 1 + k
        if end - start <= min_frames:
            continue
        events.append((int(start), int(end), int(key), float(np.mean(frames[start:end, key]))))
    return events


def frame_times(n_frames: int) -> np.ndarray:
    """Seconds of each model frame: each 2-second window's 172 frames span a little more than
    its 43844 samples, so the package shifts every window's frames back by a fixed offset (and
    its 1.8 ms "magic number"); the same here, so the times are the package's."""
    index = np.arange(n_frames)
    window_offset = (FFT_HOP / SAMPLE_RATE) * (WINDOW_FRAMES - WINDOW_SAMPLES / FFT_HOP) + 0.0018
    return index * FFT_HOP / SAMPLE_RATE - window_offset * np.floor(index / WINDOW_FRAMES)


def _contour_bin(pitch: int) -> float:
    hz = 440.0 * 2.0 ** ((pitch - 69) / 12)
    return 12.0 * CONTOUR_BINS_PER_SEMITONE * float(np.log2(hz / LOWEST_HZ))


def _bends(contour: np.ndarray, start: int, end: int, pitch: int) -> tuple[int, ...] | None:
    """Per frame, the contour's peak near the note's pitch (Gaussian-weighted, sigma 5 bins), in
    thirds of a semitone from the note's own bin."""
    from scipy.signal.windows import gaussian

    tol = BEND_TOLERANCE_BINS
    length = 2 * tol + 1
    weights = gaussian(length, std=5)
    centre = round(_contour_bin(pitch))
    low = max(centre - tol, 0)
    high = min(N_CONTOUR_BINS, centre + tol + 1)
    cut_low = max(0, tol - centre)
    cut_high = max(0, centre - (N_CONTOUR_BINS - tol - 1))
    window = contour[start:end, low:high] * weights[cut_low : length - cut_high]
    shift = tol - cut_low
    bends = tuple(int(b) for b in np.argmax(window, axis=1) - shift)
    return bends or None
