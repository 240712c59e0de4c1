"""Run a recipe: the first model on the mix, then the second on one of its stems (or on the mix
minus it), in one session with one progress bar (each step's share by its relative speed).

The first step's stems are final once it is done: while the second runs, each final piece it
hands over (``on_ready``) is passed on with the first step's stems beside it, so the listener
hears every stem before the job ends (when the second model runs at the recipe's rate and gives
pieces at all; otherwise everything comes at the end, as for any session that gives none).
A step at another sample rate gets its input resampled to its rate and its stems back (soxr).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from demixer.engine import audio
from demixer.engine.ensemble.session import Member, options_for
from demixer.engine.model_files import models_dir
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.progress import CancelFn, Progress, ProgressFn, ReadyFn
from demixer.engine.recipe import manifest
from demixer.engine.registry import ModelSpec, get_spec

STEPS = 1000  # progress is reported in thousandths of the whole recipe


class RecipeSession:
    """A recipe of two installed models (see the module's docstring)."""

    def __init__(self, config: SessionConfig, load: Callable[[SessionConfig], Member]) -> None:
        """``load``: the sessions' factory (:func:`demixer.engine.sessions.load_model`), which
        lists this class, so it is handed in rather than imported."""
        self.config = config
        self.spec: ModelSpec = get_spec(config.model)
        self.recipe = manifest.read(models_dir(), self.spec.name)
        self.first = load(dataclasses.replace(config, model=self.recipe.first, quality="default"))
        self.then = load(dataclasses.replace(config, model=self.recipe.then, quality="default"))
        self.outputs = self.recipe.outputs(self.first.sources, self.then.sources)

    @property
    def sources(self) -> tuple[str, ...]:
        return self.spec.sources

    @property
    def samplerate(self) -> int:
        return self.spec.samplerate

    def warm_up(self) -> None:
        self.first.warm_up()
        self.then.warm_up()

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
        """float32 (2, N) -> float32 (S, 2, N) in :attr:`sources` order."""
        options.validate()
        length = mix.shape[-1]
        if out is None:
            out = np.zeros((len(self.outputs), 2, length), dtype=np.float32)
        speeds = (self.first.spec.speed, self.then.spec.speed)
        started = time.monotonic()
        step = 0

        def report(part: Progress) -> None:
            if progress is not None:
                share = (sum(speeds[:step]) + part.fraction * speeds[step]) / sum(speeds)
                progress(Progress(round(STEPS * share), STEPS, time.monotonic() - started))

        first = self._run(self.first, mix, options, report, cancel, None)
        stem = first[self.first.sources.index(self.recipe.on)]
        given = mix - stem if self.recipe.complement else stem
        for row, output in enumerate(self.outputs):
            if output.step == 1:
                out[row] = first[self.first.sources.index(output.source)]
        del first, stem
        second_rows = [
            (row, self.then.sources.index(o.source))
            for row, o in enumerate(self.outputs)
            if o.step == 2
        ]

        def ready(start: int, end: int, block: np.ndarray) -> None:
            if on_ready is None:
                return
            piece = out[:, :, start:end].copy()
            for row, index in second_rows:
                piece[row] = block[index]
            on_ready(start, end, piece)

        step = 1
        second = self._run(self.then, given, options, report, cancel, ready)
        for row, index in second_rows:
            out[row] = second[index]
        if progress is not None:
            progress(Progress(STEPS, STEPS, time.monotonic() - started))
        return out

    def _run(
        self,
        member: Member,
        mix: np.ndarray,
        options: SeparationOptions,
        report: ProgressFn,
        cancel: CancelFn | None,
        ready: ReadyFn | None,
    ) -> np.ndarray:
        """One step's stems, float32 (S_m, 2, N) at the recipe's rate."""
        rate = member.samplerate
        own = options_for(member.spec.name, options)
        if rate == self.samplerate:
            return member.separate(mix, own, progress=report, cancel=cancel, on_ready=ready)
        resampled = audio.resample(mix, self.samplerate, rate)
        stems = member.separate(resampled, own, progress=report, cancel=cancel)
        back = np.stack([audio.resample(s, rate, self.samplerate) for s in stems])
        length = mix.shape[-1]
        fitted = np.zeros((back.shape[0], 2, length), dtype=np.float32)
        fitted[..., : min(length, back.shape[-1])] = back[..., :length]
        return fitted
