"""A slow stand-in engine for the browser tests' own server: separation slower than real time.

A browser test that needs the worker to separate slowly (listening while it separates under the
buffering rule; cancelling a running job) starts its server with this folder first on
PYTHONPATH: Python imports ``sitecustomize`` in every process, and this one, once
``demixer.separation.tasks`` is imported, gives the worker :class:`SlowStandIn` sessions, which
take ``DEMIXER_E2E_PIECE_DELAY_S`` seconds per piece (the stand-in's stems are the mix's
frequency bands, demixer.testing.stand_in). Nothing in demixer imports this; without the folder on
the path nothing changes.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import time
from types import ModuleType
from typing import Any

TARGET = "demixer.separation.tasks"


def _patch(tasks: ModuleType) -> None:
    from demixer.testing.stand_in import StandInSession

    delay = float(os.environ.get("DEMIXER_E2E_PIECE_DELAY_S", "0"))

    class SlowStandIn(StandInSession):
        def separate(self, mix: Any, options: Any, **kwargs: Any) -> Any:
            cancel = kwargs.get("cancel")

            def slowly() -> bool:  # asked before each piece, as the real sessions do
                time.sleep(delay)
                return bool(cancel and cancel())

            kwargs["cancel"] = slowly
            return super().separate(mix, options, **kwargs)

    sessions: dict[tuple[str, str], SlowStandIn] = {}

    def worker_model(model: str | None = None, quality: str = "default") -> SlowStandIn:
        model = model or tasks.DEFAULT_MODEL
        if (model, quality) not in sessions:
            sessions[model, quality] = SlowStandIn(tasks._session_config(quality, model))
        return sessions[model, quality]

    tasks.worker_model = worker_model


class _AfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get("DEMIXER_E2E_PIECE_DELAY_S"):
    sys.meta_path.insert(0, _AfterImport())
