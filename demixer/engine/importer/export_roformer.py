"""Turn MSST BS-RoFormer / Mel-Band RoFormer checkpoints into an ONNX graph for demixer's host code.

(MDX23C and SCNet checkpoints go through the same script: :func:`run` hands them to
``export_spectral.py``.)

Runs as a script with the importer environment's Python (PyTorch + ``pymss-core``, whose classes
load MSST's checkpoints; see :mod:`demixer.engine.importer.environment`), never inside demixer's
own processes, and imports nothing from demixer. Usage::

    python export_roformer.py --out DIR CHECKPOINT.ckpt CONFIG.yaml

The config is read with a safe YAML loader (plus a constructor for ``!!python/tuple``, which
MSST's configs use); the checkpoint with ``torch.load(weights_only=True)``, so a pickle naming
anything beyond tensors and plain containers is refused before any of it runs. The model is the
reference's own class; the graph is its network between ``torch.stft`` and ``torch.istft``:
input ``spectrogram`` float32 (1, F*C, T, 2), the STFT's real/imaginary parts with frequencies
major and channels interleaved (as the reference lays them out), output ``masks`` float32
(1, n, F*C, T, 2), the complex mask per network output (for Mel-Band RoFormer already summed over
overlapping bands and divided by their count). ``DIR/check.npz`` holds one chunk and the
reference's forward pass on it; ``DIR/report.json`` describes the import. User errors print one
``error: ...`` line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

CHECK_SEED = 1234
SUPPORTED = ("bs_roformer", "mel_band_roformer", "mdx23c", "scnet")  # the last two: export_spectral
NOT_YET = ("htdemucs", "bs_conformer", "mel_band_conformer", "apollo")
# the STFT/iSTFT run on the host: these keys decide it and demixer's host code implements them
_COMMON_KEYS = {
    "dim",
    "depth",
    "stereo",
    "num_stems",
    "time_transformer_depth",
    "freq_transformer_depth",
    "dim_head",
    "heads",
    "attn_dropout",
    "ff_dropout",
    "flash_attn",
    "stft_n_fft",
    "stft_hop_length",
    "stft_win_length",
    "stft_normalized",
    "zero_dc",
    "mask_estimator_depth",
    "mlp_expansion_factor",
    "skip_connection",
    # training-only (the multi-resolution STFT loss; checkpointing)
    "multi_stft_resolution_loss_weight",
    "multi_stft_resolutions_window_sizes",
    "multi_stft_hop_size",
    "multi_stft_normalized",
    "use_torch_checkpoint",
    "dim_freqs_in",  # an unused argument of MSST's classes
    "linear_transformer_depth",  # only 0 (checked)
}
MODEL_KEYS = {
    "bs_roformer": _COMMON_KEYS | {"freqs_per_bands", "use_shared_bias", "norm_output"},
    "mel_band_roformer": _COMMON_KEYS
    | {"num_bands", "sample_rate", "match_input_audio_length", "mlp_hidden_layers"},
}
AUDIO_KEYS = {"chunk_size", "sample_rate", "num_channels", "dim_f", "dim_t", "hop_length", "n_fft"}
AUDIO_KEYS |= {"min_mean_abs"}
INFERENCE_KEYS = {"batch_size", "num_overlap", "dim_t", "normalize"}


class ImportRefused(Exception):
    """The files are not something this importer takes; the message says why."""


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``!!python/tuple`` (as a list) and nothing else."""


ConfigLoader.add_constructor(
    "tag:yaml.org,2002:python/tuple",
    lambda loader, node: list(loader.construct_sequence(node)),  # type: ignore[arg-type]
)


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = yaml.load(path.read_text(), Loader=ConfigLoader)  # noqa: S506  # safe subclass
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ImportRefused(f"{path.name}: not a YAML file this importer reads ({first})") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ImportRefused(f"{path.name}: an MSST config has a `model:` section")
    return config


