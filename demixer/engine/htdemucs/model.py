"""The onnxruntime session for htdemucs and the per-segment forward pass around it.

One :class:`SegmentModel` per process: creating a session costs ~1 s and its first runs are
slower than the steady state, so callers create it once (see :func:`shared_model`) and reuse it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from demixer.engine.errors import ModelNotAvailable
from demixer.engine.htdemucs import cpu, dsp
from demixer.engine.options import SessionConfig
from demixer.engine.process_wide import ProcessWide
from demixer.engine.registry import ModelSpec, get_spec, model_path


def _providers(device: str) -> list[str]:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ModelNotAvailable(
                "--device cuda needs onnxruntime-gpu with the CUDA provider "
                "(pip install onnxruntime-gpu) and an NVIDIA GPU; this install has "
                f"{', '.join(ort.get_available_providers())}"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ModelNotAvailable(f"unknown device {device!r}; use cpu or cuda")


def _session_options(config: SessionConfig) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = config.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    # onnxruntime's memory-reuse planner keeps every intermediate of this graph alive in one
    # arena (~4.8 GB peak); without it, buffers are freed as they die (~1.2 GB) at the same speed.
    options.enable_mem_reuse = False
    if cpu.exact_int8():
        # x86-64 without VNNI: onnxruntime turns the s8 weights into u8 (exactly) and runs its
        # u8 x u8 kernels, whose products do not saturate (see demixer.engine.htdemucs.cpu)
        options.add_session_config_entry("session.x64quantprecision", "1")
    return options


class SegmentModel:
    """htdemucs on one segment: waveform (2, segment) float32 -> stems (S, 2, segment) float32.

    Any graph with this two-input contract runs here: the npm htdemucs and the graphs
    ``demixer models import`` exports (S from the registry entry: 6 for htdemucs_6s)."""

    def __init__(
        self,
        config: SessionConfig | None = None,
        path: Path | None = None,
        spec: ModelSpec | None = None,
    ) -> None:
        """``path`` and ``spec`` default to the registry's for ``config.model``; the importer
        passes both to check a graph before it is registered."""
        self.config = config or SessionConfig()
        self.spec: ModelSpec = spec or get_spec(self.config.model)
        weights = path or model_path(self.config.model, self.config.quality)
        self.session = self._new_session(weights)
        inputs = self.session.get_inputs()
        self.wave_input, self.spec_input = inputs[0].name, inputs[1].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        shapes = [tuple(o.shape) for o in self.session.get_outputs()]
        self._outputs = [tuple(np.empty(shape, dtype=np.float32) for shape in shapes) for _ in "ab"]
        self._turn = 0
        self.run_options = ort.RunOptions()
        if self.config.device == "cpu":
            # hand arena chunks back after each run so idle workers do not sit on memory
            self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        # host FFTs run beside onnxruntime's own threads (see separate.py); more than one FFT
        # thread only preempts them, and a preempted thread stalls each parallel operator
        self.fft_workers = 1
        # infer's results live in shared buffers until the call after next: whoever runs a whole
        # separation (or a single segment) holds this so another thread cannot interleave
        self.exclusive = threading.RLock()

    def _new_session(self, weights: Path) -> ort.InferenceSession:
        # A saved pre-optimized graph would make sessions faster to create, but sessions loaded
        # from one hold far more memory from their second run on: not worth it.
        return ort.InferenceSession(
            str(weights),
            sess_options=_session_options(self.config),
            providers=_providers(self.config.device),
        )

    @property
    def sources(self) -> tuple[str, ...]:
        return self.spec.sources

    @property
    def segment(self) -> int:
        return self.spec.segment_samples

    def prepare(self, wave: np.ndarray) -> dict[str, np.ndarray]:
        """Host pre-processing: the model's two inputs for one segment."""
        wave = np.ascontiguousarray(wave, dtype=np.float32)
        spectrum = dsp.spec_channels(wave, workers=self.fft_workers)
        return {self.wave_input: wave[None], self.spec_input: spectrum[None]}

    def infer(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The graph itself: spectral branch (S, 4, F, T) and time branch (S, 2, segment).

        The outputs are written into two sets of buffers of ours, used in turn, so a result
        stays valid until the call after next (enough for the pipeline in ``separate``).
        Outputs left in onnxruntime's arena while the next run goes on pin it, and that run
        grows the process by hundreds of MB (docs/performance.md).
        """
        with self.exclusive:
            buffers = self._outputs[self._turn]
            self._turn ^= 1
            binding = self.session.io_binding()
            for name, array in feeds.items():
                binding.bind_cpu_input(name, array)
            for name, array in zip(self.output_names, buffers, strict=True):
                binding.bind_output(name, "cpu", 0, np.float32, array.shape, array.ctypes.data)
            self.session.run_with_iobinding(binding, self.run_options)
        return buffers[0][0], buffers[1][0]

    def finish(self, spectral: np.ndarray, temporal: np.ndarray) -> np.ndarray:
        """Host post-processing: iSTFT of the spectral branch plus the time branch."""
        waves = dsp.ispec_channels(spectral, temporal.shape[-1], workers=self.fft_workers)
        waves += temporal
        return waves

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        with self.exclusive:
            return self.finish(*self.infer(self.prepare(wave)))

    def warm_up(self, runs: int = 2) -> None:
        """Run the graph on silence so the first real job runs at steady-state speed."""
        silence = np.zeros((self.spec.channels, self.segment), dtype=np.float32)
        for _ in range(runs):
            self(silence)


_models = ProcessWide(SegmentModel)


def shared_model(config: SessionConfig | None = None) -> SegmentModel:
    """The process-wide session for ``config`` (the default one without), created on first use."""
    return _models(config or SessionConfig())
