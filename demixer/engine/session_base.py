"""What every architecture's session is, written once: the interface the callers use and the
parts the adapters share.

:class:`Session` takes a whole (2, N) track with progress and cancel callbacks, checks the job's
options and hands the call to its architecture's own loop (``_separate``), so the driver
(:func:`demixer.engine.separate.separate_file`), the CLI and the worker never ask which
architecture they hold. :class:`ModelSession` is the common case: one process-wide model object
(created on first use by its architecture's module) that counts its own chunks.

Light (numpy and the engine's option and registry modules): the architecture packages build on
it without importing :mod:`demixer.engine.sessions`, which lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.progress import CancelFn, ProgressFn, ReadyFn, counting
from demixer.engine.registry import ModelSpec, get_spec


@dataclass(frozen=True)
class Call:
    """What one :meth:`Session.separate` call hands its architecture's loop besides the mix:
    the callbacks and the zero-filled float32 (S, 2, N) buffer to fill (``None``: a new one)."""

    progress: ProgressFn | None = None
    cancel: CancelFn | None = None
    out: np.ndarray | None = None
    on_ready: ReadyFn | None = None

    def counting(self) -> Callable[[int, int], None]:
        """A ``report(done, total)`` for a model that counts its own blocks or chunks."""
        return counting(self.progress)


class Session:
    """What every architecture's session offers the callers (built by
    :func:`demixer.engine.sessions.load_model` for a :class:`SessionConfig`)."""

    config: SessionConfig
    spec: ModelSpec

    @property
    def sources(self) -> tuple[str, ...]:
        return self.spec.sources

    @property
    def samplerate(self) -> int:
        return self.spec.samplerate

    def warm_up(self) -> None:
        """Run the model once or twice on silence, so that the first job does not pay for it."""
        raise NotImplementedError

    def separate(
        self,
        mix: np.ndarray,
        options: SeparationOptions,
        *,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
        out: np.ndarray | None = None,
        on_ready: ReadyFn | None = None,
    ) -> np.ndarray:
        """float32 (2, N) at :attr:`samplerate` -> float32 (S, 2, N), sources in order.

        ``on_ready``: final pieces as they come (see ``separate_array``); a session may
        ignore it, and ``separate_file`` then hands over the rest at the end."""
        options.validate()
        return self._separate(mix, options, Call(progress, cancel, out, on_ready))

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        """The architecture's own loop over the track (``options`` already checked)."""
        raise NotImplementedError


class WarmModel(Protocol):
    def warm_up(self, runs: int = 1) -> None: ...


class ModelSession[M: WarmModel](Session):
    """A session around one model object, the process-wide one for its configuration unless a
    test hands one in."""

    def __init__(self, config: SessionConfig, model: M | None = None) -> None:
        self.config = config
        self.spec = get_spec(config.model)
        self.model = model or self._shared()

    def _shared(self) -> M:
        """The process-wide model for :attr:`config` (its module loads onnxruntime)."""
        raise NotImplementedError

    def warm_up(self) -> None:
        self.model.warm_up(runs=1)