def model_type(config: dict[str, Any], name: str) -> str:
    """``model_type`` as the config declares it, else as its ``model`` keys show (MSST's own
    configs leave it to the command line): ``freqs_per_bands`` -> BS-RoFormer, ``num_bands`` ->
    Mel-Band RoFormer, TFC-TDF keys -> MDX23C, SCNet's band keys -> SCNet."""
    declared = config.get("model_type") or config["model"].get("model_type")
    if declared is not None:
        kind = str(declared).strip().lower()
    else:
        keys = set(config["model"])
        found = set()
        if "freqs_per_bands" in keys:
            found.add("bs_roformer")
        if "num_bands" in keys:
            found.add("mel_band_roformer")
        if {"num_subbands", "num_scales", "num_blocks_per_scale"} <= keys:
            found.add("mdx23c")
        if {"band_SR", "band_stride", "band_kernel"} <= keys or {"dims", "num_dplayer"} <= keys:
            found.add("scnet")
        if len(found) != 1:
            raise ImportRefused(
                f"{name}: cannot tell the architecture from the config"
                + (f" ({' or '.join(sorted(found))})" if found else "")
                + "; add `model_type: ...` at its top level (bs_roformer, mel_band_roformer, "
                + "mdx23c or scnet)"
            )
        kind = found.pop()
        if kind in ("bs_roformer", "mel_band_roformer") and (
            keys & {"time_conformer_depth", "freq_conformer_depth"}
        ):
            kind = kind.replace("roformer", "conformer")
    if kind in NOT_YET:
        raise ImportRefused(f"{name}: model_type {kind} is recognised but not yet supported")
    if kind not in SUPPORTED:
        raise ImportRefused(
            f"{name}: unknown model_type {kind!r} (supported: {', '.join(SUPPORTED)})"
        )
    return kind


def check_keys(config: dict[str, Any], kind: str, name: str) -> None:
    """Refuse any key the exporter does not implement, rather than guess what it does."""
    sections = (
        ("model", MODEL_KEYS[kind]),
        ("audio", AUDIO_KEYS),
        ("inference", INFERENCE_KEYS),
    )
    for section, known in sections:
        values = config.get(section) or {}
        if not isinstance(values, dict):
            raise ImportRefused(f"{name}: `{section}:` must be a mapping")
        unknown = sorted(set(values) - known)
        if unknown:
            raise ImportRefused(f"{name}: {section}.{unknown[0]} is not a key this importer knows")
    model = config["model"]
    if not model.get("stereo", False):
        raise ImportRefused(f"{name}: demixer separates stereo; this model is mono (stereo: false)")
    if model.get("linear_transformer_depth", 0):
        raise ImportRefused(f"{name}: linear transformer layers are not supported")
    if model.get("stft_window_fn") is not None:
        raise ImportRefused(f"{name}: only the default Hann STFT window is supported")
    if "chunk_size" not in (config.get("audio") or {}):
        raise ImportRefused(f"{name}: audio.chunk_size is missing")


def stems(config: dict[str, Any], name: str) -> tuple[list[str], list[str]]:
    """(what the network outputs, the import's stems): with ``training.target_instrument`` the
    network gives only the target and the other stem is the mix minus it (as MSST's inference
    makes ``instrumental``), named after the config's other instrument when there is one."""
    training = config.get("training") or {}
    instruments = [str(i) for i in training.get("instruments") or []]
    if not instruments:
        raise ImportRefused(f"{name}: training.instruments is missing")
    outputs = int(config["model"].get("num_stems", 1))
    target = training.get("target_instrument")
    if target:
        others = [i for i in instruments if i != target]
        if outputs != 1:
            raise ImportRefused(f"{name}: a target_instrument model has one output (num_stems: 1)")
        return [str(target)], [str(target), others[0] if len(others) == 1 else "instrumental"]
    if outputs != len(instruments):
        raise ImportRefused(
            f"{name}: num_stems {outputs} does not match the {len(instruments)} instruments"
        )
    return instruments, instruments


