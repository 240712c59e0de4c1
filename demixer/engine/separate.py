"""The public entry point: separate a file or an array into stems.

``separate_array`` is htdemucs' chunked overlap-add driver around one :class:`SegmentModel`;
``separate_file`` decodes, separates with the session of the model the options name (any
architecture, see :mod:`demixer.engine.sessions`) and returns stems; ``write_stems`` encodes
them.
Host DSP for the neighbouring segments runs in a helper thread while onnxruntime (which releases
the GIL) runs the current one, so host time mostly hides behind model time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demixer.engine import audio, buffers, formats
from demixer.engine.chunking import (
    OverlapAdd,
    Pass,
    Segment,
    interleave,
    plan_passes,
    read_padded,
    ready_edges,
)
from demixer.engine.errors import Cancelled, EngineError
from demixer.engine.onnx_model import SegmentModel, shared_model
from demixer.engine.options import SeparationOptions
from demixer.engine.progress import CancelFn, Progress, ProgressFn, ReadyFn
from demixer.engine.registry import get_spec
from demixer.engine.sessions import Session, as_session, load_model
from demixer.engine.stems import two_stem_names


@dataclass(frozen=True)
class Stretch:
    """A final part of every stem, [start, end) in samples at ``rate``: exactly what the
    returned stems hold there (name -> float32 (2, end - start), the names ``select_stems``
    gives)."""

    start: int
    end: int
    total: int  # the whole track's length in samples
    rate: int
    stems: dict[str, np.ndarray]

    def release(self) -> None:
        """Drop the stems' samples from memory once they are consumed (where they are views of
        a disk array, reading them brought them back); they stay readable."""
        for wav in self.stems.values():
            buffers.release(wav, 0, wav.shape[-1])


StretchFn = Callable[[Stretch], None]
LATE_STRETCH = 1 << 20  # samples (23.8 s at 44.1 kHz) per stretch handed over after the fact


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

    ``on_ready(start, end, block)`` is handed each stretch of the output as soon as it is final
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


@dataclass
class Separated:
    """Stems of one file: name -> float32 (2, N) at ``rate``; ``source`` is the decoded input."""

    stems: dict[str, np.ndarray]
    rate: int
    source: audio.DecodedAudio


def select_stems(
    estimates: np.ndarray, names: tuple[str, ...], two_stems: str | None, on_disk: bool = False
) -> dict[str, np.ndarray]:
    """All stems by name, or ``{stem, no_<stem>}`` where the second is the sum of the others
    (summed block by block; ``on_disk``: into a disk array).

    A model with two sources (Spleeter's vocals / accompaniment) already gives that pair:
    its own stems are kept, under its own names.
    """
    if two_stems is None or len(names) == 2:
        return {name: estimates[i] for i, name in enumerate(names)}
    keep = names.index(two_stems)
    shape = estimates[keep].shape
    rest = buffers.disk_array(shape) if on_disk else np.zeros(shape, np.float32)
    length = shape[-1]
    for start in range(0, length, audio.BLOCK):
        stop = min(length, start + audio.BLOCK)
        block = np.zeros((*shape[:-1], stop - start), dtype=np.float32)
        for i in range(len(names)):
            if i != keep:
                block += estimates[i][..., start:stop]
                buffers.release(estimates[i], start, stop)
        rest[..., start:stop] = block
        buffers.release(rest, start, stop)
    kept, others = two_stem_names(two_stems)
    return {kept: estimates[keep], others: rest}


def separate_file(
    path: str | os.PathLike[str],
    options: SeparationOptions | None = None,
    *,
    model: Session | SegmentModel | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    max_seconds: float | None = None,
    max_rate: int | None = None,
    max_channels: int | None = None,
    on_ready: StretchFn | None = None,
) -> Separated:
    """Decode ``path`` (any format PyAV reads), separate it with the model ``options`` names
    (``model``: a session of that model the caller already has), return the stems at 44.1 kHz.

    ``on_ready`` gets each final :class:`Stretch` in song order, back to back, as
    :func:`separate_array` describes (same thread rules); a session that cannot tell early (one
    that finishes the whole track at once) hands over what it had not yet handed over once it is
    done, in stretches of at most :data:`LATE_STRETCH` samples. A consumer that keeps nothing of a
    stretch calls :meth:`Stretch.release` when done with it.

    Past a limit (``None``: none) the input is refused with ``AudioTooLargeError`` before it
    is decoded, or as soon as its decoded length passes ``max_seconds`` (see ``audio.decode``).
    """
    options = options or SeparationOptions()
    options.validate()
    session = load_model(options) if model is None else as_session(model)
    if session.config.model != options.model:
        # the model a job names is the model that runs
        raise EngineError(
            f"the session runs {session.config.model}, the options ask for {options.model}"
        )
    # low memory: the mix and the result live on disk, and the parts the separation has moved
    # past leave memory (see buffers); the samples are the same
    decoded = audio.decode(
        path,
        max_seconds=max_seconds,
        max_rate=max_rate,
        max_channels=max_channels,
        on_disk=options.low_memory,
    )
    out = None
    if options.low_memory:
        out = buffers.disk_array((len(session.sources), 2, decoded.samples.shape[-1]))
    length = decoded.samples.shape[-1]
    published = 0

    def ready(start: int, end: int, block: np.ndarray) -> None:
        nonlocal published
        if on_ready is not None:
            stems = select_stems(block, session.sources, options.two_stems)
            on_ready(Stretch(start, end, length, session.samplerate, stems))
        published = end

    estimates = session.separate(
        decoded.samples, options, progress=progress, cancel=cancel, out=out, on_ready=ready
    )
    # a session that told nothing early hands the rest over in stretches of bounded size, so
    # no consumer ever copies a whole track
    for start in range(published, length, LATE_STRETCH):
        end = min(length, start + LATE_STRETCH)
        ready(start, end, estimates[..., start:end])
    stems = select_stems(estimates, session.sources, options.two_stems, options.low_memory)
    return Separated(stems, session.samplerate, decoded)


@dataclass(frozen=True)
class OutputOptions:
    """How stems are written. ``sample_rate`` None keeps 44.1 kHz; "source" uses the input's."""

    fmt: str = formats.WAV.name  # a row of demixer.engine.formats.FORMATS
    bit_depth: int = 16
    bitrate_kbps: int | None = None  # None: the format's default
    clip: audio.ClipMode = "rescale"
    sample_rate: int | str | None = None


def write_stems(
    result: Separated, directory: Path, output: OutputOptions | None = None
) -> dict[str, Path]:
    """Encode each stem to ``directory/<stem>.<ext>``, copying the input's title/artist tags."""
    output = output or OutputOptions()
    directory.mkdir(parents=True, exist_ok=True)
    rate = result.rate
    if output.sample_rate == "source":
        rate = result.source.source_rate
    elif isinstance(output.sample_rate, int):
        rate = output.sample_rate
    extension = formats.get(output.fmt).extension
    paths: dict[str, Path] = {}
    for name, wav in result.stems.items():
        paths[name] = audio.encode(
            wav,
            directory / f"{name}{extension}",
            rate=rate,
            source_rate=result.rate,
            fmt=output.fmt,
            bit_depth=output.bit_depth,
            bitrate_kbps=output.bitrate_kbps,
            clip=output.clip,
            tags=result.source.tags,
        )
    return paths
