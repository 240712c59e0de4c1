"""The reference's whole-song inference: MSST's ``demix`` (``utils/model_utils.py``, generic mode,
at commit e5da5ed of ZFTurbo/Music-Source-Separation-Training), one chunk at a time.

What it does, kept exactly: the song is reflect-padded by ``border = chunk - step`` on both sides
when it is longer than ``2 * border``; chunks start every ``step = chunk // num_overlap`` samples;
a chunk running past the end is padded to ``chunk`` by reflection when more than half of it is
audio, else by zeros; each output is weighted by a window with linear fades of ``chunk // 10``
samples and the sum divided by the summed windows (0 where that is 0). The reference decides the
fades per batch of ``inference.batch_size`` chunks: no fade-in when the batch is the first chunk
alone, no fade-out for every chunk of the last batch; :func:`plan` reproduces that.

Memory: one chunk in flight, the (S, C, N) result and one float32 per sample of window sums.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from demixer.engine.errors import Cancelled


@dataclass(frozen=True)
class Chunk:
    """One chunk, in the padded song's samples: where it starts, how much of it is audio, and
    whether its window keeps its fade-in / fade-out."""

    start: int
    length: int
    fade_in: bool
    fade_out: bool


@dataclass(frozen=True)
class Plan:
    chunk: int
    border: int  # reflect padding on each side (0 when the song is too short for it)
    chunks: tuple[Chunk, ...]

    @property
    def fade(self) -> int:
        return self.chunk // 10


def plan(length: int, chunk: int, num_overlap: int, batch_size: int = 1) -> Plan:
    step = chunk // num_overlap
    border = chunk - step
    if not (length > 2 * border and border > 0):
        border = 0
    padded = length + 2 * border
    starts = list(range(0, padded, step))
    last = len(starts) - 1
    chunks = []
    for index, start in enumerate(starts):
        closing = min((index // batch_size + 1) * batch_size, len(starts)) - 1  # its batch's last
        chunks.append(
            Chunk(
                start=start,
                length=min(chunk, padded - start),
                fade_in=closing != 0,
                fade_out=not (closing == last and closing != 0),
            )
        )
    return Plan(chunk=chunk, border=border, chunks=tuple(chunks))


def window(plan: Plan, item: Chunk) -> np.ndarray:
    """The reference's ``_getWindowingArray`` with the chunk's fades: float32 (chunk,)."""
    fade = plan.fade
    w = np.ones(plan.chunk, dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    if item.fade_out:
        w[plan.chunk - fade :] = ramp[::-1]
    if item.fade_in:
        w[:fade] = ramp
    return w


def chunk_input(mix: np.ndarray, plan: Plan, item: Chunk) -> np.ndarray:
    """The chunk the network sees: float32 (C, chunk), read from the unpadded (C, N) mix."""
    length = mix.shape[-1]
    positions = np.arange(item.start, item.start + item.length) - plan.border
    positions = np.abs(positions)  # reflection at the start
    over = positions >= length
    positions[over] = 2 * (length - 1) - positions[over]  # and at the end
    part = mix[:, positions]
    missing = plan.chunk - item.length
    if missing:
        if item.length > plan.chunk // 2:
            part = np.pad(part, [(0, 0), (0, missing)], mode="reflect")
        else:
            part = np.pad(part, [(0, 0), (0, missing)])
    return np.ascontiguousarray(part, dtype=np.float32)


def demix(
    mix: np.ndarray,
    network: Callable[[np.ndarray], np.ndarray],
    plan: Plan,
    out: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """``network``: float32 (C, chunk) -> (n, C, >= chunk). Fills ``out[:n]`` (zeros, (S, C, N))
    with the windowed average of the chunks' outputs; returns ``out``."""
    length = mix.shape[-1]
    counter = np.zeros(length, dtype=np.float32)
    total = len(plan.chunks)
    outputs = 0
    for done, item in enumerate(plan.chunks):
        if cancel is not None and cancel():
            raise Cancelled("separation cancelled")
        x = network(chunk_input(mix, plan, item))
        outputs = x.shape[0]
        w = window(plan, item)[: item.length]
        # the chunk's samples inside the song (the padding's are cut off at the end)
        lo = max(item.start, plan.border)
        hi = min(item.start + item.length, plan.border + length)
        if hi > lo:
            a, b = lo - item.start, hi - item.start
            out[:outputs, :, lo - plan.border : hi - plan.border] += x[..., a:b] * w[a:b]
            counter[lo - plan.border : hi - plan.border] += w[a:b]
        if progress is not None:
            progress(done + 1, total)
    for stem in range(outputs):
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(out[stem], counter, out=out[stem], where=counter > 0)
        out[stem][:, counter == 0] = 0
    return out
