"""Helper run with the importer environment's Python (PyTorch, audio-separator 0.47.1); imports
nothing from demixer.

``make OUT.onnx [DIM_T]``: a random-weight MDX-Net-shaped graph, a small conv net with a
TDF-like layer across the frequency bins, exported with the signature UVR's files have (input
``input``, float32 (1, 4, DIM_F, DIM_T) -> the same shape; DIM_T 256 unless given).

``separate MODEL.onnx AUDIO OUT.npz [DIM_T SEGMENT]``: audio-separator's ``MDXSeparator`` at its
defaults (segment size 256, overlap 0.25, batch 1, denoise off; the graph's dim_t 256) or at the
given dim_t and segment size, on the file, its two stems saved as float32 (2, N) arrays under
their stem names, taken as it hands them to be written (before the writer's own peak
normalisation and 16-bit conversion). Where the segment size is not dim_t the reference runs the
graph converted to PyTorch by onnx2torch.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import torch

N_FFT, DIM_F, DIM_T, COMPENSATE, PRIMARY = 2048, 96, 256, 1.035, "Vocals"


class TinyMdx(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.across = torch.nn.Linear(DIM_F, DIM_F)  # MDX-Net's TDF: a layer across the bins
        self.second = torch.nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.first(spec)).transpose(2, 3)  # (b, c, t, f)
        return spec * 0.5 + self.second(self.across(hidden).transpose(2, 3))


def make(out: Path, dim_t: int = DIM_T) -> None:
    torch.manual_seed(21)
    model = TinyMdx().eval()
    example = torch.zeros(1, 4, DIM_F, dim_t)
    torch.onnx.export(
        model,
        (example,),
        str(out),
        input_names=["input"],
        output_names=["output"],
        opset_version=13,  # one onnx2torch converts (it has no converter for opset 19's Constant)
        dynamo=False,
    )


def _without_torchvision() -> None:
    """onnx2torch imports torchvision for its NMS and RoiAlign converters only, and the
    torchvision wheel here is not the CPU build torch is (its operators fail to register): a
    stand-in module lets onnx2torch load; an MDX-Net graph has neither operator."""
    import types

    def unavailable(*args: object, **kwargs: object) -> None:
        raise RuntimeError("torchvision is not available to this reference")

    vision, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
    ops.nms = ops.roi_align = ops.box_convert = unavailable  # type: ignore[attr-defined]
    vision.ops = ops  # type: ignore[attr-defined]
    sys.modules.setdefault("torchvision", vision)
    sys.modules.setdefault("torchvision.ops", ops)


def separate(model: Path, audio: Path, out: Path, dim_t: int = DIM_T, segment: int = 256) -> None:
    _without_torchvision()
    from audio_separator.separator.architectures.mdx_separator import MDXSeparator

    logger = logging.getLogger("reference")
    common = {
        "logger": logger,
        "log_level": logging.WARNING,
        "torch_device": torch.device("cpu"),
        "torch_device_cpu": torch.device("cpu"),
        "torch_device_mps": None,
        "onnx_execution_provider": ["CPUExecutionProvider"],
        "model_name": model.stem,
        "model_path": str(model),
        "model_data": {
            "compensate": COMPENSATE,
            "mdx_dim_f_set": DIM_F,
            "mdx_dim_t_set": int(np.log2(dim_t)),
            "mdx_n_fft_scale_set": N_FFT,
            "primary_stem": PRIMARY,
        },
        "output_dir": str(out.parent),
        "output_format": "WAV",
        "normalization_threshold": 0.9,
        "amplification_threshold": 0.0,
        "enable_denoise": False,
        "output_single_stem": None,
        "invert_using_spec": False,
        "sample_rate": 44100,
    }
    # Separator's defaults (separator.py: mdx_params)
    arch = {"hop_length": 1024, "segment_size": segment, "overlap": 0.25, "batch_size": 1}
    separator = MDXSeparator(common, {**arch, "enable_denoise": False})
    stems: dict[str, np.ndarray] = {}

    def keep(stem_path: str, source: np.ndarray, stem_name: str) -> dict[str, np.ndarray]:
        stems[stem_name] = np.asarray(source, dtype=np.float32).T.copy()  # (N, 2) -> (2, N)
        return {stem_name: source}

    separator.final_process = keep  # type: ignore[method-assign]
    separator.separate(str(audio))
    np.savez(out, **stems)  # type: ignore[arg-type]


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]), *map(int, sys.argv[3:]))
    else:
        separate(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), *map(int, sys.argv[5:]))
