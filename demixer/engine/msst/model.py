"""An imported MDX23C / SCNet in onnxruntime: one chunk's waveform in, its stems out, with the
reference's STFT and iSTFT on the host (:class:`demixer.engine.roformer.dsp.Stft`)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from demixer.engine.msst.settings import SpectralSettings
from demixer.engine.options import SessionConfig
from demixer.engine.process_wide import ProcessWide
from demixer.engine.registry import ModelSpec, get_spec, member_paths
from demixer.engine.roformer.dsp import Stft
from demixer.engine.roformer.model import _providers


def network_input(z: np.ndarray, dim_f: int) -> np.ndarray:
    """complex64 (C, T, F) -> float32 (1, C*2, dim_f, T): per channel its real then imaginary
    part, the first ``dim_f`` bins (the reference's ``view_as_real`` layout)."""
    channels, frames, _ = z.shape
    parts = np.stack([z.real, z.imag], axis=1)[..., :dim_f]  # (C, 2, T, dim_f)
    return np.ascontiguousarray(parts.transpose(0, 1, 3, 2)).reshape(1, channels * 2, dim_f, frames)


def spectra(y: np.ndarray, freqs: int) -> np.ndarray:
    """The graph's float32 (1, n, C*2, dim_f, T) -> complex64 (n, C, T, freqs), the bins above
    ``dim_f`` zero (as the reference pads them before its iSTFT)."""
    _, n, c2, dim_f, frames = y.shape
    parts = y[0].reshape(n, c2 // 2, 2, dim_f, frames)
    z = np.zeros((n, c2 // 2, frames, freqs), dtype=np.complex64)
    z[..., :dim_f].real = parts[:, :, 0].transpose(0, 1, 3, 2)
    z[..., :dim_f].imag = parts[:, :, 1].transpose(0, 1, 3, 2)
    return z


class SpectralModel:
    """Chunk float32 (2, chunk) -> float32 (n, 2, chunk): the network's own outputs (one for a
    ``target_instrument`` model)."""

    def __init__(
        self, config: SessionConfig, *, spec: ModelSpec | None = None, path: Path | None = None
    ) -> None:
        self.config = config
        self.spec = spec or get_spec(config.model)
        self.settings = s = SpectralSettings.of(self.spec.settings)
        self.stft = Stft(s.n_fft, s.hop_length, s.win_length, s.normalized, s.rectangular)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(path or member_paths(self.spec)[0]),
            sess_options=options,
            providers=_providers(config.device),
        )
        self.exclusive = threading.RLock()  # one separation at a time per session

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        s = self.settings
        length = chunk.shape[-1]
        if s.padding:
            chunk = np.pad(chunk, [(0, 0), (0, s.padding)])
        z = self.stft.stft(chunk)  # (C, T, F)
        (y,) = self.session.run(["spectrum"], {"spectrogram": network_input(z, s.dim_f)})
        padded = length + s.padding
        frames = self.stft.frames(padded)
        # the reference's iSTFT has no length: hop * (frames - 1) samples, the padded chunk's
        out = self.stft.istft(spectra(y, z.shape[-1]), s.hop_length * (frames - 1))
        return out[..., :length]

    def warm_up(self, runs: int = 1) -> None:
        silence = np.zeros((self.spec.channels, self.settings.chunk_size), dtype=np.float32)
        for _ in range(runs):
            self(silence)


shared_spectral = ProcessWide(SpectralModel)