def safe_state(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's state dict, unpickled weights-only (tensors and plain containers)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure is a refusal
        lines = str(exc).strip().splitlines()
        reason = next((line for line in lines if "GLOBAL" in line), lines[0] if lines else "")
        raise ImportRefused(f"{path.name}: refused by the safe loader: {reason}") from None
    if isinstance(loaded, dict):
        for key in ("state", "state_dict", "model_state_dict"):
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not all(
        isinstance(v, torch.Tensor) for v in loaded.values()
    ):
        raise ImportRefused(f"{path.name}: not a state dict of tensors")
    return loaded


def build(kind: str, config: dict[str, Any], state: dict[str, torch.Tensor], name: str) -> Any:
    from pymss_core.modules.bs_roformer import BSRoformer, MelBandRoformer

    cls = BSRoformer if kind == "bs_roformer" else MelBandRoformer
    try:
        model = cls(**config["model"])
        model.load_state_dict(state, strict=True)
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportRefused(f"{name}: the checkpoint does not fit its config: {first}") from None
    return model.eval()


def _rotate_real(cos: torch.Tensor, sin: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The reference's rotary rotation (b, n, h, d) in real arithmetic (its fast path multiplies
    complex numbers, which ONNX has no type for): pairs (even, odd) rotated by (cos, sin)."""
    b, n, h, d = t.shape
    pairs = t.reshape(b, n, h, d // 2, 2)
    even, odd = pairs[:, :, :, :, 0], pairs[:, :, :, :, 1]
    return torch.stack((even * cos - odd * sin, odd * cos + even * sin), dim=4).reshape(b, n, h, d)


class _FusedAttention(torch.autograd.Function):
    """``softmax(q k^T / sqrt(d)) v`` over ``heads`` heads, q/k/v float32 (b, n, heads * d) ->
    (b, n, heads * d), exported as onnxruntime's ``com.microsoft.MultiHeadAttention``: computed
    tile by tile, never writing out the (b, heads, n, n) scores (at the published sizes 1.2 GB
    a layer: 60 or 62 bands x 8 heads x 801 x 801 frames), as the reference's
    ``scaled_dot_product_attention`` does not either. The same arithmetic in PyTorch for the
    trace and the export's check."""

    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> Any:
        b, n, width = q.shape
        d = width // heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, heads, d).permute(0, 2, 1, 3)

        scores = torch.matmul(split(q), split(k).permute(0, 1, 3, 2)) * (d**-0.5)
        out = torch.matmul(torch.softmax(scores, dim=3), split(v))
        return out.permute(0, 2, 1, 3).reshape(b, n, width)

    @staticmethod
    def symbolic(g: Any, q: Any, k: Any, v: Any, heads: int) -> Any:
        return g.op("com.microsoft::MultiHeadAttention", q, k, v, num_heads_i=heads)


def _attention(self: Any, x: torch.Tensor) -> torch.Tensor:
    """pymss-core's ``Attention.forward`` (MIT) written out with explicit axes: the exporter
    resolves some of its negative axes against a wrong rank. Same arithmetic: RMS norm, q/k/v,
    rotary, softmax(q k^T / sqrt(d)) v (:class:`_FusedAttention`), sigmoid gates per head,
    output projection."""
    from pymss_core.modules.bs_roformer.transformer import cached_rotary_cos_sin

    x = self.norm(x)
    b, n, _ = x.shape
    qkv = self.to_qkv(x)
    dim_head = qkv.shape[2] // (3 * self.heads)
    qkv = qkv.reshape(b, n, 3, self.heads, dim_head)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    if self.rotary_embed is not None:
        cos, sin = cached_rotary_cos_sin(self.rotary_embed, n, x.device, x.dtype)
        q, k = _rotate_real(cos, sin, q), _rotate_real(cos, sin, k)
    width = self.heads * dim_head
    q, k, v = q.reshape(b, n, width), k.reshape(b, n, width), v.reshape(b, n, width)
    out = _FusedAttention.apply(q, k, v, self.heads).reshape(b, n, self.heads, dim_head)
    gates = torch.sigmoid(self.to_gates(x)).reshape(b, n, self.heads, 1)
    return self.to_out((out * gates).reshape(b, n, width))


def _mask_estimator(self: Any, x: torch.Tensor) -> torch.Tensor:
    """pymss-core's ``MaskEstimator`` as MSST's original writes it (each band's MLP + GLU on its
    features, concatenated), with explicit axes: (b, t, bands, dim) -> (b, t, sum of outputs)."""
    return torch.cat([mlp(x[:, :, i]) for i, mlp in enumerate(self.to_freqs)], dim=2)


def _glu(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``F.glu`` spelled out (the ONNX exporter's own rule for it misreads the axis when the
    rank is not known): the first half times the sigmoid of the second."""
    first, second = x.chunk(2, dim=dim % x.dim())
    return first * torch.sigmoid(second)


class MaskGraph(torch.nn.Module):
    """The reference's forward between ``torch.stft`` and ``torch.istft``: the spectrogram's
    real/imaginary parts in, the complex masks out (pymss-core ``_mask_stft_repr``, MIT)."""

    def __init__(self, model: Any, mel: bool) -> None:
        super().__init__()
        self.model = model
        self.mel = mel

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        from pymss_core.modules.bs_roformer.common import forward_roformer_mask_core

        m = self.model
        if not self.mel:
            return forward_roformer_mask_core(m, spectrogram)
        masks = forward_roformer_mask_core(m, spectrogram[:, m.freq_indices])
        b, n, _, t, _ = masks.shape
        index = m.freq_indices[None, None, :, None, None].expand(b, n, -1, t, 2)
        summed = masks.new_zeros(b, n, spectrogram.shape[1], t, 2).scatter_add(2, index, masks)
        return summed / m.num_bands_per_channel_freq.clamp(min=1e-8)[..., None]


def export(model: Any, mel: bool, frames: int, target: Path) -> None:
    from pymss_core.modules.bs_roformer import bands, transformer

    freqs = model.stft_kwargs["n_fft"] // 2 + 1
    spectrogram = torch.zeros(1, freqs * 2, frames, 2)
    model.requires_grad_(False)  # the grouped weights the reference caches become constants
    # one estimator after another, as its unpacked path does (the packed one's broadcast does
    # not export)
    model._packed_mask_estimators_available = False
    glu, attention = torch.nn.functional.glu, transformer.Attention.forward
    estimator = bands.MaskEstimator.forward
    transformer.Attention.forward = _attention
    bands.MaskEstimator.forward = _mask_estimator
    model.band_split.use_grouped_forward = False  # one Linear per band, as MSST's original
    torch.nn.functional.glu = _glu
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model._warm_group_cache(spectrogram)
            torch.onnx.export(
                MaskGraph(model, mel).eval(),
                (spectrogram,),
                str(target),
                input_names=["spectrogram"],
                output_names=["masks"],
                opset_version=17,
                dynamo=False,
            )
    finally:
        transformer.Attention.forward = attention
        bands.MaskEstimator.forward = estimator
        torch.nn.functional.glu = glu


def run(checkpoint: Path, config_path: Path, out: Path) -> dict[str, Any]:
    config = read_config(config_path)
    kind = model_type(config, config_path.name)
    if kind in ("mdx23c", "scnet"):  # export_spectral.py, beside this script
        spectral = importlib.import_module("export_spectral")
        report: dict[str, Any] = spectral.run_spectral(
            sys.modules[__name__], kind, config, checkpoint, config_path, out
        )
        return report
    check_keys(config, kind, config_path.name)
    outputs, sources = stems(config, config_path.name)
    model_cfg, audio = config["model"], config["audio"]
    n_fft = int(model_cfg.get("stft_n_fft", 2048))
    hop = int(model_cfg.get("stft_hop_length", 512))
    chunk = int(audio["chunk_size"])
    mel = kind == "mel_band_roformer"
    matched = not mel or bool(model_cfg.get("match_input_audio_length", False))
    if not matched and chunk % hop:
        # the reference's iSTFT then returns fewer samples than the chunk and its demix fails
        raise ImportRefused(
            f"{config_path.name}: audio.chunk_size {chunk} is not a multiple of the hop {hop}"
        )
    model = build(kind, config, safe_state(checkpoint), checkpoint.name)
    out.mkdir(parents=True, exist_ok=True)
    print(f"exporting {checkpoint.name} ({kind}) -> model.onnx", file=sys.stderr, flush=True)
    export(model, mel, chunk // hop + 1, out / "model.onnx")
    save_check(model, chunk, out)
    return {
        **chunked_report(checkpoint, config_path, kind, config, sources, outputs),
        "n_fft": n_fft,
        "hop_length": hop,
        "win_length": int(model_cfg.get("stft_win_length", 2048)),
        "normalized": bool(model_cfg.get("stft_normalized", False)),
        "zero_dc": bool(model_cfg.get("zero_dc", mel)),  # the classes' defaults
        "istft_length": chunk if matched else hop * (chunk // hop),
    }


def save_check(model: torch.nn.Module, chunk: int, out: Path) -> None:
    """``check.npz``: PyTorch's forward pass on one chunk of noise (seeded), which the host
    checks the exported graph against."""
    model.eval()
    generator = torch.Generator().manual_seed(CHECK_SEED)
    mix = 0.1 * torch.randn(1, 2, chunk, generator=generator)
    with torch.no_grad():
        reference = model(mix)[0]
    if reference.ndim == 2:  # one output: the reference drops the stem axis
        reference = reference[None]
    np.savez(out / "check.npz", mix=mix[0].numpy(), reference=reference.numpy())


def chunked_report(
    checkpoint: Path,
    config_path: Path,
    kind: str,
    config: dict[str, Any],
    sources: list[str],
    outputs: list[str],
) -> dict[str, Any]:
    """What every MSST export reports besides its STFT: the stems, MSST's chunking, the files
    (the host hashes them), the check and the exporter's versions."""
    audio, inference = config["audio"], config.get("inference") or {}
    return {
        "name": checkpoint.stem,
        "model_type": kind,
        "sources": sources,
        "outputs": outputs,
        "samplerate": int(audio.get("sample_rate", 44100)),
        "channels": 2,
        "chunk_size": int(audio["chunk_size"]),
        "num_overlap": int(inference.get("num_overlap", 4)),
        "batch_size": int(inference.get("batch_size", 1)),
        "normalize": inference.get("normalize") is True,  # as MSST's inference tests it
        "graph": "model.onnx",
        "checkpoint": checkpoint.name,
        "config": config_path.name,
        "check": "check.npz",
        "torch": torch.__version__,
        "pymss_core": metadata.version("pymss-core"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    configs = [f for f in args.files if f.suffix in (".yaml", ".yml")]
    checkpoints = [f for f in args.files if f.suffix in (".ckpt", ".pth", ".pt")]
    try:
        if len(configs) != 1 or len(checkpoints) != 1 or len(args.files) != 2:
            raise ImportRefused("give one checkpoint (.ckpt or .pth) and its config (.yaml)")
        report = run(checkpoints[0], configs[0], args.out)
    except ImportRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
