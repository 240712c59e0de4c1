"""Run an ensemble: each member's session on the whole track, one after another, then per stem
the weighted average of the members that give that stem (audio-separator's ``avg_wave``).

A stem only some members give (Spleeter's accompaniment beside htdemucs' drums) is the average
of those members alone, with their weights renormalised among them: the ensemble's stems are the
union of its members'. A member that runs at another sample rate gets the mix resampled to its
rate and its stems resampled back (soxr, as the engine's decode). Progress runs across all the
members, each member's share by its relative speed.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from demixer.engine import audio, buffers
from demixer.engine.ensemble import manifest
from demixer.engine.model_files import models_dir
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.progress import CancelFn, Progress, ProgressFn, ReadyFn
from demixer.engine.registry import ModelSpec, get_spec


class Member(Protocol):
    """What this module uses of a member's session (:class:`demixer.engine.sessions.Session`)."""

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
        on_ready: ReadyFn | None = None,
    ) -> np.ndarray: ...


STEPS = 1000  # progress is reported in thousandths of the whole ensemble


class EnsembleSession:
    """An ensemble of installed models (see the module's docstring)."""

    def __init__(self, config: SessionConfig, load: Callable[[SessionConfig], Member]) -> None:
        """``load``: the sessions' factory (:func:`demixer.engine.sessions.load_model`), which
        lists this class, so it is handed in rather than imported."""
        self.config = config
        self.spec: ModelSpec = get_spec(config.model)
        self.ensemble = manifest.read(models_dir(), self.spec.name)
        self.members: list[Member] = [
            load(dataclasses.replace(config, model=name, quality="default"))
            for name in self.ensemble.members
        ]

    @property
    def sources(self) -> tuple[str, ...]:
        return self.spec.sources

    @property
    def samplerate(self) -> int:
        return self.spec.samplerate

    def warm_up(self) -> None:
        for member in self.members:
            member.warm_up()

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
        """float32 (2, N) -> float32 (S, 2, N) in :attr:`sources` order; ``on_ready`` is not
        used (no piece is final before the last member is done)."""
        options.validate()
        length = mix.shape[-1]
        if out is None:
            out = np.zeros((len(self.sources), 2, length), dtype=np.float32)
        totals = np.zeros(len(self.sources))
        speeds = [member.spec.speed for member in self.members]
        started = time.monotonic()
        done_before = 0.0

        def report(part: Progress) -> None:
            if progress is not None:
                share = (done_before + part.fraction * speeds[index]) / sum(speeds)
                progress(Progress(round(STEPS * share), STEPS, time.monotonic() - started))

        for index, (member, weight) in enumerate(
            zip(self.members, self.ensemble.weights, strict=True)
        ):
            stems = self._run(member, mix, options, report, cancel)
            for name, stem in zip(member.sources, stems, strict=True):
                row = self.sources.index(name)
                out[row] += np.float32(weight) * stem
                totals[row] += weight
            del stems
            done_before += speeds[index]
        for row, total in enumerate(totals):
            out[row] /= np.float32(total)
            buffers.release(out[row], 0, length)
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
    ) -> np.ndarray:
        """One member's stems, float32 (S_m, 2, N) at the ensemble's rate."""
        rate = member.samplerate
        own = options_for(member.spec.name, options)
        if rate == self.samplerate:
            return member.separate(mix, own, progress=report, cancel=cancel)
        resampled = audio.resample(mix, self.samplerate, rate)
        stems = member.separate(resampled, own, progress=report, cancel=cancel)
        back = np.stack([audio.resample(s, rate, self.samplerate) for s in stems])
        length = mix.shape[-1]
        fitted = np.zeros((back.shape[0], 2, length), dtype=np.float32)
        fitted[..., : min(length, back.shape[-1])] = back[..., :length]
        return fitted


def options_for(member: str, options: SeparationOptions) -> SeparationOptions:
    """A member's options: the job's device and threads, each model's own defaults otherwise."""
    return SeparationOptions(model=member, device=options.device, threads=options.threads)
