"""The engine's session for an imported MDX23C / SCNet: MSST's whole-song chunking with its own
overlap and fades (:mod:`demixer.engine.roformer.track`, as for the RoFormers); no --overlap,
no shifts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.progress import counting
from demixer.engine.registry import get_spec

if TYPE_CHECKING:
    from demixer.engine.msst.model import SpectralModel
    from demixer.engine.progress import CancelFn, ProgressFn, ReadyFn


class MsstSession:
    def __init__(self, config: SessionConfig, model: SpectralModel | None = None) -> None:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.msst.model import shared_spectral

        self.config = config
        self.spec = get_spec(config.model)
        self.model = model or shared_spectral(config)

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
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.roformer.track import separate

        # on_ready is not used: a sample is final once every chunk over it is summed, and
        # separate_file hands the whole track over at the end
        options.validate()
        report = counting(progress)

        return separate(self.model, mix, progress=report, cancel=cancel, out=out)
