"""Run with the importer environment's Python (PyTorch, pymss-core, audio-separator), by
bench/engine_speed.py: random-weight checkpoints of every imported architecture at its published
flagship size, for timing (speed does not depend on the weights' values).

``make OUT NAME...``: for each name, ``OUT/NAME.ckpt`` + ``OUT/NAME.yaml`` (an MSST checkpoint
and its config, as MSST saves them) or ``OUT/NAME.onnx`` (a UVR MDX-Net file); prints one JSON
line per model with its parameter count.

The configs are the ones the flagship parity tests use, taken from there so both stay one table:

- ``kim_mel_band_roformer``, ``bs_roformer_1297``: ``FLAGSHIP`` in
  tests/engine/roformer_reference.py (Kim's Mel-Band RoFormer vocals config; viperx's
  BS-RoFormer ``model_bs_roformer_ep_317_sdr_12.9755`` config), built with pymss-core 0.1.14's
  ``MelBandRoformer`` / ``BSRoformer``;
- ``drumsep_mdx23c``, ``scnet_large``: ``FLAGSHIP`` in tests/engine/spectral_reference.py (the
  6-stem DrumSep MDX23C, ``config_drumsep_mdx23c.yaml`` in audio-separator 0.47.1's
  ``models.json``; MSST's ``config_musdb18_scnet_large.yaml``), built with pymss-core's
  ``TFC_TDF_net`` / ``SCNet``;
- ``mdx_inst_hq3``: audio-separator 0.47.1's own MDX-Net network class
  (``uvr_lib_v5/mdxnet.py`` ``ConvTDFNet``; its LightningModule base stood in for by
  ``nn.Module``, which is all ``forward`` uses) at UVR-MDX-NET Inst HQ 3's spectrogram shape from
  UVR's model table (``demixer/engine/mdx/known_models.json``, hash
  ``55657dd70583b0fedfba5f67df11d711``: n_fft 6144, dim_f 3072, dim_t 256) and the network
  hyper-parameters of Kim's KUIELab-MDX-Net fork (``configs/model/ConvTDFNet_vocals.yaml``:
  num_blocks 11, l 3, g 48, k 3, bn 8, no bias; UVR publishes no config for its .onnx files),
  exported to ONNX with the input UVR's files have (``input``, float32 (batch, 4, dim_f, dim_t)).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))

MDX_INST_HQ3 = {
    "n_fft": 6144,
    "dim_f": 3072,
    "dim_t": 256,
    "compensate": 1.022,
    "primary_stem": "Instrumental",
}
MDX_NETWORK = {"num_blocks": 11, "l": 3, "g": 48, "k": 3, "bn": 8, "bias": False}


def msst_tables() -> dict[str, tuple[dict, types.ModuleType]]:
    import roformer_reference
    import spectral_reference

    tables = {}
    for module in (roformer_reference, spectral_reference):
        for name, config in module.FLAGSHIP.items():
            tables[name] = (config, module)
    return tables


def mdx_network() -> nn.Module:
    """audio-separator's ``ConvTDFNet`` without PyTorch Lightning (not installed here)."""
    lightning = types.ModuleType("pytorch_lightning")
    lightning.LightningModule = nn.Module  # type: ignore[attr-defined]
    sys.modules.setdefault("pytorch_lightning", lightning)
    from audio_separator.separator.uvr_lib_v5.mdxnet import ConvTDFNet

    p = MDX_INST_HQ3
    return ConvTDFNet(
        target_name="instrumental",
        lr=0.0001,
        optimizer="rmsprop",  # BatchNorm2d, as the MDX-Net models were trained
        dim_c=4,
        dim_f=p["dim_f"],
        dim_t=p["dim_t"],
        n_fft=p["n_fft"],
        hop_length=1024,
        overlap=0,
        **MDX_NETWORK,
    )


def make_mdx(out: Path) -> int:
    torch.manual_seed(0)
    model = mdx_network().eval()
    p = MDX_INST_HQ3
    example = torch.zeros(1, 4, p["dim_f"], p["dim_t"])
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            str(out),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            dynamo=False,
        )
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def make(out: Path, names: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tables = msst_tables()
    for name in names:
        if name == "mdx_inst_hq3":
            params = make_mdx(out / f"{name}.onnx")
        else:
            config, module = tables[name]
            module.make(out, {name: config})
            params = sum(t.numel() for t in torch.load(out / f"{name}.ckpt").values())
        print(json.dumps({"name": name, "checkpoint_values": params}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] != "make":
        raise SystemExit(f"unknown command {sys.argv[1]}")
    make(Path(sys.argv[2]), sys.argv[3:])
