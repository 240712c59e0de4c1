"""What an ensemble and a recipe share: a session made of other installed models' sessions, each
run on the whole track at its own sample rate with the job's device and threads.

The sessions' factory (:func:`demixer.engine.sessions.load_model`) lists the composite classes,
so it is handed in (``load``) rather than imported.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from demixer.engine import audio
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.progress import CancelFn, Progress, ProgressFn, ReadyFn
from demixer.engine.registry import get_spec
from demixer.engine.session_base import Session

STEPS = 1000  # progress is reported in thousandths of the whole composite

Load = Callable[[SessionConfig], Session]


class Composite(Session):
    """A session whose model runs the models ``names`` (their default quality) in turn."""

    def __init__(self, config: SessionConfig, load: Load, names: tuple[str, ...]) -> None:
        self.config = config
        self.spec = get_spec(config.model)
        self.members = [
            load(dataclasses.replace(config, model=name, quality="default")) for name in names
        ]

    def warm_up(self) -> None:
        for member in self.members:
            member.warm_up()


class Shares:
    """One progress bar over the members run in turn (:attr:`step` is the one running), each
    member's share of it by its relative speed (the registry's ``speed``)."""

    def __init__(self, progress: ProgressFn | None, members: list[Session]) -> None:
        self.progress = progress
        self.speeds = [member.spec.speed for member in members]
        self.step = 0
        self.started = time.monotonic()

    def report(self, part: Progress) -> None:
        """A member's own progress, as a part of the whole."""
        done = sum(self.speeds[: self.step]) + part.fraction * self.speeds[self.step]
        self._tell(round(STEPS * done / sum(self.speeds)))

    def finish(self) -> None:
        self._tell(STEPS)

    def _tell(self, done: int) -> None:
        if self.progress is not None:
            self.progress(Progress(done, STEPS, time.monotonic() - self.started))


def run_member(
    member: Session,
    mix: np.ndarray,
    rate: int,
    options: SeparationOptions,
    report: ProgressFn,
    cancel: CancelFn | None,
    ready: ReadyFn | None = None,
) -> np.ndarray:
    """A member's stems for ``mix`` at ``rate``: float32 (2, N) -> float32 (S_m, 2, N). A member
    that runs at another rate gets the mix resampled to its own and its stems back (soxr); its
    final pieces (``ready``) are passed on only at the same rate."""
    own = options_for(member.spec.name, options)
    if member.samplerate == rate:
        return member.separate(mix, own, progress=report, cancel=cancel, on_ready=ready)
    resampled = audio.resample(mix, rate, member.samplerate)
    stems = member.separate(resampled, own, progress=report, cancel=cancel)
    back = np.stack([audio.resample(s, member.samplerate, rate) for s in stems])
    length = mix.shape[-1]
    fitted = np.zeros((back.shape[0], 2, length), dtype=np.float32)
    fitted[..., : min(length, back.shape[-1])] = back[..., :length]
    return fitted


def options_for(member: str, options: SeparationOptions) -> SeparationOptions:
    """A member's options: the job's device and threads, each model's own defaults otherwise."""
    return SeparationOptions(model=member, device=options.device, threads=options.threads)
