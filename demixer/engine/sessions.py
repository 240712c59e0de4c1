"""One session interface for every architecture, and the factory that picks the class.

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
from typing import TYPE_CHECKING, Protocol

import numpy as np

from demixer.engine.ensemble.session import EnsembleSession
from demixer.engine.mdx.session import MdxSession
from demixer.engine.msst.session import MsstSession
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.progress import counting
from demixer.engine.recipe.session import RecipeSession
from demixer.engine.registry import ModelSpec, get_spec

if TYPE_CHECKING:
    from demixer.engine.htdemucs.model import SegmentModel
    from demixer.engine.progress import CancelFn, ProgressFn, ReadyFn
    from demixer.engine.roformer.model import RoformerModel
    from demixer.engine.spleeter.model import SpleeterModel


class Session(Protocol):
    """What every architecture's session offers the callers."""

    config: SessionConfig
    spec: ModelSpec

    @property
    def sources(self) -> tuple[str, ...]: ...

    @property
    def samplerate(self) -> int: ...

    def warm_up(self) -> None: ...

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
        ...


class _FromSpec:
    """What every adapter reads off its registry entry."""

    spec: ModelSpec

    @property
    def sources(self) -> tuple[str, ...]:
        return self.spec.sources

    @property
    def samplerate(self) -> int:
        return self.spec.samplerate


class HTDemucsSession(_FromSpec):
    """htdemucs: one :class:`SegmentModel` driven by the chunked overlap-add of ``separate``."""

    def __init__(self, config: SessionConfig, model: SegmentModel | None = None) -> None:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.htdemucs.model import shared_model

        self.model = model or shared_model(config)
        self.config = self.model.config
        self.spec = get_spec(self.config.model)

    def warm_up(self) -> None:
        self.model.warm_up(runs=2)  # the second run is still slower than the steady state

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
        from demixer.engine.htdemucs.apply import separate_array  # onnxruntime: on first use

        return separate_array(
            mix,
            options,
            model=self.model,
            progress=progress,
            cancel=cancel,
            out=out,
            on_ready=on_ready,
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


class SpleeterSession(_FromSpec):
    """Spleeter: the whole track block by block (:class:`SpleeterModel`); no overlap, no shifts."""

    def __init__(self, config: SessionConfig, model: SpleeterModel | None = None) -> None:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.spleeter.model import shared_spleeter

        self.config = config
        self.spec = get_spec(config.model)
        self.model = model or shared_spleeter(config, self.spec.bandwidth)

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


class RoformerSession(_FromSpec):
    """An imported BS-RoFormer / Mel-Band RoFormer: MSST's whole-song chunking with its own
    overlap and fades (:mod:`demixer.engine.roformer`); no --overlap, no shifts."""

    def __init__(self, config: SessionConfig, model: RoformerModel | None = None) -> None:
        # onnxruntime: loaded when a session of this architecture is first made
        from demixer.engine.roformer.model import shared_roformer

        self.config = config
        self.spec = get_spec(config.model)
        self.model = model or shared_roformer(config)

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
