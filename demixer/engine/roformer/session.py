"""The engine's session for an imported BS-RoFormer / Mel-Band RoFormer: MSST's whole-song
chunking with its own overlap and fades (:mod:`demixer.engine.roformer.track`); no --overlap,
no shifts. MDX23C and SCNet run the same way (:mod:`demixer.engine.msst.session`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from demixer.engine.options import SeparationOptions
from demixer.engine.roformer.track import separate
from demixer.engine.session_base import Call, ModelSession

if TYPE_CHECKING:
    from demixer.engine.msst.model import SpectralModel
    from demixer.engine.roformer.model import RoformerModel


class RoformerSession(ModelSession["RoformerModel | SpectralModel"]):
    """A model that MSST's ``demix`` drives chunk by chunk (see the module's docstring)."""

    def _shared(self) -> RoformerModel | SpectralModel:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.roformer.model import shared_roformer

        return shared_roformer(self.config)

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        # on_ready is not used: a sample is final once every chunk over it is summed, and
        # separate_file hands the whole track over at the end
        return separate(self.model, mix, progress=call.counting(), cancel=call.cancel, out=call.out)
