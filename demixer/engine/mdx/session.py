"""The engine's session for an imported MDX-Net model (see :mod:`demixer.engine.sessions`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from demixer.engine.mdx import manifest
from demixer.engine.model_files import models_dir
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.progress import CancelFn, ProgressFn, ReadyFn, counting
from demixer.engine.registry import ModelSpec, get_spec, member_paths

if TYPE_CHECKING:
    from demixer.engine.mdx.model import MdxModel

_shared: dict[SessionConfig, MdxModel] = {}
_lock = threading.Lock()


def shared_mdx(config: SessionConfig) -> MdxModel:
    """The process-wide model for ``config``, created on first use (its graph checked against
    the SHA-256 its import recorded)."""
    from demixer.engine.mdx.model import MdxModel  # onnxruntime: not in web processes

    with _lock:
        if config not in _shared:
            spec = get_spec(config.model)
            (path,) = member_paths(spec)
            params = manifest.read(models_dir(), spec.name).params
            _shared[config] = MdxModel(path, params, config)
        return _shared[config]


class MdxSession:
    """An MDX-Net model: the primary stem and its complement, chunk by chunk."""

    def __init__(self, config: SessionConfig, model: MdxModel | None = None) -> None:
        self.config = config
        self.spec: ModelSpec = get_spec(config.model)
        self.model = model or shared_mdx(config)

    @property
    def sources(self) -> tuple[str, ...]:
        return self.spec.sources

    @property
    def samplerate(self) -> int:
        return self.spec.samplerate

    def warm_up(self) -> None:
        self.model.warm_up(runs=1)

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
        options.validate()
        report = counting(progress)
        return self.model.separate(mix, progress=report, cancel=cancel, out=out, on_ready=on_ready)
