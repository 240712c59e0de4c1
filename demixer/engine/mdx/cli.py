"""``demixer models import MODEL.onnx``'s options: where an MDX-Net file's parameters come from."""

from __future__ import annotations

import argparse
from pathlib import Path

from demixer.engine.mdx import params


def add_arguments(imports: argparse.ArgumentParser) -> None:
    group = imports.add_argument_group(
        "MDX-Net (.onnx)",
        "a UVR MDX-Net file's parameters; not needed for UVR's well-known files (found by hash)",
    )
    group.add_argument("--params", type=Path, metavar="YAML", help=", ".join(params.KEYS))
    group.add_argument("--n-fft", type=int)
    group.add_argument("--dim-f", type=int)
    group.add_argument("--dim-t", type=int, default=params.SEGMENT)
    group.add_argument("--compensate", type=float)
    group.add_argument("--primary-stem", metavar="STEM", help="e.g. Vocals, Instrumental")
    group.add_argument(
        "--segment-size",
        type=int,
        metavar="FRAMES",
        help=f"frames per chunk (audio-separator's; default {params.SEGMENT}, whatever dim_t)",
    )


def is_mdx(files: list[Path]) -> bool:
    return any(f.suffix.lower() == ".onnx" for f in files)


def given(args: argparse.Namespace) -> params.MdxParams | None:
    """The operator's parameters: the YAML, else the flags (all of them), else None."""
    flags = {
        "n_fft": args.n_fft,
        "dim_f": args.dim_f,
        "compensate": args.compensate,
        "primary_stem": args.primary_stem,
    }
    if args.params is not None:
        if any(v is not None for v in flags.values()):
            raise params.ParamsError("give the parameters in --params or as flags, not both")
        return params.from_yaml(args.params)
    if all(v is None for v in flags.values()):
        return None
    return params.from_mapping(
        {k: v for k, v in flags.items() if v is not None} | {"dim_t": args.dim_t}, "flags"
    )
