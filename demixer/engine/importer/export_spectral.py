"""Turn MSST MDX23C (TFC-TDF v3) and SCNet checkpoints into an ONNX graph for demixer's host code.

Loaded by ``export_roformer.py`` (the one export script for MSST checkpoints) when the config's
``model_type`` is ``mdx23c`` or ``scnet``; runs with the importer environment's Python and imports
nothing from demixer. The helpers it shares with the RoFormer exporter (safe YAML and
weights-only loading, the refusal) come in as ``common``.

The model is the reference's own class (pymss-core's ``TFC_TDF_net`` / ``SCNet``); the graph is
its network between the STFT and the iSTFT, which demixer runs on the host:

- input ``spectrogram`` float32 (1, C*2, F, T): per channel its real then imaginary part
  (the reference's ``view_as_real(...).permute(0, 3, 1, 2).reshape(b, c * 2, f, t)``); MDX23C
  keeps the first ``audio.dim_f`` bins of ``torch.stft(n_fft, hop, hann(n_fft))``, SCNet all of
  its normalised ``torch.stft(nfft, hop_size, win_size)`` (no window given: a rectangular one) of
  the chunk padded as its ``forward`` pads it;
- output ``spectrum`` float32 (1, n, C*2, F, T): each output's spectrum in the same layout (the
  network predicts it directly; there is no mask to apply).

SCNet's ``FeatureConversion`` (an orthonormal ``rfft``/``irfft`` over frames) is exported as two
matrix products with the exact DFT matrices for the graph's fixed frame count.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

SPECTRAL = ("mdx23c", "scnet")
MODEL_KEYS = {
    "mdx23c": {
        "act",
        "bottleneck_factor",
        "growth",
        "norm",
        "num_blocks_per_scale",
        "num_channels",
        "num_scales",
        "num_subbands",
        "scale",
    },
    "scnet": {
        "sources",
        "audio_channels",
        "dims",
        "nfft",
        "hop_size",
        "win_size",
        "normalized",
        "band_SR",
        "band_stride",
        "band_kernel",
        "conv_depths",
        "compress",
        "conv_kernel",
        "num_dplayer",
        "expand",
    },
}
AUDIO_KEYS = {"chunk_size", "sample_rate", "num_channels", "dim_f", "dim_t", "hop_length", "n_fft"}
AUDIO_KEYS |= {"min_mean_abs"}
INFERENCE_KEYS = {"batch_size", "num_overlap", "dim_t", "normalize"}
SCNET_DEFAULTS = {"nfft": 4096, "hop_size": 1024, "win_size": 4096, "normalized": True}


def check_keys(common: ModuleType, config: dict[str, Any], kind: str, name: str) -> None:
    """Refuse any key this exporter does not implement, rather than guess what it does."""
    for section, known in (
        ("model", MODEL_KEYS[kind] | {"model_type"}),
        ("audio", AUDIO_KEYS),
        ("inference", INFERENCE_KEYS),
    ):
        values = config.get(section) or {}
        if not isinstance(values, dict):
            raise common.ImportRefused(f"{name}: `{section}:` must be a mapping")
        unknown = sorted(set(values) - known)
        if unknown:
            raise common.ImportRefused(
                f"{name}: {section}.{unknown[0]} is not a key this importer knows"
            )
    audio, model = config.get("audio") or {}, config["model"]
    if "chunk_size" not in audio:
        raise common.ImportRefused(f"{name}: audio.chunk_size is missing")
    channels = model.get("audio_channels", 2) if kind == "scnet" else audio.get("num_channels", 2)
    if int(channels) != 2:
        raise common.ImportRefused(f"{name}: demixer separates stereo; this model has {channels}")
    if kind == "mdx23c":
        missing = sorted({"dim_f", "hop_length", "n_fft"} - set(audio))
        if missing:
            raise common.ImportRefused(f"{name}: audio.{missing[0]} is missing")
        if int(audio["chunk_size"]) % int(audio["hop_length"]):
            raise common.ImportRefused(
                f"{name}: audio.chunk_size {audio['chunk_size']} is not a multiple of "
                f"audio.hop_length {audio['hop_length']} (the reference's iSTFT would be short)"
            )


def stems(common: ModuleType, config: dict[str, Any], kind: str, name: str) -> tuple[list, list]:
    """(what the network outputs, the import's stems), as MSST's inference names them."""
    training = config.get("training") or {}
    instruments = [str(i) for i in training.get("instruments") or []]
    if not instruments:
        raise common.ImportRefused(f"{name}: training.instruments is missing")
    target = training.get("target_instrument")
    if kind == "scnet":
        sources = config["model"].get("sources") or ["drums", "bass", "other", "vocals"]
        outputs = len(sources)
    else:
        outputs = 1 if target else len(instruments)
    if target:
        if outputs != 1:
            raise common.ImportRefused(f"{name}: a target_instrument model has one output")
        others = [i for i in instruments if i != target]
        return [str(target)], [str(target), others[0] if len(others) == 1 else "instrumental"]
    if outputs != len(instruments):
        raise common.ImportRefused(
            f"{name}: the network gives {outputs} stems, the config names {len(instruments)}"
        )
    return instruments, instruments


def build(common: ModuleType, kind: str, config: dict[str, Any], state: dict, name: str) -> Any:
    try:
        if kind == "mdx23c":
            from pymss_core.config import to_attrdict
            from pymss_core.modules.mdx23c_tfc_tdf_v3 import TFC_TDF_net

            model = TFC_TDF_net(to_attrdict(config))
        else:
            from pymss_core.modules.scnet import SCNet

            kwargs = {k: v for k, v in config["model"].items() if k != "model_type"}
            model = SCNet(**kwargs)
        model.load_state_dict(state, strict=True)
    except (TypeError, ValueError, AssertionError, RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise common.ImportRefused(
            f"{name}: the checkpoint does not fit its config: {first}"
        ) from None
    return model.eval()


class Mdx23cGraph(torch.nn.Module):
    """pymss-core's ``forward_subband_mask_model`` (MIT) without its STFT and iSTFT."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        from pymss_core.modules.spectrogram import cac_to_cws, cws_to_cac

        m = self.model
        mix = x = cac_to_cws(spectrogram, m.num_subbands)
        first = x = m.first_conv(x)
        x = m._forward_core(x.transpose(2, 3)).transpose(2, 3) * first
        x = cws_to_cac(m.final_conv(torch.cat([mix, x], 1)), m.num_subbands)
        return x.reshape(1, m.num_target_instruments, -1, x.shape[2], x.shape[3])


class ScnetGraph(torch.nn.Module):
    """pymss-core's ``SCNet.forward`` (MIT) between its ``torch.stft`` and ``torch.istft``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = spectrogram
        saved = []
        for sd_layer in m.encoder:
            x, skip, lengths, original_lengths = sd_layer(x)
            saved.append((skip, lengths, original_lengths))
        x = m.separation_net(x)
        for fusion_layer, su_layer in m.decoder:
            skip, lengths, original_lengths = saved.pop()
            x = su_layer(fusion_layer(x, skip), lengths, original_lengths)
        return x.reshape(1, len(m.sources), -1, spectrogram.shape[2], spectrogram.shape[3])


def _dft(frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and -sin matrices (frames, frames // 2 + 1) of the orthonormal real DFT."""
    n = np.arange(frames)[:, None]
    k = np.arange(frames // 2 + 1)[None, :]
    angle = 2 * np.pi * ((n * k) % frames) / frames
    scale = 1 / math.sqrt(frames)
    return (
        torch.from_numpy((np.cos(angle) * scale).astype(np.float32)),
        torch.from_numpy((-np.sin(angle) * scale).astype(np.float32)),
    )


def _idft(bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The matrices (bins, n) of ``irfft(n=2 * (bins - 1), norm="ortho")``: real and imaginary
    parts' weights (the DC and Nyquist bins' imaginary parts ignored, as pocketfft does)."""
    frames = 2 * (bins - 1)
    k = np.arange(bins)[:, None]
    n = np.arange(frames)[None, :]
    angle = 2 * np.pi * ((k * n) % frames) / frames
    weight = np.full((bins, 1), 2.0)
    weight[0] = weight[-1] = 1.0
    scale = weight / math.sqrt(frames)
    return (
        torch.from_numpy((np.cos(angle) * scale).astype(np.float32)),
        torch.from_numpy((-np.sin(angle) * scale).astype(np.float32)),
    )


def _feature_conversion(self: Any, x: torch.Tensor) -> torch.Tensor:
    """pymss-core's ``FeatureConversion.forward`` (MIT) as matrix products over the last axis."""
    x = x.float()
    if self.inverse:
        half = self.channels // 2
        real, imag = _idft(int(x.shape[3]))
        return torch.matmul(x[:, :half], real) + torch.matmul(x[:, half:], imag)
    cos, sin = _dft(int(x.shape[3]))
    return torch.cat([torch.matmul(x, cos), torch.matmul(x, sin)], dim=1)


def scnet_padding(chunk: int, hop: int) -> int:
    """The zeros ``SCNet.forward`` appends to a chunk (an odd number of hops in all)."""
    padding = hop - chunk % hop
    if (chunk + padding) // hop % 2 == 0:
        padding += hop
    return padding


def export(kind: str, model: Any, channels: int, freqs: int, frames: int, target: Path) -> None:
    from pymss_core.modules.scnet import separation

    spectrogram = torch.zeros(1, channels * 2, freqs, frames)
    model.requires_grad_(False)
    graph = Mdx23cGraph(model) if kind == "mdx23c" else ScnetGraph(model)
    conversion = separation.FeatureConversion.forward
    separation.FeatureConversion.forward = _feature_conversion
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph.eval(),
                (spectrogram,),
                str(target),
                input_names=["spectrogram"],
                output_names=["spectrum"],
                opset_version=17,
                dynamo=False,
            )
    finally:
        separation.FeatureConversion.forward = conversion


def run_spectral(
    common: ModuleType,
    kind: str,
    config: dict[str, Any],
    checkpoint: Path,
    config_path: Path,
    out: Path,
) -> dict[str, Any]:
    name = config_path.name
    check_keys(common, config, kind, name)
    outputs, sources = stems(common, config, kind, name)
    audio = config["audio"]
    chunk = int(audio["chunk_size"])
    if kind == "mdx23c":
        n_fft, hop = int(audio["n_fft"]), int(audio["hop_length"])
        win, normalized, dim_f, padding = n_fft, False, int(audio["dim_f"]), 0
    else:
        model_cfg = {**SCNET_DEFAULTS, **config["model"]}
        n_fft, hop = int(model_cfg["nfft"]), int(model_cfg["hop_size"])
        win, normalized = int(model_cfg["win_size"]), bool(model_cfg["normalized"])
        dim_f, padding = n_fft // 2 + 1, scnet_padding(chunk, hop)
    model = build(common, kind, config, common.safe_state(checkpoint), checkpoint.name)
    out.mkdir(parents=True, exist_ok=True)
    print(f"exporting {checkpoint.name} ({kind}) -> model.onnx", file=sys.stderr, flush=True)
    frames = (chunk + padding) // hop + 1
    export(kind, model, 2, dim_f, frames, out / "model.onnx")
    common.save_check(model, chunk, out)
    return {
        **common.chunked_report(checkpoint, config_path, kind, config, sources, outputs),
        "n_fft": n_fft,
        "hop_length": hop,
        "win_length": win,
        "normalized": normalized,
        "rectangular": kind == "scnet",  # SCNet's torch.stft gets no window: ones
        "dim_f": dim_f,
        "padding": padding,
    }
