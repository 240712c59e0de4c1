"""A cheap, deterministic stand-in for a model session, for tests of the layers above the engine.

Views, services, downloads, quotas and the worker's bookkeeping do not depend on what the
network hears, only on getting stems of the right names, rate and length, with progress
reported and cancel honoured between pieces as the real engine does. A real htdemucs run
costs ~3 s a clip on two cores (plus ~1 GB and seconds to create the session); this costs
milliseconds, so the fast suite can run every such test. Tests of the engine and of the worker
path end to end keep the real session (``@pytest.mark.model``).

The stems are honest functions of the input: source ``i`` of ``S`` is the mix's ``i``-th
frequency band (log-spaced edges, :data:`EDGES_HZ`), so the stems differ from each other
(uncorrelated), follow the input, and add up to the mix exactly as a separation should.
"""

from __future__ import annotations

import math
import time

import numpy as np

from demixer.engine.errors import Cancelled, EngineError
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.registry import ModelSpec, get_spec, weights_path
from demixer.engine.session_base import Call, Session

# the band of source i is [EDGES_HZ[i], EDGES_HZ[i + 1]); the lowest starts at 0 Hz, the
# highest runs to Nyquist; S sources take S - 1 edges spread (log) over this range
LOWEST_EDGE_HZ, HIGHEST_EDGE_HZ = 150.0, 5000.0
PIECE_S = 5.85  # an architecture without htdemucs' segments reports per this many seconds


def band_edges(sources: int, rate: int) -> list[float]:
    """The S + 1 band edges in Hz for ``sources`` stems at ``rate``: 0, ..., Nyquist."""
    inner = np.geomspace(LOWEST_EDGE_HZ, HIGHEST_EDGE_HZ, max(sources - 1, 0))
    return [0.0, *(float(f) for f in inner), rate / 2 + 1.0]


def split_bands(mix: np.ndarray, sources: int, rate: int) -> np.ndarray:
    """float32 (C, N) at ``rate`` -> float32 (S, C, N): the mix's S frequency bands."""
    spectrum = np.fft.rfft(mix.astype(np.float64), axis=-1)
    freqs = np.fft.rfftfreq(mix.shape[-1], 1.0 / rate)
    edges = band_edges(sources, rate)
    out = np.empty((sources, *mix.shape), dtype=np.float32)
    for i in range(sources):
        keep = (freqs >= edges[i]) & (freqs < edges[i + 1])
        out[i] = np.fft.irfft(spectrum * keep, n=mix.shape[-1], axis=-1)
    return out


class StandInSession(Session):
    """A :class:`~demixer.engine.session_base.Session` for the model ``config`` names: the real
    sources, rate and channels of that model, stems from :func:`split_bands`."""

    def __init__(self, config: SessionConfig) -> None:
        weights_path(config.model)  # a model whose weights are not here is refused, as for real
        self.config = config
        self.spec: ModelSpec = get_spec(config.model)
        self.runs = 0  # how many tracks it separated (tests may assert on it)

    def warm_up(self) -> None:
        """Nothing to warm: there is no network."""

    def _separate(self, mix: np.ndarray, options: SeparationOptions, call: Call) -> np.ndarray:
        """float32 (2, N) -> float32 (S, 2, N), written piece by piece into ``out`` with a
        progress report after each and a cancel check before each, like the real sessions;
        each piece is final once written, and handed to ``on_ready`` then."""
        from demixer.engine.separate import Progress  # the engine proper, as the worker has it

        progress, cancel, out, on_ready = call.progress, call.cancel, call.out, call.on_ready
        if mix.ndim != 2 or mix.shape[0] != self.spec.channels:
            raise EngineError(f"expected a ({self.spec.channels}, samples) array, got {mix.shape}")
        length = mix.shape[-1]
        if out is None:
            out = np.zeros((len(self.sources), mix.shape[0], length), dtype=np.float32)
        if length == 0:
            return out
        bands = split_bands(mix, len(self.sources), self.samplerate)
        total = self._pieces(length, options)
        bounds = np.linspace(0, length, total + 1).astype(int)
        started = time.monotonic()

        def report(done: int) -> None:
            if progress is not None:
                progress(Progress(done, total, time.monotonic() - started))

        report(0)
        for index in range(total):
            if cancel is not None and cancel():
                raise Cancelled("separation cancelled")
            lo, hi = bounds[index], bounds[index + 1]
            out[..., lo:hi] = bands[..., lo:hi]
            if on_ready is not None:
                on_ready(int(lo), int(hi), out[..., lo:hi])
            report(index + 1)
        self.runs += 1
        return out

    def _pieces(self, length: int, options: SeparationOptions) -> int:
        """As many as the real engine would run model calls for (htdemucs' segment plan)."""
        if self.spec.tunable:
            # the engine proper: only when a test runs it
            from demixer.engine.separate import count_segments

            return count_segments(length, options)
        return max(1, math.ceil(length / (PIECE_S * self.samplerate)))
