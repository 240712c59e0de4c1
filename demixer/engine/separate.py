"""The public entry point: separate a file or an array into stems.

``separate_file`` decodes, separates with the session of the model the options name (any
architecture, see :mod:`demixer.engine.sessions`) and returns stems; ``write_stems`` encodes
them. ``separate_array`` (htdemucs' chunked overlap-add driver around one segment model, in
:mod:`demixer.engine.htdemucs.apply`) and the callback types are re-exported here, the engine's
public names.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demixer.engine import audio, buffers, formats
from demixer.engine.errors import EngineError
from demixer.engine.htdemucs.apply import count_segments as count_segments
from demixer.engine.htdemucs.apply import plan as plan
from demixer.engine.htdemucs.apply import separate_array as separate_array
from demixer.engine.htdemucs.model import SegmentModel
from demixer.engine.options import SeparationOptions
from demixer.engine.progress import CancelFn as CancelFn
from demixer.engine.progress import Progress as Progress
from demixer.engine.progress import ProgressFn as ProgressFn
from demixer.engine.progress import ReadyFn as ReadyFn
from demixer.engine.sessions import Session, as_session, load_model
from demixer.engine.stems import two_stem_names


@dataclass(frozen=True)
class Piece:
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


PieceFn = Callable[[Piece], None]
LATE_PIECE = 1 << 20  # samples (23.8 s at 44.1 kHz) per piece handed over after the fact


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
    on_ready: PieceFn | None = None,
) -> Separated:
    """Decode ``path`` (any format PyAV reads), separate it with the model ``options`` names
    (``model``: a session of that model the caller already has), return the stems at 44.1 kHz.

    ``on_ready`` gets each final :class:`Piece` in song order, back to back, as
    :func:`separate_array` describes (same thread rules); a session that cannot tell early (one
    that finishes the whole track at once) hands over what it had not yet handed over once it is
    done, in pieces of at most :data:`LATE_PIECE` samples. A consumer that keeps nothing of a
    piece calls :meth:`Piece.release` when done with it.

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
            on_ready(Piece(start, end, length, session.samplerate, stems))
        published = end

    estimates = session.separate(
        decoded.samples, options, progress=progress, cancel=cancel, out=out, on_ready=ready
    )
    # a session that told nothing early hands the rest over in pieces of bounded size, so
    # no consumer ever copies a whole track
    for start in range(published, length, LATE_PIECE):
        end = min(length, start + LATE_PIECE)
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
