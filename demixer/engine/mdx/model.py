"""An MDX-Net graph on onnxruntime, driven chunk by chunk as audio-separator 0.47.1 drives it.

The reference (``MDXSeparator.separate`` and ``demix`` at its defaults: overlap 0.25, batch 1,
denoise off; segment size 256 unless the import says otherwise, whatever the graph's dim_t, see
:mod:`demixer.engine.mdx.graph`):

- the mix is scaled down to peak 0.9 when it peaks above that (``normalize``);
- it is padded with ``n_fft // 2`` zeros before and enough after, cut into chunks of
  ``hop * (segment_size - 1)`` samples every 75 % of that, each chunk zero-padded to full length
  at the end; each chunk's STFT has its lowest 3 bins zeroed, goes through the graph and back
  through the inverse STFT;
- each result is weighted by ``np.hanning`` of the chunk's length within the padded mix (shorter
  at the very end) and the sum divided by the sum of the weights;
- the primary stem is that times the input's peak (its peak before the scaling: for a mix that
  peaks below 0.9 the primary comes out scaled by the peak, as the reference's does), and the
  complementary stem is the scaled mix minus ``compensate`` times the primary.

Here the same sums are kept only for the chunk being added, and what no later chunk reaches is
written out (and handed to ``on_ready``) at once, so memory beyond the input and output stays at
one chunk whatever the song's length.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from demixer.engine import buffers
from demixer.engine.errors import Cancelled, EngineError, ModelNotAvailable
from demixer.engine.mdx import dsp, graph
from demixer.engine.mdx.params import MdxParams
from demixer.engine.options import SessionConfig

MAX_PEAK = 0.9  # audio-separator's normalization_threshold
OVERLAP = 0.25  # audio-separator's MDX overlap
CUT_BINS = 3  # the reference zeroes the STFT's lowest bins before the graph

ChunkProgress = Callable[[int, int], None]  # (chunks done, chunks in all)
ReadyFn = Callable[[int, int, np.ndarray], None]


def _providers(device: str) -> list[str]:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ModelNotAvailable(f"device {device!r} is not available to onnxruntime here")


class MdxModel:
    """One MDX-Net graph: mix float32 (2, N) at 44.1 kHz -> float32 (2, 2, N), the primary stem
    and its complement."""

    def __init__(self, path: Path, params: MdxParams, config: SessionConfig) -> None:
        self.params = params
        self.config = config
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
            graph.source(path, params), sess_options=options, providers=_providers(config.device)
        )
        self.input = self.session.get_inputs()[0].name
        self.exclusive = threading.Lock()

    @property
    def chunk(self) -> int:
        return self.params.hop * (self.params.segment_size - 1)

    def run_chunk(self, wave: np.ndarray) -> np.ndarray:
        """float32 (2, chunk) -> float32 (2, chunk): STFT, graph, inverse STFT."""
        p = self.params
        spec = dsp.stft(wave, p.n_fft, p.hop, p.dim_f)
        spec[:, :CUT_BINS] = 0
        (pred,) = self.session.run(None, {self.input: spec[None]})
        return dsp.istft(np.asarray(pred, dtype=np.float32)[0], p.n_fft, p.hop)

    def chunks(self, length: int) -> int:
        return len(range(0, self._padded_length(length), self._step()))

    def _step(self) -> int:
        return int((1 - OVERLAP) * self.chunk)

    def _padded_length(self, length: int) -> int:
        trim = self.params.n_fft // 2
        gen = self.chunk - 2 * trim
        return trim + length + gen + trim - length % gen

    def separate(
        self,
        mix: np.ndarray,
        *,
        progress: ChunkProgress | None = None,
        cancel: Callable[[], bool] | None = None,
        out: np.ndarray | None = None,
        on_ready: ReadyFn | None = None,
    ) -> np.ndarray:
        """See the module's docstring. ``out``: a zero-filled (2, 2, N) array to fill;
        ``on_ready(start, end, block)`` gets each final piece in order."""
        mix = np.ascontiguousarray(mix, dtype=np.float32)
        if mix.ndim != 2 or mix.shape[0] != 2:
            raise EngineError(f"expected a (2, samples) array, got {mix.shape}")
        length = mix.shape[-1]
        if out is None:
            out = np.zeros((2, 2, length), dtype=np.float32)
        if length == 0:
            return out
        peak = float(np.abs(mix).max())
        gain = MAX_PEAK / peak if peak > MAX_PEAK else 1.0
        trim, chunk, step = self.params.n_fft // 2, self.chunk, self._step()
        padded = self._padded_length(length)
        starts = range(0, padded, step)
        total = len(starts)
        result = np.zeros((2, chunk), dtype=np.float32)  # the sums from ``base`` on
        divider = np.zeros(chunk, dtype=np.float32)

        def scaled(a: int, b: int) -> np.ndarray:
            """The padded, scaled mix at [a, b) (zeros outside the song)."""
            part = np.zeros((2, b - a), dtype=np.float32)
            lo, hi = max(a, trim), min(b, trim + length)
            if hi > lo:
                part[:, lo - a : hi - a] = mix[:, lo - trim : hi - trim] * np.float32(gain)
            return part

        def emit(a: int, b: int) -> None:
            """Mixture positions [a, b) are final: write their part of the song."""
            lo, hi = max(a, trim), min(b, trim + length)
            if hi <= lo:
                return
            sums, weights = result[:, lo - a : hi - a], divider[lo - a : hi - a]
            primary = (sums / weights) * np.float32(peak)
            out[0, :, lo - trim : hi - trim] = primary
            out[1, :, lo - trim : hi - trim] = scaled(lo, hi) - primary * np.float32(
                self.params.compensate
            )
            if on_ready is not None:
                on_ready(lo - trim, hi - trim, out[..., lo - trim : hi - trim])
            buffers.release(out, lo - trim, hi - trim)

        if progress is not None:
            progress(0, total)
        with self.exclusive:
            for index, start in enumerate(starts):
                if cancel is not None and cancel():
                    raise Cancelled("separation cancelled")
                end = min(start + chunk, padded)
                window = np.hanning(end - start).astype(np.float32)
                estimate = self.run_chunk(scaled(start, start + chunk))
                result[:, : end - start] += estimate[:, : end - start] * window
                divider[: end - start] += window
                last = index + 1 == total
                final = end - start if last else step
                emit(start, start + final)
                if not last:
                    result[:, :-step] = result[:, step:].copy()
                    result[:, -step:] = 0
                    divider[:-step] = divider[step:].copy()
                    divider[-step:] = 0
                if progress is not None:
                    progress(index + 1, total)
        return out

    def warm_up(self, runs: int = 1) -> None:
        for _ in range(runs):
            self.run_chunk(np.zeros((2, self.chunk), dtype=np.float32))
