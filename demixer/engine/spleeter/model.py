"""Spleeter 2-stem (vocals / accompaniment) on onnxruntime: the session and the whole-track pass.

Spleeter cuts the STFT of a whole track into blocks of 512 frames (11.9 s) that do not overlap,
runs the network on each, and inverts the masked STFT of the whole track. A block's frames
depend only on its own span of samples (and the 4096 before it), so this module runs
the same computation block by block: the STFT of one block, the network, the masks applied, its
inverse STFT overlap-added into the output. Besides the input and output arrays, memory stays at
~0.5 GB (session and one block's intermediates) whatever the length: measured 490 MB for 60 s and
530 MB for 10 minutes. The result is the reference's (93-102 dB against TensorFlow).

While onnxruntime (which releases the GIL) runs one block, a helper thread inverts the previous
block and prepares the next one.

One :class:`SpleeterModel` per process and bandwidth (see :func:`shared_spleeter`): creating the
session takes ~1 s; one block (11.9 s of audio) takes ~1.4 s of network time on 2 cores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

from demixer.engine import buffers
from demixer.engine.errors import Cancelled, EngineError, ModelNotAvailable
from demixer.engine.options import SessionConfig
from demixer.engine.spleeter import dsp as spleeter_dsp
from demixer.engine.spleeter.weights import SPLEETER_2STEMS, CheckpointSpec, ensure_graph

BlockProgress = Callable[[int, int], None]  # (blocks done, blocks in all)
CancelFn = Callable[[], bool]
# (start, end, final samples of both sources for [start, end): float32 (S, C, end - start))
ReadyFn = Callable[[int, int, np.ndarray], None]


def _providers(device: str) -> list[str]:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ModelNotAvailable(
        f"device {device!r} is not available to onnxruntime here "
        f"({', '.join(ort.get_available_providers())})"
    )


class SpleeterModel:
    """Spleeter 2-stem: mix float32 (2, N) at 44.1 kHz -> stems float32 (2, 2, N).

    Sources are ``("vocals", "accompaniment")``. ``bandwidth`` picks the configuration:
    ``"11kHz"`` (Spleeter's ``2stems``: the network sees 1024 bins, every stem is silent above
    11.025 kHz) or ``"16kHz"`` (``2stems-16kHz``: 1536 bins, the same weights). Like the
    reference, the stems carry nothing above that band: they sum to the mix low-passed there.
    """

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        bandwidth: str = "11kHz",
        path: Path | None = None,
        spec: CheckpointSpec = SPLEETER_2STEMS,
    ) -> None:
        if bandwidth not in spleeter_dsp.BANDWIDTHS:
            raise EngineError(
                f"Spleeter bandwidth must be one of {', '.join(spleeter_dsp.BANDWIDTHS)}"
            )
        self.config = config or SessionConfig(model=spec.name)
        self.spec = spec
        self.bandwidth = bandwidth
        self.bins = spleeter_dsp.BANDWIDTHS[bandwidth]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.config.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(path or ensure_graph(spec)),
            sess_options=options,
            providers=_providers(self.config.device),
        )
        self.run_options = ort.RunOptions()
        if self.config.device == "cpu":
            # hand arena chunks back after each run so idle workers do not sit on memory
            self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.fft_workers = 1  # host FFTs share the CPUs with onnxruntime's threads
        # one separation at a time per session: the pipeline's helper thread is its own
        self.exclusive = threading.RLock()

    @property
    def sources(self) -> tuple[str, ...]:
        return self.spec.sources

    @property
    def samplerate(self) -> int:
        return self.spec.samplerate

    @property
    def channels(self) -> int:
        return self.spec.channels

    def masks(self, magnitude: np.ndarray) -> np.ndarray:
        """The network: float32 (1, C, T, F) magnitudes -> float32 (S, C, T, F) ratio masks."""
        (masks,) = self.session.run(["masks"], {"magnitude": magnitude}, self.run_options)
        return masks[0]

    def separate(
        self,
        mix: np.ndarray,
        *,
        progress: BlockProgress | None = None,
        cancel: CancelFn | None = None,
        out: np.ndarray | None = None,
        on_ready: ReadyFn | None = None,
    ) -> np.ndarray:
        """Separate float32 (2, N) at 44.1 kHz into float32 (2, 2, N): vocals, accompaniment.

        ``out``, when given, is a zero-filled (2, 2, N) float32 array (e.g. on disk) to receive
        the result. ``progress(done, total)`` is called after each block; :class:`Cancelled` is
        raised between blocks once ``cancel()`` turns true. ``on_ready(start, end, block)`` gets
        each piece of ``out`` once it is final, in order, back to back (as
        ``separate.separate_array`` describes), on the helper thread.
        """
        mix = np.ascontiguousarray(mix, dtype=np.float32)
        if mix.ndim != 2 or mix.shape[0] != self.channels:
            raise EngineError(f"expected a ({self.channels}, samples) array, got {mix.shape}")
        length = mix.shape[-1]
        if out is None:
            out = np.zeros((len(self.sources), self.channels, length), dtype=np.float32)
        if length == 0:
            return out
        blocks = spleeter_dsp.blocks_count(length)
        block = spleeter_dsp.T
        workers = self.fft_workers

        def prepare(index: int) -> tuple[np.ndarray, np.ndarray]:
            z = spleeter_dsp.stft(mix, index * block, block, workers)
            return z, spleeter_dsp.magnitude(z, self.bins)

        published = 0

        def finish(index: int, z: np.ndarray, masks: np.ndarray) -> None:
            nonlocal published
            masked = spleeter_dsp.apply_masks(z, masks)
            spleeter_dsp.overlap_add(masked, index * block, out, workers)
            # the next block's frames reach back 4096 samples: what lies before is final, and
            # disk-backed arrays can let go of it (no later block reads before it)
            final = length
            if index + 1 < blocks:
                final = min(length, spleeter_dsp.block_start(index + 1))
            if final > published:
                if on_ready is not None:
                    on_ready(published, final, out[..., published:final])
                buffers.release(out, published, final)
                buffers.release(mix, published, final)
                published = final

        if progress is not None:
            progress(0, blocks)
        with self.exclusive, ThreadPoolExecutor(1, thread_name_prefix="demixer-spleeter") as host:
            z, feed = prepare(0)
            previous: tuple[int, np.ndarray, np.ndarray] | None = None
            for index in range(blocks):
                if cancel is not None and cancel():
                    raise Cancelled("separation cancelled")
                pending = host.submit(finish, *previous) if previous is not None else None
                upcoming = host.submit(prepare, index + 1) if index + 1 < blocks else None
                masks = self.masks(feed)  # onnxruntime releases the GIL: the helper runs now
                if pending is not None:
                    pending.result()
                previous = (index, z, masks)
                if upcoming is not None:
                    z, feed = upcoming.result()
                    if progress is not None:
                        progress(index + 1, blocks)
            assert previous is not None
            finish(*previous)
        if progress is not None:
            progress(blocks, blocks)
        return out

    __call__ = separate

    def warm_up(self, runs: int = 1) -> None:
        """Run the network on silence so the first real job runs at steady-state speed."""
        silence = np.zeros((1, self.channels, spleeter_dsp.T, self.bins), dtype=np.float32)
        for _ in range(runs):
            self.masks(silence)


_shared: dict[tuple[SessionConfig, str], SpleeterModel] = {}
_shared_lock = threading.Lock()


def shared_spleeter(config: SessionConfig | None = None, bandwidth: str = "11kHz") -> SpleeterModel:
    """The process-wide session for ``config`` and ``bandwidth``, created on first use."""
    config = config or SessionConfig(model=SPLEETER_2STEMS.name)
    with _shared_lock:
        key = (config, bandwidth)
        if key not in _shared:
            _shared[key] = SpleeterModel(config, bandwidth=bandwidth)
        return _shared[key]
