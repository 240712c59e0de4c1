"""What long work reports and listens for: progress, cancel and final-piece callbacks.

Every session's module uses these without importing the driver in
:mod:`demixer.engine.separate` (which re-exports them, and imports the sessions).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Progress:
    """Reported after each segment: ``fraction`` in [0, 1], ``eta`` seconds (None at first)."""

    done: int
    total: int
    elapsed: float
    stage: str = "separating"

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta(self) -> float | None:
        if self.done == 0:
            return None
        return self.elapsed / self.done * (self.total - self.done)


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]
# (start, end, final samples of every source for [start, end): float32 (S, C, end - start))
ReadyFn = Callable[[int, int, np.ndarray], None]


def counting(progress: ProgressFn | None) -> Callable[[int, int], None]:
    """A ``report(done, total)`` for a model that counts its own steps (blocks, chunks): each
    call becomes a :class:`Progress` with the time since this was made."""
    started = time.monotonic()

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(Progress(done, total, time.monotonic() - started))

    return report
