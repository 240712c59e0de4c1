"""Run with the importer environment's Python (PyTorch + pymss-core), by
tests/engine/test_import_spectral.py.

``make OUT [--flagship]``: random-weight MDX23C (pymss-core's ``TFC_TDF_net``) and SCNet
(``SCNet``) checkpoints at small configs, saved as MSST saves them
(``torch.save(model.state_dict())``), beside their YAML configs; with ``--flagship``, at the
published configs of the 6-stem DrumSep MDX23C and SCNet-large.

``demix CONFIG CHECKPOINT MIX.npy OUT.npy``: the reference's whole-song inference on a (2, N)
float32 mix: MSST's ``demix`` (generic mode) and ``inference.normalize``
(``roformer_reference.infer``, transcribed as they are), then ``target_instrument``'s complement
as ``mix - target``. Writes (S, 2, N) float32.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import yaml
from pymss_core.config import to_attrdict
from pymss_core.modules.mdx23c_tfc_tdf_v3 import TFC_TDF_net
from pymss_core.modules.scnet import SCNet
from roformer_reference import Dumper, infer

_MDX_MODEL = {
    "act": "gelu",
    "bottleneck_factor": 2,
    "growth": 8,
    "norm": "InstanceNorm",
    "num_blocks_per_scale": 1,
    "num_channels": 16,
    "num_scales": 2,
    "num_subbands": 2,
    "scale": [2, 2],
}
_MDX_AUDIO = {
    "chunk_size": 128 * 63,
    "dim_f": 128,
    "dim_t": 64,
    "hop_length": 128,
    "n_fft": 512,
    "num_channels": 2,
    "sample_rate": 44100,
    "min_mean_abs": 0.001,
}
SMALL = {
    # DrumSep-like: several drum parts, no target
    "mdx_small": {
        "model_type": "mdx23c",
        "audio": _MDX_AUDIO,
        "model": _MDX_MODEL,
        "training": {"instruments": ["kick", "snare", "toms"], "target_instrument": None},
        "inference": {"batch_size": 2, "dim_t": 64, "num_overlap": 4},
    },
    "mdx_target": {
        "audio": _MDX_AUDIO,
        "model": {**_MDX_MODEL, "norm": "GroupNorm4", "act": "elu1.0"},
        "training": {"instruments": ["vocals", "other"], "target_instrument": "vocals"},
        "inference": {"batch_size": 1, "dim_t": 64, "num_overlap": 2},
    },
    # model_type left out: the importer tells SCNet from its band keys
    "scnet_small": {
        "audio": {"chunk_size": 11025, "num_channels": 2, "sample_rate": 44100},
        "model": {
            "sources": ["drums", "bass", "other", "vocals"],
            "audio_channels": 2,
            "dims": [4, 16, 32],
            "nfft": 512,
            "hop_size": 128,
            "win_size": 512,
            "normalized": True,
            "band_SR": [0.175, 0.392, 0.433],
            "band_stride": [1, 4, 16],
            "band_kernel": [3, 4, 16],
            "conv_depths": [2, 1, 1],
            "compress": 4,
            "conv_kernel": 3,
            "num_dplayer": 2,
            "expand": 1,
        },
        "training": {"instruments": ["drums", "bass", "other", "vocals"]},
        "inference": {"batch_size": 1, "num_overlap": 4},
    },
}
# several stems run on the normalised mix (MSST's inference.normalize)
SMALL["mdx_norm"] = {
    "model_type": "mdx23c",
    "audio": _MDX_AUDIO,
    "model": _MDX_MODEL,
    "training": {"instruments": ["kick", "snare", "toms"], "target_instrument": None},
    "inference": {"batch_size": 1, "dim_t": 64, "num_overlap": 2, "normalize": True},
}

# the published flagship configs (model sections as published): MSST's
# configs/config_musdb18_scnet_large.yaml (SCNet-large), and the 6-stem DrumSep MDX23C
# (aufr33 and jarredou: chunk_size 130560 and its six instruments as its config gives them; its
# audio/model sections as jarredou's DrumSep MDX23C configs publish them)
FLAGSHIP = {
    "drumsep_mdx23c": {
        "audio": {
            "chunk_size": 130560,
            "dim_f": 1024,
            "dim_t": 256,
            "hop_length": 512,
            "n_fft": 2048,
            "num_channels": 2,
            "sample_rate": 44100,
            "min_mean_abs": 0.0,
        },
        "model": {
            "act": "gelu",
            "bottleneck_factor": 4,
            "growth": 128,
            "norm": "InstanceNorm",
            "num_blocks_per_scale": 2,
            "num_channels": 128,
            "num_scales": 5,
            "num_subbands": 4,
            "scale": [2, 2],
        },
        "training": {
            "instruments": ["Kick", "Snare", "Toms", "Hh", "Ride", "Crash"],
            "target_instrument": None,
        },
        "inference": {"batch_size": 1, "dim_t": 256, "num_overlap": 4},
    },
    "scnet_large": {
        "audio": {"chunk_size": 485100, "num_channels": 2, "sample_rate": 44100},
        "model": {
            "sources": ["drums", "bass", "other", "vocals"],
            "audio_channels": 2,
            "dims": [4, 64, 128, 256],
            "nfft": 4096,
            "hop_size": 1024,
            "win_size": 4096,
            "normalized": True,
            "band_SR": [0.225, 0.372, 0.403],
            "band_stride": [1, 4, 16],
            "band_kernel": [3, 4, 16],
            "conv_depths": [3, 2, 1],
            "compress": 4,
            "conv_kernel": 3,
            "num_dplayer": 6,
            "expand": 1,
        },
        "training": {
            "instruments": ["drums", "bass", "other", "vocals"],
            "target_instrument": None,
        },
        "inference": {"batch_size": 8, "dim_t": 256, "num_overlap": 4, "normalize": False},
    },
}


def kind(config: dict) -> str:
    return config.get("model_type") or ("scnet" if "band_SR" in config["model"] else "mdx23c")


def build(config: dict) -> nn.Module:
    if kind(config) == "mdx23c":
        return TFC_TDF_net(to_attrdict(config))
    return SCNet(**config["model"])


def make(out: Path, table: dict[str, dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for seed, (name, config) in enumerate(table.items()):
        torch.manual_seed(seed)
        model = build(config)
        # random weights doubled: stems well above rounding noise (the test checks their level)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(2.0)
        torch.save(model.state_dict(), out / f"{name}.ckpt")
        (out / f"{name}.yaml").write_text(yaml.dump(config, Dumper=Dumper, sort_keys=False))


def main(argv: list[str]) -> None:
    if argv[0] == "make":
        make(Path(argv[1]), FLAGSHIP if "--flagship" in argv else SMALL)
    elif argv[0] == "demix":
        config = yaml.safe_load(Path(argv[1]).read_text())
        model = build(config)
        model.load_state_dict(torch.load(argv[2], map_location="cpu", weights_only=True))
        model.eval()
        config.setdefault("training", {}).setdefault("target_instrument", None)
        np.save(argv[4], infer(config, model, np.load(argv[3])))
    else:
        raise SystemExit(f"unknown command {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
