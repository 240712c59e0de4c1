"""The engine's session for an imported MDX23C / SCNet: MSST's whole-song chunking with its own
overlap and fades, as for the RoFormers (:class:`~demixer.engine.roformer.session.RoformerSession`);
no --overlap, no shifts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from demixer.engine.roformer.session import RoformerSession

if TYPE_CHECKING:
    from demixer.engine.msst.model import SpectralModel


class MsstSession(RoformerSession):
    def _shared(self) -> SpectralModel:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.msst.model import shared_spectral

        return shared_spectral(self.config)
