"""A whole track through an imported RoFormer (or MDX23C / SCNet): MSST's ``demix``
(:mod:`demixer.engine.roformer.demix`) around the onnxruntime model, and for a
``target_instrument`` model the other stem as the mix minus the target (as MSST's inference
makes its ``instrumental``)."""

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
    with model.exclusive:
        chunks = plan(length, s.chunk_size, s.num_overlap, s.batch_size)
        demix(mix, model, chunks, out, progress=progress, cancel=cancel)
    if s.outputs < len(spec.sources):
        np.subtract(mix, out[0], out=out[1])
    return out
