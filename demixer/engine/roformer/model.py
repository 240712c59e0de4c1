"""An imported RoFormer in onnxruntime: one chunk's waveform in, its stems out, with the
reference's STFT and iSTFT on the host (:mod:`demixer.engine.roformer.dsp`)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from demixer.engine.errors import ModelNotAvailable
from demixer.engine.options import SessionConfig
from demixer.engine.process_wide import ProcessWide
from demixer.engine.registry import ModelSpec, get_spec, member_paths
from demixer.engine.roformer.dsp import Stft, apply_masks, network_input
from demixer.engine.roformer.settings import RoformerSettings


def _providers(device: str) -> list[str]:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ModelNotAvailable(
        f"device {device!r} is not available here ({', '.join(ort.get_available_providers())})"
    )


class RoformerModel:
    """Chunk float32 (2, chunk) -> float32 (n, 2, istft_length): the network's own outputs
    (one for a ``target_instrument`` model)."""

    def __init__(
        self, config: SessionConfig, *, spec: ModelSpec | None = None, path: Path | None = None
    ) -> None:
        self.config = config
        self.spec = spec or get_spec(config.model)
        self.settings = RoformerSettings.of(self.spec.settings)
        self.stft = Stft(
            self.settings.n_fft,
            self.settings.hop_length,
            self.settings.win_length,
            self.settings.normalized,
        )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # onnxruntime's memory-reuse planner keeps this graph's intermediates in one arena for
        # the whole run; without it buffers are freed as they die: a fraction of the memory,
        # and no slower (docs/performance.md, "Every architecture at its flagship size")
        options.enable_mem_reuse = False
        self.session = ort.InferenceSession(
            str(path or member_paths(self.spec)[0]),
            sess_options=options,
            providers=_providers(config.device),
        )
        self.exclusive = threading.RLock()  # one separation at a time per session

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        z = self.stft.stft(chunk)  # (C, T, F)
        (masks,) = self.session.run(["masks"], {"spectrogram": network_input(z)})
        masked = apply_masks(z, masks, self.settings.zero_dc)
        return self.stft.istft(masked, self.settings.istft_length)

    def warm_up(self, runs: int = 1) -> None:
        silence = np.zeros((self.spec.channels, self.settings.chunk_size), dtype=np.float32)
        for _ in range(runs):
            self(silence)


shared_roformer = ProcessWide(RoformerModel)
