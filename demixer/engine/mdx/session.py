"""The engine's session for an imported MDX-Net model (see :mod:`demixer.engine.sessions`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from demixer.engine.mdx import manifest
from demixer.engine.model_files import models_dir
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.registry import get_spec, member_paths
from demixer.engine.session_base import Call, ModelSession

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


class MdxSession(ModelSession["MdxModel"]):
    """An MDX-Net model: the primary stem and its complement, chunk by chunk."""

    def _shared(self) -> MdxModel:
        return shared_mdx(self.config)

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        return self.model.separate(
            mix, progress=call.counting(), cancel=call.cancel, out=call.out, on_ready=call.on_ready
        )
