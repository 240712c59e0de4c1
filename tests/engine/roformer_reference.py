"""Run with the importer environment's Python (PyTorch + pymss-core), by
tests/engine/test_import_roformer.py.

``make OUT [--flagship]``: random-weight checkpoints made with the reference classes (pymss-core's
``BSRoformer`` / ``MelBandRoformer``, which load MSST's checkpoints) at small configs, saved as MSST
saves them (``torch.save(model.state_dict())``), beside their YAML configs (written as MSST writes
them, ``!!python/tuple`` included); with ``--flagship``, at the configs of Kim's Mel-Band
RoFormer vocals model and viperx's BS-RoFormer 1297.

``demix CONFIG CHECKPOINT MIX.npy OUT.npy``: the reference's whole-song inference on a (2, N)
float32 mix: MSST's ``utils/model_utils.py`` ``demix`` (generic mode, commit e5da5ed) transcribed
as it is, with ``inference.normalize`` as its ``inference.py`` applies it, then
``target_instrument``'s complement as ``mix - target``. Writes (S, 2, N) float32. With
``--float64`` the same in double precision throughout (the model's weights, its STFT and every
sum): the exact answer the float32 runs approximate, for the flagship tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import yaml
from pymss_core.modules.bs_roformer import BSRoformer, MelBandRoformer

SMALL = {
    "bs_small": {
        "model_type": "bs_roformer",
        "audio": {"chunk_size": 12900, "num_channels": 2, "sample_rate": 44100},
        "training": {"instruments": ["vocals", "drums", "other"], "target_instrument": None},
        "inference": {"batch_size": 2, "num_overlap": 4},
        "model": {
            "dim": 32,
            "depth": 1,
            "stereo": True,
            "num_stems": 3,
            "time_transformer_depth": 1,
            "freq_transformer_depth": 1,
            "freqs_per_bands": (16,) * 8 + (32,) * 3 + (33,),
            "dim_head": 16,
            "heads": 2,
            "attn_dropout": 0.1,
            "ff_dropout": 0.1,
            "flash_attn": True,
            "stft_n_fft": 512,
            "stft_hop_length": 128,
            "stft_win_length": 512,
            "stft_normalized": False,
            "mask_estimator_depth": 2,
            "multi_stft_resolution_loss_weight": 1.0,
            "multi_stft_resolutions_window_sizes": (512, 256),
            "multi_stft_hop_size": 147,
            "multi_stft_normalized": False,
        },
    },
    "mel_small": {
        "audio": {"chunk_size": 128 * 90, "num_channels": 2, "sample_rate": 44100},
        "training": {"instruments": ["vocals", "other"], "target_instrument": None},
        "inference": {"batch_size": 1, "num_overlap": 2},
        "model": {
            "dim": 32,
            "depth": 1,
            "stereo": True,
            "num_stems": 2,
            "time_transformer_depth": 1,
            "freq_transformer_depth": 1,
            "num_bands": 8,
            "dim_head": 16,
            "heads": 2,
            "attn_dropout": 0.1,
            "ff_dropout": 0.1,
            "flash_attn": True,
            "sample_rate": 44100,
            "stft_n_fft": 512,
            "stft_hop_length": 128,
            "stft_win_length": 512,
            "stft_normalized": False,
            "mask_estimator_depth": 2,
        },
    },
}
SMALL["mel_target"] = {
    **SMALL["mel_small"],
    "training": {"instruments": ["vocals", "other"], "target_instrument": "vocals"},
    "inference": {"batch_size": 1, "num_overlap": 4},
    "model": {**SMALL["mel_small"]["model"], "num_stems": 1},
}
SMALL["mel_norm"] = {  # a target model run on the normalised mix (MSST's inference.normalize)
    **SMALL["mel_small"],
    "training": {"instruments": ["vocals", "other"], "target_instrument": "vocals"},
    "inference": {"batch_size": 2, "num_overlap": 2, "normalize": True},
    "model": {**SMALL["mel_small"]["model"], "num_stems": 1},
}
# The published configs of the two best-known checkpoints, every section as MSST's repository
# (ZFTurbo/Music-Source-Separation-Training, MIT) publishes them:
# configs/KimberleyJensen/config_vocals_mel_band_roformer_kj.yaml and
# configs/viperx/model_bs_roformer_ep_317_sdr_12.9755.yaml (audio-separator 0.47.1 packages no
# RoFormer config: it downloads them beside the checkpoints).
_MULTI_STFT = {
    "multi_stft_resolution_loss_weight": 1.0,
    "multi_stft_resolutions_window_sizes": (4096, 2048, 1024, 512, 256),
    "multi_stft_hop_size": 147,
    "multi_stft_normalized": False,
}
_TRAINING = {
    "gradient_accumulation_steps": 1,
    "grad_clip": 0,
    "instruments": ["vocals", "other"],
    "lr": 1.0e-05,
    "patience": 2,
    "reduce_factor": 0.95,
    "target_instrument": "vocals",
    "num_epochs": 1000,
    "num_steps": 1000,
}
FLAGSHIP = {
    "kim_mel_band_roformer": {
        "audio": {
            "chunk_size": 352800,
            "dim_f": 1024,
            "dim_t": 256,
            "hop_length": 441,
            "n_fft": 2048,
            "num_channels": 2,
            "sample_rate": 44100,
            "min_mean_abs": 0.0,
        },
        "model": {
            "dim": 384,
            "depth": 6,
            "stereo": True,
            "num_stems": 1,
            "time_transformer_depth": 1,
            "freq_transformer_depth": 1,
            "num_bands": 60,
            "dim_head": 64,
            "heads": 8,
            "attn_dropout": 0,
            "ff_dropout": 0,
            "flash_attn": True,
            "dim_freqs_in": 1025,
            "sample_rate": 44100,
            "stft_n_fft": 2048,
            "stft_hop_length": 441,
            "stft_win_length": 2048,
            "stft_normalized": False,
            "mask_estimator_depth": 2,
            **_MULTI_STFT,
        },
        "training": {
            "batch_size": 4,
            **_TRAINING,
            "augmentation": False,
            "augmentation_type": None,
            "use_mp3_compress": False,
            "augmentation_mix": False,
            "augmentation_loudness": False,
            "augmentation_loudness_type": 1,
            "augmentation_loudness_min": 0,
            "augmentation_loudness_max": 0,
            "q": 0.95,
            "coarse_loss_clip": False,
            "ema_momentum": 0.999,
            "optimizer": "adam",
            "other_fix": True,
            "use_amp": True,
        },
        "inference": {"batch_size": 4, "dim_t": 256, "num_overlap": 2},
    },
    "bs_roformer_1297": {
        "audio": {
            "chunk_size": 352800,
            "dim_f": 1024,
            "dim_t": 801,
            "hop_length": 441,
            "n_fft": 2048,
            "num_channels": 2,
            "sample_rate": 44100,
            "min_mean_abs": 0.0,
        },
        "model": {
            "dim": 512,
            "depth": 12,
            "stereo": True,
            "num_stems": 1,
            "time_transformer_depth": 1,
            "freq_transformer_depth": 1,
            "linear_transformer_depth": 0,
            "freqs_per_bands": (2,) * 24
            + (4,) * 12
            + (12,) * 8
            + (24,) * 8
            + (48,) * 8
            + (128, 129),
            "dim_head": 64,
            "heads": 8,
            "attn_dropout": 0.1,
            "ff_dropout": 0.1,
            "flash_attn": True,
            "dim_freqs_in": 1025,
            "stft_n_fft": 2048,
            "stft_hop_length": 441,
            "stft_win_length": 2048,
            "stft_normalized": False,
            "mask_estimator_depth": 2,
            **_MULTI_STFT,
        },
        "training": {
            "batch_size": 2,
            **_TRAINING,
            "q": 0.95,
            "coarse_loss_clip": True,
            "ema_momentum": 0.999,
            "optimizer": "adam",
            "other_fix": True,
            "use_amp": True,
        },
        "inference": {"batch_size": 4, "dim_t": 801, "num_overlap": 2},
    },
}


class Dumper(yaml.SafeDumper):
    """Writes tuples as ``!!python/tuple``, as MSST's saved configs have them."""


