"""Turn serialized Demucs v4 packages (``.th``) into ONNX graphs with demixer's two-input contract.

Runs as a script with the importer environment's Python (PyTorch + ``demucs``; see
:mod:`demixer.engine.importer.environment`), never inside demixer's own processes, and imports
nothing from demixer. Usage::

    python export_demucs.py --out DIR FILE.th [FILE.th ...] [BAG.yaml]

Each checkpoint is loaded with ``torch.load(weights_only=True)`` and an allow-list of the few
globals a Demucs package holds (the ``HTDemucs`` class, ``fractions.Fraction`` and numpy's scalar
types), so a pickle that names anything else (``os.system`` in a ``__reduce__``) is refused
before any of it runs. Each model becomes ``DIR/member-<i>.onnx``: inputs the segment's waveform
(1, C, L) and its spectrogram (1, 2C, 2048, T) as ``HTDemucs._magnitude(_spec(mix))`` computes it
(demixer computes it on the host), outputs the spectral branch (1, S, 2C, 2048, T) before
``_mask``/``_ispec`` and the time branch (1, S, C, L). ``DIR/check.npz`` holds a test segment and
each model's PyTorch output on it, which demixer's side compares with its own forward pass;
``DIR/report.json`` describes the import. User errors print one ``error: ...`` line, exit 2.
"""

from __future__ import annotations

import argparse
import fractions
import inspect
import json
import math
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from demucs.htdemucs import HTDemucs
from demucs.states import set_state
from einops import rearrange

# the host STFT demixer runs (demixer/engine/dsp.py) is htdemucs' own at these settings
NFFT = 4096
SAMPLERATE = 44100
CHECK_SEED = 1234


class ImportRefused(Exception):
    """The files are not something this importer takes; the message says why."""


