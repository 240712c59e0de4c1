"""Run with the importer environment's Python (PyTorch + demucs), by tests/engine/test_import.py.

``make OUT``: random-weight checkpoints made with demucs' own classes and the official
hyper-parameters of htdemucs (the npm htdemucs graph's shapes: 48 channels, depth 4, DConv in
the decoders too, a 512-channel bottleneck, 5 cross-transformer layers, 7.8 s segments), saved
as Demucs saves them (``serialize_model``'s dict, half-precision state, ``save_with_checksum``
names ``<sig>-<sha8>.th``), beside the bag YAMLs shipped in the demucs wheel; plus a malicious
pickle. ``apply CLIP.npy OUT.npy FILE...``: ``demucs.apply.apply_model`` on the clip (shifts 0,
overlap 0.25, split), for one checkpoint or a bag (its .th files and .yaml).
"""

from __future__ import annotations

import os
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import yaml
from demucs.apply import BagOfModels, apply_model
from demucs.htdemucs import HTDemucs
from demucs.states import get_state, load_model, save_with_checksum

SOURCES_4 = ["drums", "bass", "other", "vocals"]
SOURCES_6 = ["drums", "bass", "other", "vocals", "guitar", "piano"]
OFFICIAL = dict(  # keyword names as HTDemucs takes them
    audio_channels=2,
    samplerate=44100,
    segment=Fraction(39, 5),
    channels=48,
    depth=4,
    dconv_mode=3,
    bottom_channels=512,
    t_layers=5,
    t_dropout=0.02,
)
REMOTE = Path(__import__("demucs").__file__).parent / "remote"


def checkpoint(sources: list[str], seed: int, sig: str, out: Path) -> None:
    torch.manual_seed(seed)
    model = HTDemucs(sources, **OFFICIAL)
    args, kwargs = model._init_args_kwargs
    package = {
        "klass": HTDemucs,
        "args": args,
        "kwargs": kwargs,
        "state": get_state(model, None, half=True),
        "training_args": {"dset": {"segment": 10, "sources": sources}, "seed": seed},
    }
    save_with_checksum(package, out / f"{sig}.th")


class Exploit:
    """Unpickling this runs ``os.system``: what a safe loader must refuse."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def make(out: Path) -> None:
    (out / "htdemucs").mkdir(parents=True)
    checkpoint(SOURCES_4, 1, "955717e8", out / "htdemucs")
    (out / "htdemucs_6s").mkdir()
    checkpoint(SOURCES_6, 2, "5c90dfd2", out / "htdemucs_6s")
    shutil.copy(REMOTE / "htdemucs_6s.yaml", out / "htdemucs_6s")
    (out / "htdemucs_ft").mkdir()
    bag = yaml.safe_load((REMOTE / "htdemucs_ft.yaml").read_text())
    for index, sig in enumerate(bag["models"]):
        checkpoint(SOURCES_4, 10 + index, sig, out / "htdemucs_ft")
    shutil.copy(REMOTE / "htdemucs_ft.yaml", out / "htdemucs_ft")
    (out / "evil").mkdir()
    package = {"klass": HTDemucs, "args": (), "kwargs": {}, "state": {}}
    package["training_args"] = Exploit(out / "evil" / "pwned")
    torch.save(package, out / "evil" / "evil.th")


def apply(clip: Path, target: Path, files: list[Path]) -> None:
    checkpoints = [f for f in files if f.suffix == ".th"]
    yamls = [f for f in files if f.suffix == ".yaml"]
    if yamls:
        bag = yaml.safe_load(yamls[0].read_text())
        by_sig = {f.name.split("-")[0]: f for f in checkpoints}
        models = [load_model(by_sig[sig]) for sig in bag["models"]]
        model = BagOfModels(models, bag.get("weights"), bag.get("segment"))
    else:
        model = load_model(checkpoints[0])
    model.eval()
    mix = torch.from_numpy(np.load(clip))[None]
    with torch.no_grad():
        out = apply_model(model, mix, shifts=0, split=True, overlap=0.25, progress=False)
    np.save(target, out[0].numpy())


if __name__ == "__main__":
    torch.set_num_threads(2)
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]))
    else:
        apply(Path(sys.argv[2]), Path(sys.argv[3]), [Path(f) for f in sys.argv[4:]])
