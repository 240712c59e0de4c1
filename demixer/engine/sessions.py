"""One session interface for every architecture (:class:`Session`, from
:mod:`demixer.engine.session_base`), and the factory that picks the class.

A job names a model (:data:`demixer.engine.registry.MODELS`); its entry names an architecture,
and :data:`ARCHITECTURES` maps that to the class that runs it. Adding an architecture is adding
a row there and an entry in the registry. Every session separates a whole (2, N) track with
progress and cancel callbacks, so :func:`demixer.engine.separate.separate_file`, the CLI and the
worker never ask which architecture they hold.

Models are created once per process and configuration (see :func:`load_model`): an htdemucs
session holds ~0.9 GB (fp32) or ~0.75 GB (int8) once warm, a Spleeter one ~0.5 GB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from demixer.engine.ensemble.session import EnsembleSession
from demixer.engine.mdx.session import MdxSession
from demixer.engine.msst.session import MsstSession
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.recipe.session import RecipeSession
from demixer.engine.registry import get_spec
from demixer.engine.roformer.session import RoformerSession
from demixer.engine.session_base import Call, ModelSession
from demixer.engine.session_base import Session as Session

if TYPE_CHECKING:
    from demixer.engine.htdemucs.model import SegmentModel
    from demixer.engine.spleeter.model import SpleeterModel


class HTDemucsSession(Session):
    """htdemucs: one :class:`SegmentModel` driven by the chunked overlap-add of ``separate``."""

    def __init__(self, config: SessionConfig, model: SegmentModel | None = None) -> None:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.htdemucs.model import shared_model

        self.model = model or shared_model(config)
        self.config = self.model.config
        self.spec = get_spec(self.config.model)

    def warm_up(self) -> None:
        self.model.warm_up(runs=2)  # the second run is still slower than the steady state

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        from demixer.engine.htdemucs.apply import separate_array  # onnxruntime: on first use

        return separate_array(
            mix,
            options,
            model=self.model,
            progress=call.progress,
            cancel=call.cancel,
            out=call.out,
            on_ready=call.on_ready,
        )


class BagSession(HTDemucsSession):
    """A bag of imported htdemucs graphs (htdemucs_ft): one
    :class:`~demixer.engine.htdemucs.bag.BagModel` that runs every model per segment and
    combines them with the bag's weights, driven by the same chunked overlap-add as htdemucs."""

    def __init__(self, config: SessionConfig, model: SegmentModel | None = None) -> None:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.htdemucs.bag import shared_bag

        super().__init__(config, model or shared_bag(config))

    def warm_up(self) -> None:
        self.model.warm_up(runs=1)  # each run is already one run per model of the bag


class SpleeterSession(ModelSession["SpleeterModel"]):
    """Spleeter: the whole track block by block (:class:`SpleeterModel`); no overlap, no shifts."""

    def _shared(self) -> SpleeterModel:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.spleeter.model import shared_spleeter

        return shared_spleeter(self.config, self.spec.bandwidth)

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        return self.model.separate(
            mix, progress=call.counting(), cancel=call.cancel, out=call.out, on_ready=call.on_ready
        )


ARCHITECTURES: dict[str, Callable[[SessionConfig], Session]] = {
    "htdemucs": HTDemucsSession,
    "htdemucs-bag": BagSession,
    "spleeter": SpleeterSession,
    "mdx": MdxSession,
    "ensemble": lambda config: EnsembleSession(config, load_model),
    "bs_roformer": RoformerSession,
    "mel_band_roformer": RoformerSession,
    "mdx23c": MsstSession,
    "scnet": MsstSession,
    "recipe": lambda config: RecipeSession(config, load_model),
}


def load_model(what: SessionConfig | SeparationOptions | None = None) -> Session:
    """The session for a configuration (or a job's options), around the process-wide model that
    its architecture's module creates on first use and keeps (the wrapper itself costs nothing).

    Raises :class:`~demixer.engine.errors.ModelNotAvailable` for an unknown model or missing
    weights, with the command that fetches them.
    """
    if isinstance(what, SeparationOptions):
        what.validate()
        config = what.session_config()
    else:
        config = what or SessionConfig()
    return ARCHITECTURES[get_spec(config.model).architecture](config)


def as_session(model: Session | SegmentModel) -> Session:
    """A session for ``model``: a bare htdemucs :class:`SegmentModel` (as older callers and
    tests pass) is wrapped, anything else is already one."""
    # onnxruntime: loaded when a session of this architecture is first made
    from demixer.engine.htdemucs.model import SegmentModel

    if isinstance(model, SegmentModel):
        return HTDemucsSession(model.config, model)
    return model
