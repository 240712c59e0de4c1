"""What an imported MDX23C / SCNet's host code needs from its config (recorded in its manifest).

Light (no numpy, no onnxruntime): the registry builds these for every process, web included.
"""

from __future__ import annotations

from dataclasses import dataclass

from demixer.engine.roformer.settings import ChunkedSettings

ARCHITECTURES = ("mdx23c", "scnet")
TITLES = {"mdx23c": "MDX23C", "scnet": "SCNet"}


@dataclass(frozen=True)
class SpectralSettings(ChunkedSettings):
    rectangular: bool  # torch.stft without a window (SCNet): ones over win_length, not Hann
    dim_f: int  # the bins the network sees (MDX23C: audio.dim_f; the rest are zero on the way back)
    padding: int  # zeros appended to each chunk before the STFT (SCNet), cut off after the iSTFT
    # inference.normalize: the mix scaled to zero mean and unit deviation before the network,
    # each stem scaled back after (MSST's inference)
    normalize: bool = False

    def check(self) -> None:
        if not 0 < self.dim_f <= self.n_fft // 2 + 1 or self.padding < 0:
            raise ValueError("dim_f or padding out of range")
