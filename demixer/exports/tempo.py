"""Tempo and pitch of a rendered mix, with the algorithm the player uses in the browser.

The player changes tempo and pitch with Signalsmith Stretch (its Web Audio build); a download
rendered with the same settings goes through the same library's Python bindings
(``python-stretch``, MIT), so what you hear is what you get. Blocks are float32 (C, n) at the
masters' rate; the stretcher keeps its state between blocks, so a whole song streams through in
fixed memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

TEMPO_RANGE = (0.5, 1.5)  # the player's range: half to one and a half times the speed
PITCH_RANGE = (-6.0, 6.0)  # semitones
SEED = 20  # the stretcher's dither: fixed, so a render is the same file every time


def is_identity(tempo: float, pitch: float) -> bool:
    """Whether the settings leave the audio as it is (then no stretcher runs at all)."""
    return tempo == 1.0 and pitch == 0.0


def stretched(
    blocks: Iterable[np.ndarray], rate: int, channels: int, tempo: float, pitch: float
) -> Iterator[np.ndarray]:
    """The blocks played at ``tempo`` times the speed (0.5: twice as long) and shifted by
    ``pitch`` semitones, each independent of the other. float32 (C, n) in and out; an output
    block holds about ``n / tempo`` frames (the stretcher compensates its own latency)."""
    from python_stretch import Signalsmith  # a compiled extension: only the worker loads it

    stretch = Signalsmith.Stretch(SEED)
    stretch.preset(channels, float(rate))
    stretch.timeFactor = float(tempo)
    stretch.setTransposeSemitones(float(pitch))
    for block in blocks:
        yield np.ascontiguousarray(stretch.process(np.ascontiguousarray(block, np.float32)))
