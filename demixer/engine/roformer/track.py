"""A whole track through an imported RoFormer (or MDX23C / SCNet): MSST's ``demix``
(:mod:`demixer.engine.roformer.demix`) around the onnxruntime model, and for a
``target_instrument`` model the other stem as the mix minus the target (as MSST's inference
makes its ``instrumental``).

With ``inference.normalize`` (MSST's ``normalize_audio`` / ``denormalize_audio``) the network
sees the mix less the mean of its channels' average, divided by that average's standard
deviation; each stem it gives is multiplied back by the deviation and has the mean added back.
The complement of a ``target_instrument`` model is the mix minus the scaled-back target (MSST's
``--extract_instrumental`` subtracts the normalised target from the original mix and then scales
that back, which mixes the two scales; demixer keeps "the mix minus the target"). Memory: a
normalised copy of the mix, float32 (2, N).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from demixer.engine.errors import EngineError
from demixer.engine.registry import ModelSpec
from demixer.engine.roformer.demix import demix, plan


class ChunkSettings(Protocol):
    @property
    def outputs(self) -> int: ...
    @property
    def chunk_size(self) -> int: ...
    @property
    def num_overlap(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def normalize(self) -> bool: ...


class ChunkModel(Protocol):
    """What MSST's ``demix`` drives: a RoFormer, or an MDX23C / SCNet
    (:class:`demixer.engine.msst.model.SpectralModel`)."""

    spec: ModelSpec
    exclusive: threading.RLock

    @property
    def settings(self) -> ChunkSettings: ...

    def __call__(self, chunk: np.ndarray) -> np.ndarray: ...


def separate(
    model: ChunkModel,
    mix: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """float32 (2, N) at the model's rate -> float32 (S, 2, N), the registry's sources in order;
    ``out``, when given, is a zero-filled (S, 2, N) array to fill."""
    spec, s = model.spec, model.settings
    mix = np.ascontiguousarray(mix, dtype=np.float32)
    if mix.ndim != 2 or mix.shape[0] != spec.channels:
        raise EngineError(f"expected a ({spec.channels}, samples) array, got {mix.shape}")
    length = mix.shape[-1]
    if out is None:
        out = np.zeros((len(spec.sources), mix.shape[0], length), dtype=np.float32)
    if length == 0:
        return out
    mean, deviation = statistics(mix) if s.normalize else (0.0, 1.0)
    seen = (mix - np.float32(mean)) / np.float32(deviation) if s.normalize else mix
    with model.exclusive:
        chunks = plan(length, s.chunk_size, s.num_overlap, s.batch_size)
        demix(seen, model, chunks, out, progress=progress, cancel=cancel)
    if s.normalize:
        for stem in out[: s.outputs]:
            stem *= np.float32(deviation)
            stem += np.float32(mean)
    if s.outputs < len(spec.sources):
        np.subtract(mix, out[0], out=out[1])
    return out


def statistics(mix: np.ndarray) -> tuple[float, float]:
    """MSST's ``normalize_audio`` statistics of float32 (2, N): the mean and the standard
    deviation of the channels' average (1 where the track is silent, which MSST would divide by)."""
    mono = mix.mean(axis=0, dtype=np.float64)
    deviation = float(mono.std())
    return float(mono.mean()), deviation if deviation > 0 else 1.0
