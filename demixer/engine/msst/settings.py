"""What an imported MDX23C / SCNet's host code needs from its config (recorded in its manifest).

Light (no numpy, no onnxruntime): the registry builds these for every process, web included.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from demixer.engine.roformer.settings import manifest_fields

ARCHITECTURES = ("mdx23c", "scnet")
TITLES = {"mdx23c": "MDX23C", "scnet": "SCNet"}


@dataclass(frozen=True)
class SpectralSettings:
    outputs: int  # what the network gives (1 with target_instrument; the other stem is mix - it)
    chunk_size: int  # audio.chunk_size
    num_overlap: int  # inference.num_overlap
    batch_size: int  # inference.batch_size: the reference's fades depend on it
    n_fft: int
    hop_length: int
    win_length: int
    normalized: bool  # torch.stft(normalized=True): scaled by n_fft ** -0.5 (SCNet)
    rectangular: bool  # torch.stft without a window (SCNet): ones over win_length, not Hann
    dim_f: int  # the bins the network sees (MDX23C: audio.dim_f; the rest are zero on the way back)
    padding: int  # zeros appended to each chunk before the STFT (SCNet), cut off after the iSTFT
    # inference.normalize: the mix scaled to zero mean and unit deviation before the network,
    # each stem scaled back after (MSST's inference)
    normalize: bool = False

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SpectralSettings:
        """From a manifest's ``msst`` mapping (``KeyError``/``ValueError`` if bad)."""
        settings = cls(**manifest_fields(cls, data))
        if min(settings.chunk_size, settings.num_overlap, settings.batch_size) < 1:
            raise ValueError("chunk size, overlap and batch size must be positive")
        if not 0 < settings.dim_f <= settings.n_fft // 2 + 1 or settings.padding < 0:
            raise ValueError("dim_f or padding out of range")
        return settings

    def items(self) -> tuple[tuple[str, Any], ...]:
        return tuple((f.name, getattr(self, f.name)) for f in fields(self))

    @classmethod
    def of(cls, items: tuple[tuple[str, Any], ...]) -> SpectralSettings:
        """From a registry entry's ``settings`` (what :meth:`items` gave)."""
        return cls(**dict(items))
