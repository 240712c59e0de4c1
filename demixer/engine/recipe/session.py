"""Run a recipe: the first model on the mix, then the second on one of its stems (or on the mix
minus it), in one session with one progress bar (each step's share by its relative speed).

The first step's stems are final once it is done: while the second runs, each final piece it
hands over (``on_ready``) is passed on with the first step's stems beside it, so the listener
hears every stem before the job ends (when the second model runs at the recipe's rate and gives
pieces at all; otherwise everything comes at the end, as for any session that gives none).
A step at another sample rate gets its input resampled to its rate and its stems back (soxr).
"""

from __future__ import annotations

import numpy as np

from demixer.engine.composite import Composite, Load, Shares, run_member
from demixer.engine.model_files import models_dir
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.recipe import manifest
from demixer.engine.registry import get_spec
from demixer.engine.session_base import Call


class RecipeSession(Composite):
    """A recipe of two installed models (see the module's docstring)."""

    def __init__(self, config: SessionConfig, load: Load) -> None:
        self.recipe = manifest.read(models_dir(), get_spec(config.model).name)
        super().__init__(config, load, (self.recipe.first, self.recipe.then))
        self.first, self.then = self.members
        self.outputs = self.recipe.outputs(self.first.sources, self.then.sources)

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        """float32 (2, N) -> float32 (S, 2, N) in :attr:`sources` order."""
        on_ready = call.on_ready
        length = mix.shape[-1]
        out = np.zeros((len(self.outputs), 2, length), np.float32) if call.out is None else call.out
        shares = Shares(call.progress, self.members)
        first = run_member(self.first, mix, self.samplerate, options, shares.report, call.cancel)
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

        shares.step = 1
        second = run_member(
            self.then, given, self.samplerate, options, shares.report, call.cancel, ready
        )
        for row, index in second_rows:
            out[row] = second[index]
        shares.finish()
        return out