def _allowed_globals() -> list[Any]:
    """Everything a Demucs package may name besides what ``weights_only`` allows already."""
    scalar_types = [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32", "bool")]
    return [HTDemucs, fractions.Fraction, np.dtype, *scalar_types, _numpy_scalar()]


def _numpy_scalar() -> Any:
    core = getattr(np, "_core", None) or np.core
    return core.multiarray.scalar


def safe_load(path: Path) -> dict[str, Any]:
    """The package in ``path``, unpickled with the allow-list only (nothing else can run)."""
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(_allowed_globals()):
            warnings.simplefilter("ignore")
            package = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure is a refusal
        named = re.search(r"GLOBAL (\S+?)(?: was not an allowed global| whose module)", str(exc))
        lines = str(exc).strip().splitlines()
        reason = (
            f"it names {named[1]}, which is not on the allow-list"
            if named
            else (lines[0] if lines else type(exc).__name__)
        )
        raise ImportRefused(
            f"{path.name}: refused by the safe loader (only Demucs v4 HTDemucs packages are "
            f"imported): {reason}"
        ) from None
    if not isinstance(package, dict) or not {"klass", "args", "kwargs", "state"} <= set(package):
        raise ImportRefused(
            f"{path.name}: not a serialized Demucs model (expected a dict with klass, args, "
            "kwargs and state)"
        )
    if package["klass"] is not HTDemucs:
        raise ImportRefused(f"{path.name}: only HTDemucs (Demucs v4) models are imported")
    if package["state"].get("__quantized"):
        raise ImportRefused(f"{path.name}: DiffQ-quantized checkpoints are not supported")
    return package


def build(package: dict[str, Any], name: str) -> HTDemucs:
    """The model of a package, as ``demucs.states.load_model`` builds it (unknown kwargs
    dropped), checked against what demixer's host code computes."""
    known = inspect.signature(HTDemucs).parameters
    kwargs = {key: value for key, value in package["kwargs"].items() if key in known}
    model = HTDemucs(*package["args"], **kwargs)
    set_state(model, package["state"])
    model.eval()
    if not model.cac or model.nfft != NFFT or model.samplerate != SAMPLERATE:
        raise ImportRefused(
            f"{name}: demixer runs htdemucs with complex-as-channels, nfft {NFFT} at "
            f"{SAMPLERATE} Hz; this model has cac={model.cac}, nfft={model.nfft}, "
            f"samplerate={model.samplerate}"
        )
    if model.audio_channels != 2:
        raise ImportRefused(
            f"{name}: demixer separates stereo; this model has {model.audio_channels} channels"
        )
    if not model.use_train_segment:
        raise ImportRefused(f"{name}: models without a training segment are not supported")
    return model


class SegmentGraph(torch.nn.Module):
    """``HTDemucs.forward`` from the spectrogram on, up to (not including) ``_mask``/``_ispec``:
    the part demixer runs in onnxruntime. A port of demucs/htdemucs.py (MIT, Meta)."""

    def __init__(self, model: HTDemucs) -> None:
        super().__init__()
        self.model = model

    def forward(self, mix: torch.Tensor, mag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        length = mix.shape[-1]
        x = mag
        B, _, Fq, T = x.shape
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) / (1e-5 + std)
        xt = mix
        meant = xt.mean(dim=(1, 2), keepdim=True)
        stdt = xt.std(dim=(1, 2), keepdim=True)
        xt = (xt - meant) / (1e-5 + stdt)

        saved, saved_t, lengths, lengths_t = [], [], [], []
        for idx, encode in enumerate(m.encoder):
            lengths.append(x.shape[-1])
            inject = None
            if idx < len(m.tencoder):
                lengths_t.append(xt.shape[-1])
                tenc = m.tencoder[idx]
                xt = tenc(xt)
                if not tenc.empty:
                    saved_t.append(xt)
                else:
                    inject = xt
            x = encode(x, inject)
            if idx == 0 and m.freq_emb is not None:
                frs = torch.arange(x.shape[-2], device=x.device)
                emb = m.freq_emb(frs).t()[None, :, :, None].expand_as(x)
                x = x + m.freq_emb_scale * emb
            saved.append(x)
        if m.crosstransformer:
            if m.bottom_channels:
                f = x.shape[2]
                x = rearrange(x, "b c f t-> b c (f t)")
                x = m.channel_upsampler(x)
                x = rearrange(x, "b c (f t)-> b c f t", f=f)
                xt = m.channel_upsampler_t(xt)
            x, xt = m.crosstransformer(x, xt)
            if m.bottom_channels:
                x = rearrange(x, "b c f t-> b c (f t)")
                x = m.channel_downsampler(x)
                x = rearrange(x, "b c (f t)-> b c f t", f=f)
                xt = m.channel_downsampler_t(xt)

        for idx, decode in enumerate(m.decoder):
            skip = saved.pop(-1)
            x, pre = decode(x, skip, lengths.pop(-1))
            offset = m.depth - len(m.tdecoder)
            if idx >= offset:
                tdec = m.tdecoder[idx - offset]
                length_t = lengths_t.pop(-1)
                if tdec.empty:
                    pre = pre[:, :, 0]
                    xt, _ = tdec(pre, None, length_t)
                else:
                    skip = saved_t.pop(-1)
                    xt, _ = tdec(xt, skip, length_t)

        S = len(m.sources)
        x = x.view(B, S, -1, Fq, T)
        x = x * std[:, None] + mean[:, None]
        xt = xt.view(B, S, -1, length)
        xt = xt * stdt[:, None] + meant[:, None]
        return x, xt


def segment_samples(model: HTDemucs) -> int:
    return int(model.segment * model.samplerate)


def export(model: HTDemucs, target: Path) -> None:
    """Write the model's :class:`SegmentGraph` at its training length, static shapes."""
    length = segment_samples(model)
    frames = math.ceil(length / (NFFT // 4))
    mix = torch.zeros(1, model.audio_channels, length)
    mag = torch.zeros(1, 2 * model.audio_channels, NFFT // 2, frames)
    # the fused attention kernel nn.MultiheadAttention takes in inference has no ONNX export;
    # its plain path is the same arithmetic
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        _export(model, (mix, mag), target)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _export(model: HTDemucs, inputs: tuple[torch.Tensor, torch.Tensor], target: Path) -> None:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SegmentGraph(model),
            inputs,
            str(target),
            input_names=["mix", "spectrogram"],
            output_names=["spectral", "temporal"],
            opset_version=17,
            dynamo=False,
        )


def _bag(files: list[Path]) -> tuple[list[Path], list[list[float]] | None, float | None, str]:
    """The checkpoints in bag order, the bag's weights and segment, and the import's name."""
    yamls = [f for f in files if f.suffix in (".yaml", ".yml")]
    checkpoints = [f for f in files if f.suffix == ".th"]
    others = [f for f in files if f not in yamls and f not in checkpoints]
    if others:
        raise ImportRefused(f"{others[0].name}: expected .th checkpoints and one bag .yaml")
    if len(yamls) > 1:
        raise ImportRefused("give at most one bag .yaml")
    if not checkpoints:
        raise ImportRefused("give at least one .th checkpoint")
    if not yamls:
        if len(checkpoints) > 1:
            raise ImportRefused("several checkpoints form a bag: give the bag's .yaml too")
        return checkpoints, None, None, checkpoints[0].stem.split("-")[0]
    spec = yaml.safe_load(yamls[0].read_text())
    if not isinstance(spec, dict) or not isinstance(spec.get("models"), list):
        raise ImportRefused(f"{yamls[0].name}: a bag .yaml lists its models under `models:`")
    ordered = []
    for sig in spec["models"]:
        match = [f for f in checkpoints if f.stem == str(sig) or f.stem.startswith(f"{sig}-")]
        if len(match) != 1:
            raise ImportRefused(
                f"{yamls[0].name} names model {sig}: give its checkpoint ({sig}-*.th)"
                if not match
                else f"several checkpoints match {sig}"
            )
        ordered.append(match[0])
    unused = [f.name for f in checkpoints if f not in ordered]
    if unused:
        raise ImportRefused(f"{unused[0]} is not one of the models {yamls[0].name} lists")
    weights = spec.get("weights")
    segment = spec.get("segment")
    return ordered, weights, segment, yamls[0].stem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    try:
        report = run(args.files, args.out)
    except ImportRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    return 0


def run(files: list[Path], out: Path) -> dict[str, Any]:
    checkpoints, weights, segment, name = _bag(files)
    models = []
    for path in checkpoints:
        model = build(safe_load(path), path.name)
        if segment is not None and segment <= model.segment:
            model.segment = segment  # as BagOfModels(segment=...) does
        models.append(model)
    first = models[0]
    for path, model in zip(checkpoints, models, strict=True):
        if model.sources != first.sources or segment_samples(model) != segment_samples(first):
            raise ImportRefused(
                f"{path.name}: a bag's models must share their sources and segment length"
            )
    sources = list(first.sources)
    if weights is None:
        weights = [[1.0] * len(sources) for _ in models]
    if len(weights) != len(models) or any(len(w) != len(sources) for w in weights):
        raise ImportRefused("the bag's weights need one row per model, one weight per source")
    out.mkdir(parents=True, exist_ok=True)
    length = segment_samples(first)
    generator = torch.Generator().manual_seed(CHECK_SEED)
    check_mix = 0.1 * torch.randn(1, first.audio_channels, length, generator=generator)
    check: dict[str, np.ndarray] = {"mix": check_mix[0].numpy()}
    members = []
    for index, (path, model) in enumerate(zip(checkpoints, models, strict=True)):
        graph = f"member-{index}.onnx"
        print(f"exporting {path.name} -> {graph}", file=sys.stderr, flush=True)
        export(model, out / graph)
        with torch.no_grad():
            check[f"member-{index}"] = model(check_mix)[0].numpy()
        members.append(
            {
                "checkpoint": path.name,
                "graph": graph,
                "weights": [float(w) for w in weights[index]],
            }
        )
    np.savez(out / "check.npz", **check)  # type: ignore[arg-type]  # names, not flags
    return {
        "name": name,
        "sources": sources,
        "samplerate": first.samplerate,
        "channels": first.audio_channels,
        "segment_samples": length,
        "members": members,
        "check": "check.npz",
        "torch": torch.__version__,
    }


if __name__ == "__main__":
    sys.exit(main())