Dumper.add_representer(
    tuple, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:python/tuple", data)
)


def build(config: dict) -> nn.Module:
    model_type = config.get("model_type") or (
        "bs_roformer" if "freqs_per_bands" in config["model"] else "mel_band_roformer"
    )
    cls = BSRoformer if model_type == "bs_roformer" else MelBandRoformer
    return cls(**config["model"])


def make(out: Path, table: dict[str, dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for seed, (name, config) in enumerate(table.items()):
        torch.manual_seed(seed)
        model = build(config)
        torch.save(model.state_dict(), out / f"{name}.ckpt")
        (out / f"{name}.yaml").write_text(yaml.dump(config, Dumper=Dumper, sort_keys=False))


def load(config_path: Path, checkpoint: Path) -> tuple[dict, nn.Module]:
    config = yaml.unsafe_load(config_path.read_text())  # our own test file
    model = build(config)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return config, model.eval()


def _windowing_array(window_size: int, fade_size: int) -> torch.Tensor:
    fadein = torch.linspace(0, 1, fade_size)
    fadeout = torch.linspace(1, 0, fade_size)
    window = torch.ones(window_size)
    window[-fade_size:] = fadeout
    window[:fade_size] = fadein
    return window


def demix(
    config: dict, model: nn.Module, mix: np.ndarray, dtype: torch.dtype = torch.float32
) -> np.ndarray:
    """MSST ``demix`` (generic mode) as it is, on CPU: (outputs, C, N) in ``dtype``."""
    mix = torch.tensor(mix, dtype=dtype)
    chunk_size = config["audio"]["chunk_size"]
    target = config["training"].get("target_instrument")
    num_instruments = 1 if target else len(config["training"]["instruments"])
    num_overlap = config["inference"]["num_overlap"]
    fade_size = chunk_size // 10
    step = chunk_size // num_overlap
    border = chunk_size - step
    length_init = mix.shape[-1]
    windowing_array = _windowing_array(chunk_size, fade_size).to(dtype)
    if length_init > 2 * border and border > 0:
        mix = nn.functional.pad(mix, (border, border), mode="reflect")
    batch_size = config["inference"]["batch_size"]
    with torch.inference_mode():
        req_shape = (num_instruments, *mix.shape)
        result = torch.zeros(req_shape, dtype=dtype)
        counter = torch.zeros(req_shape, dtype=dtype)
        i = 0
        batch_data = []
        batch_locations = []
        while i < mix.shape[1]:
            part = mix[:, i : i + chunk_size]
            chunk_len = part.shape[-1]
            pad_mode = "reflect" if chunk_len > chunk_size // 2 else "constant"
            part = nn.functional.pad(part, (0, chunk_size - chunk_len), mode=pad_mode, value=0)
            batch_data.append(part)
            batch_locations.append((i, chunk_len))
            i += step
            if len(batch_data) >= batch_size or i >= mix.shape[1]:
                arr = torch.stack(batch_data, dim=0)
                x = model(arr)
                window = windowing_array.clone()
                if i - step == 0:
                    window[:fade_size] = 1
                elif i >= mix.shape[1]:
                    window[-fade_size:] = 1
                for j, (start, seg_len) in enumerate(batch_locations):
                    result[..., start : start + seg_len] += (
                        x[j, ..., :seg_len] * window[..., :seg_len]
                    )
                    counter[..., start : start + seg_len] += window[..., :seg_len]
                batch_data.clear()
                batch_locations.clear()
        estimated_sources = result / counter
        estimated_sources = estimated_sources.numpy()
        np.nan_to_num(estimated_sources, copy=False, nan=0.0)
        if length_init > 2 * border and border > 0:
            estimated_sources = estimated_sources[..., border:-border]
    return estimated_sources


def infer(
    config: dict, model: nn.Module, mix: np.ndarray, dtype: torch.dtype = torch.float32
) -> np.ndarray:
    """MSST's ``inference.py`` around ``demix``: with ``inference.normalize`` the mix goes in as
    ``utils/audio_utils.py``'s ``normalize_audio`` makes it and each stem comes back through its
    ``denormalize_audio``; a ``target_instrument``'s complement is the mix minus the target (as
    demixer defines it: MSST's ``--extract_instrumental`` subtracts before scaling back).
    float32 (2, N) -> float32 (S, 2, N)."""
    normalize = (config.get("inference") or {}).get("normalize") is True
    seen = mix
    if normalize:
        mono = mix.mean(0)
        mean, std = mono.mean(), mono.std()
        seen = (mix - mean) / std
    stems = demix(config, model, seen, dtype)
    if normalize:
        stems = stems * std + mean
    if (config.get("training") or {}).get("target_instrument"):
        stems = np.stack([stems[0], mix - stems[0]])
    return stems.astype(np.float64 if dtype == torch.float64 else np.float32)


def main(argv: list[str]) -> None:
    if argv[0] == "make":
        make(Path(argv[1]), FLAGSHIP if "--flagship" in argv else SMALL)
    elif argv[0] == "demix":
        config, model = load(Path(argv[1]), Path(argv[2]))
        if "--float64" in argv:
            model, dtype = model.double(), torch.float64
        else:
            dtype = torch.float32
        np.save(argv[4], infer(config, model, np.load(argv[3]), dtype))
    else:
        raise SystemExit(f"unknown command {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
