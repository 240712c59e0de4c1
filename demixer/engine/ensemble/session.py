"""Run an ensemble: each member's session on the whole track, one after another, then per stem
the weighted average of the members that give that stem (audio-separator's ``avg_wave``).

A stem only some members give (Spleeter's accompaniment beside htdemucs' drums) is the average
of those members alone, with their weights renormalised among them: the ensemble's stems are the
union of its members'. A member that runs at another sample rate gets the mix resampled to its
rate and its stems resampled back (soxr, as the engine's decode). Progress runs across all the
members, each member's share by its relative speed.
"""

from __future__ import annotations

import numpy as np

from demixer.engine import buffers
from demixer.engine.composite import Composite, Load, Shares, run_member
from demixer.engine.ensemble import manifest
from demixer.engine.model_files import models_dir
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.registry import get_spec
from demixer.engine.session_base import Call


class EnsembleSession(Composite):
    """An ensemble of installed models (see the module's docstring)."""

    def __init__(self, config: SessionConfig, load: Load) -> None:
        self.ensemble = manifest.read(models_dir(), get_spec(config.model).name)
        super().__init__(config, load, self.ensemble.members)

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        """float32 (2, N) -> float32 (S, 2, N) in :attr:`sources` order; ``on_ready`` is not
        used (no piece is final before the last member is done)."""
        length = mix.shape[-1]
        out = np.zeros((len(self.sources), 2, length), np.float32) if call.out is None else call.out
        totals = np.zeros(len(self.sources))
        shares = Shares(call.progress, self.members)
        for index, (member, weight) in enumerate(
            zip(self.members, self.ensemble.weights, strict=True)
        ):
            shares.step = index
            stems = run_member(member, mix, self.samplerate, options, shares.report, call.cancel)
            for name, stem in zip(member.sources, stems, strict=True):
                row = self.sources.index(name)
                out[row] += np.float32(weight) * stem
                totals[row] += weight
            del stems
        for row, total in enumerate(totals):
            out[row] /= np.float32(total)
            buffers.release(out[row], 0, length)
        shares.finish()
        return out
