"""What a separation is asked to do: the options that change the stems and how to run them.

Imports nothing heavy (no numpy, onnxruntime or PyAV), so the web app can name a job's options
without loading the engine; :mod:`demixer.engine.separate` and :mod:`demixer.engine.htdemucs.model`
use these same types.
"""

from __future__ import annotations

from dataclasses import dataclass

from demixer.engine.errors import EngineError
from demixer.engine.registry import DEFAULT_MODEL, QUALITIES, get_spec

DEFAULT_OVERLAP = 0.25


@dataclass(frozen=True)
class SessionConfig:
    """How to build the session. ``threads=0`` lets onnxruntime pick (one per physical core)."""

    model: str = DEFAULT_MODEL
    quality: str = "default"  # "default" (fp32) or "fast" (int8 MatMul weights)
    device: str = "cpu"  # "cpu" or "cuda"
    threads: int = 0


@dataclass(frozen=True)
class SeparationOptions:
    """Everything that changes the stems (and so belongs in a cache key), plus how to run."""

    model: str = DEFAULT_MODEL
    quality: str = "default"
    overlap: float = DEFAULT_OVERLAP
    shifts: int = 0
    seed: int = 0
    two_stems: str | None = None
    device: str = "cpu"
    threads: int = 0
    # the separated audio lives on disk and leaves memory as it is finished; the session is the
    # same (turning onnxruntime's arena off saved nothing over arena shrinkage and cost time)
    low_memory: bool = False

    def session_config(self) -> SessionConfig:
        return SessionConfig(
            model=self.model,
            quality=self.quality,
            device=self.device,
            threads=self.threads,
        )

    def validate(self) -> None:
        spec = get_spec(self.model)
        sources = spec.sources
        if self.quality not in QUALITIES:
            raise EngineError(f"quality must be one of {', '.join(QUALITIES)}")
        if self.quality not in spec.qualities:
            raise EngineError(
                f"{spec.name} has no {self.quality} quality (only {', '.join(spec.qualities)})"
            )
        if not 0.0 <= self.overlap < 1.0:
            raise EngineError("overlap must be between 0 and 1 (e.g. 0.25)")
        if self.shifts < 0 or self.shifts > 20:
            raise EngineError("shifts must be between 0 and 20")
        if not spec.tunable and (self.overlap != DEFAULT_OVERLAP or self.shifts != 0):
            raise EngineError(
                f"--overlap and --shifts apply to htdemucs only; {spec.name} separates each "
                "part of the track once"
            )
        if self.two_stems is not None and self.two_stems not in sources:
            raise EngineError(
                f"--two-stems must be one of {', '.join(sources)} (got {self.two_stems!r})"
            )
