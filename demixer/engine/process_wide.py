"""One model instance per session configuration in this process, made on first use.

Creating an onnxruntime session (and warming it) costs seconds and hundreds of MB, and a session
is safe to share between threads, so every architecture keeps its models here rather than
making one per job."""

from __future__ import annotations

import threading
from collections.abc import Callable

from demixer.engine.options import SessionConfig


class ProcessWide[M]:
    """A cache of ``make(config)`` keyed by the configuration; thread-safe."""

    def __init__(self, make: Callable[[SessionConfig], M]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self.instances: dict[SessionConfig, M] = {}

    def __call__(self, config: SessionConfig) -> M:
        """The process-wide instance for ``config``, created on first use."""
        with self._lock:
            if config not in self.instances:
                self.instances[config] = self._make(config)
            return self.instances[config]
