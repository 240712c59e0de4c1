"""Make ``tests/data/dsp_reference.npz``: Meta's own STFT/iSTFT host code on fixed inputs.

Runs ``HTDemucs._spec``/``_magnitude``/``_mask``/``_ispec`` from ``demucs`` 4.1.0 (PyTorch) on
seeded random inputs of a few lengths, so the test suite can hold our numpy port to the
reference without PyTorch installed. Needs the bench-only venv:

    python3.11 -m venv var/peers/torch-venv
    var/peers/torch-venv/bin/pip install torch==2.13.0 demucs==4.1.0 numpy
    var/peers/torch-venv/bin/python bench/make_dsp_golden.py
"""

from pathlib import Path

import numpy as np
import torch
from demucs.htdemucs import HTDemucs

LENGTHS = (1000, 4096)


def main() -> None:
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], samplerate=44100, segment=7.8)
    rng = np.random.default_rng(1)
    arrays: dict[str, np.ndarray] = {}
    for length in LENGTHS:
        x = rng.standard_normal((2, length)).astype(np.float32)
        z = model._spec(torch.from_numpy(x)[None])
        frames = z.shape[-1]
        m = rng.standard_normal((1, 4, 4, 2048, frames)).astype(np.float32)
        y = model._ispec(model._mask(None, torch.from_numpy(m)), length)
        arrays[f"x_{length}"] = x
        arrays[f"spec_{length}"] = model._magnitude(z)[0].numpy()
        arrays[f"mask_{length}"] = m[0]
        arrays[f"wave_{length}"] = y[0].numpy()
    out = Path(__file__).resolve().parents[1] / "tests" / "data" / "dsp_reference.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
