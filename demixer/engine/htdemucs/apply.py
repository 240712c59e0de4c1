"""The chunked overlap-add that drives an htdemucs graph over a whole track (Meta's
``demucs.apply``): segments, shifts, the triangular weights, the host thread that prepares the
next segment and finishes the last one while the graph runs, and final pieces handed on as
soon as every segment over them is added."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from demixer.engine import buffers
from demixer.engine.errors import Cancelled, EngineError
from demixer.engine.htdemucs.chunking import (
    OverlapAdd,
    Pass,
    Segment,
    interleave,
    plan_passes,
    read_padded,
    ready_edges,
)
from demixer.engine.htdemucs.model import SegmentModel, shared_model
from demixer.engine.options import SeparationOptions
from demixer.engine.progress import CancelFn, Progress, ProgressFn, ReadyFn
from demixer.engine.registry import get_spec


def plan(length: int, options: SeparationOptions) -> tuple[list[Pass], list[Segment]]:
    """The passes over a track of ``length`` samples and every model run they take, in run
    order (passes interleaved, see :func:`chunking.interleave`)."""
    spec = get_spec(options.model)
    passes = plan_passes(length, spec.samplerate, options.shifts, options.seed)
    return passes, interleave(passes, spec.segment_samples, options.overlap)


def count_segments(length: int, options: SeparationOptions) -> int:
    return len(plan(length, options)[1])


def separate_array(
    mix: np.ndarray,
    options: SeparationOptions | None = None,
    *,
    model: SegmentModel | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    out: np.ndarray | None = None,
    on_ready: ReadyFn | None = None,
) -> np.ndarray:
    """Separate float32 (2, N) at 44.1 kHz into float32 (S, 2, N), sources in model order.

    ``out`` may be given (a zero-filled array, e.g. :func:`buffers.disk_array`; filling a disk
    array here would pull all of it into memory) to receive the result. Raises
    :class:`Cancelled` between segments when ``cancel()`` turns true.

    ``on_ready(start, end, block)`` is handed each piece of the output as soon as it is final
    (every segment overlapping it added), in song order, back to back from 0 to N: ``block`` is
    a view of ``out[..., start:end]`` that nothing writes to again. It is called on the engine's
    host thread (the last one on the caller's), one call at a time, while the model runs the
    next segment: hand slow work (uploads, database writes) on rather than doing it there.
    """
    options = options or SeparationOptions()
    options.validate()
    model = model or shared_model(options.session_config())
    mix = np.ascontiguousarray(mix, dtype=np.float32)
    if mix.ndim != 2 or mix.shape[0] != model.spec.channels:
        raise EngineError(f"expected a (2, samples) array, got {mix.shape}")
    length = mix.shape[-1]
    sources = len(model.sources)
    if out is None:
        out = np.zeros((sources, mix.shape[0], length), dtype=np.float32)
    if length == 0:
        return out
    segment = model.segment
    passes, segments = plan(length, options)
    ola = OverlapAdd(out, passes, segment, options.overlap)
    started = time.monotonic()

    def report(done: int) -> None:
        if progress is not None:
            progress(Progress(done, len(segments), time.monotonic() - started))

    def prepare(seg: Segment) -> dict[str, np.ndarray]:
        return model.prepare(read_padded(mix, seg.start, segment))

    # everything before the edge is final once a segment is added: it can be handed on, and
    # disk-backed output can let go of it
    edges = ready_edges(segments, length)
    published = 0

    def finish(index: int, raw: tuple[np.ndarray, np.ndarray]) -> None:
        nonlocal published
        ola.add(segments[index], model.finish(*raw))
        edge = edges[index]
        if edge > published:
            if on_ready is not None:
                on_ready(published, edge, out[..., published:edge])
            buffers.release(out, published, edge)
            # no later segment reads the mix a whole segment before the edge
            buffers.release(mix, max(0, published - segment), max(0, edge - segment))
            published = edge

    report(0)
    with model.exclusive, ThreadPoolExecutor(1, thread_name_prefix="demixer-host") as host:
        feeds = prepare(segments[0])
        previous: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None
        for index in range(len(segments)):
            if cancel is not None and cancel():
                raise Cancelled("separation cancelled")
            pending = host.submit(finish, *previous) if previous is not None else None
            upcoming = (
                host.submit(prepare, segments[index + 1]) if index + 1 < len(segments) else None
            )
            raw = model.infer(feeds)  # onnxruntime releases the GIL: the host thread runs now
            if pending is not None:
                pending.result()
            if upcoming is not None:
                feeds = upcoming.result()
            previous = (index, raw)
            if index + 1 < len(segments):
                report(index + 1)
        assert previous is not None
        finish(*previous)
    report(len(segments))
    return out
