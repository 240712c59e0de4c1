"""A bag of htdemucs graphs (htdemucs_ft: four models, one-hot weights) run as one segment model.

``demucs.apply.apply_model`` runs each model of a ``BagOfModels`` over the whole track, scales
model ``m``'s source ``k`` by ``weights[m][k]``, sums, and divides source ``k`` by the sum of its
weights. With no shifts every model sees the same segments, and the overlap-add and the iSTFT are
linear, so the same result comes from combining the models' raw outputs segment by segment with
``weights[m][k] / sum_m weights[m][k]``; this class does that inside :meth:`infer`, so the
engine's chunking, pipelining, progress (each segment counts all the bag's runs) and
listen-while-separating serve a bag unchanged, with one iSTFT per segment instead of one per
model. With shifts, demucs draws different random offsets per model; here they share them (the
same expectation, not the same draw).
"""

from __future__ import annotations

import threading

import numpy as np

from demixer.engine.htdemucs.model import SegmentModel
from demixer.engine.options import SessionConfig
from demixer.engine.process_wide import ProcessWide
from demixer.engine.registry import ModelSpec, get_spec, member_paths


class BagModel(SegmentModel):
    """Several :class:`SegmentModel` graphs with one contract: waveform (2, segment) float32 ->
    stems (S, 2, segment) float32, the bag's weighted combination. Memory: one session per
    model (~four times a single htdemucs session for htdemucs_ft)."""

    def __init__(self, config: SessionConfig, spec: ModelSpec | None = None) -> None:
        # not SegmentModel.__init__: the sessions are the members', this holds none of its own
        self.config = config
        self.spec = spec or get_spec(config.model)
        self.members = [SegmentModel(config, path, self.spec) for path in member_paths(self.spec)]
        first = self.members[0]
        self.wave_input, self.spec_input = first.wave_input, first.spec_input
        weights = np.asarray(self.spec.member_weights, dtype=np.float64)  # (models, sources)
        # (models, sources, 1, 1, 1): broadcasts over (S, channels, ...) of each output
        self.scales = (weights / weights.sum(axis=0)).astype(np.float32)[:, :, None, None, None]
        shapes = [buffer.shape for buffer in first._outputs[0]]
        self._sums = [
            tuple(np.empty(shape[1:], dtype=np.float32) for shape in shapes) for _ in "ab"
        ]
        self._turn = 0
        self.fft_workers = 1
        self.exclusive = threading.RLock()

    def infer(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Every model's spectral (S, 4, F, T) and time (S, 2, segment) branches, weighted and
        summed per source; valid until the call after next, like :meth:`SegmentModel.infer`."""
        with self.exclusive:
            spectral, temporal = self._sums[self._turn]
            self._turn ^= 1
            for index, member in enumerate(self.members):
                inputs = {
                    member.wave_input: feeds[self.wave_input],
                    member.spec_input: feeds[self.spec_input],
                }
                ours_s, ours_t = member.infer(inputs)
                scale = self.scales[index]
                if index == 0:
                    np.multiply(ours_s, scale, out=spectral)
                    np.multiply(ours_t, scale[..., 0], out=temporal)
                else:
                    spectral += ours_s * scale
                    temporal += ours_t * scale[..., 0]
        return spectral, temporal


shared_bag = ProcessWide(BagModel)
