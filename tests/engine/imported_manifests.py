"""A chunked model's manifest (RoFormer, MDX23C, SCNet) written straight into a models folder,
for the tests of what the registry lists; no graph unless the test writes one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from demixer.engine.importer import manifest

SETTINGS = {  # what every chunked model's section holds; each architecture adds its own keys
    "outputs": 2,
    "chunk_size": 8064,
    "num_overlap": 4,
    "batch_size": 1,
    "n_fft": 512,
    "hop_length": 128,
    "win_length": 512,
    "normalized": False,
}
MDX23C = {"dim_f": 128, "padding": 0, "rectangular": False}


def write_manifest(
    folder: Path, name: str, architecture: str, section: str, extra: dict[str, Any]
) -> Path:
    """``imported/NAME/manifest.json`` for two stems (kick, snare); returns the model's folder."""
    data = {
        "format": manifest.FORMAT,
        "name": name,
        "architecture": architecture,
        "sources": ["kick", "snare"],
        "samplerate": 44100,
        "channels": 2,
        "segment_samples": SETTINGS["chunk_size"],
        "members": [
            {"graph": "model.onnx", "sha256": "0" * 64, "checkpoint": "x.ckpt", "weights": [1, 1]}
        ],
        section: {**SETTINGS, **extra},
    }
    target = manifest.folder(folder, name)
    target.mkdir(parents=True)
    (target / manifest.FILENAME).write_text(json.dumps(data))
    return target
