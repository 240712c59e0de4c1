"""What an imported RoFormer's host code needs from its config (recorded in its manifest).

Light (no numpy, no onnxruntime): the registry builds these for every process, web included.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any, Self

ARCHITECTURES = ("bs_roformer", "mel_band_roformer")


def manifest_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """A settings dataclass's fields from a manifest mapping: booleans and integers, every field
    without a default required (``KeyError``), later keys with defaults optional (older
    manifests lack them)."""
    return {
        f.name: bool(data[f.name]) if f.type == "bool" else int(data[f.name])
        for f in fields(cls)
        if f.name in data or f.default is MISSING
    }


@dataclass(frozen=True)
class ChunkedSettings:
    """What the settings of every model MSST's ``demix`` drives share (RoFormers here, MDX23C
    and SCNet in :mod:`demixer.engine.msst.settings`): MSST's chunking, the STFT's size, reading
    a manifest, the registry's items. Each architecture's fields follow these."""

    outputs: int  # what the network gives (1 with target_instrument; the other stem is mix - it)
    chunk_size: int  # audio.chunk_size
    num_overlap: int  # inference.num_overlap
    batch_size: int  # inference.batch_size: the reference's fades depend on it
    n_fft: int
    hop_length: int
    win_length: int
    normalized: bool  # torch.stft(normalized=True): scaled by n_fft ** -0.5

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Self:
        """From a manifest's mapping (``KeyError``/``ValueError`` if bad)."""
        settings = cls(**manifest_fields(cls, data))
        if min(settings.chunk_size, settings.num_overlap, settings.batch_size) < 1:
            raise ValueError("chunk size, overlap and batch size must be positive")
        settings.check()
        return settings

    def check(self) -> None:
        """A subclass's own range checks (``ValueError``)."""

    def items(self) -> tuple[tuple[str, Any], ...]:
        return tuple((f.name, getattr(self, f.name)) for f in fields(self))

    @classmethod
    def of(cls, items: tuple[tuple[str, Any], ...]) -> Self:
        """From a registry entry's ``settings`` (what :meth:`items` gave)."""
        return cls(**dict(items))


@dataclass(frozen=True)
class RoformerSettings(ChunkedSettings):
    zero_dc: bool
    istft_length: int  # chunk_size, or hop * (chunk // hop) where the iSTFT is not matched
    # inference.normalize: the mix scaled to zero mean and unit deviation before the network,
    # each stem scaled back after (MSST's inference)
    normalize: bool = False
