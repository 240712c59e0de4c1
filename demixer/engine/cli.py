"""The engine's command line: separate files, fetch the weights (``demixer.cli`` adds the web
app's commands; the engine never imports the web side).

Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from demixer.engine import formats, registry
from demixer.engine.analysis import notes_model
from demixer.engine.ensemble import cli as ensemble_cli
from demixer.engine.errors import EngineError
from demixer.engine.mdx import cli as mdx_cli
from demixer.engine.recipe import cli as recipe_cli

if TYPE_CHECKING:
    from demixer.engine.separate import Progress

EXIT_BAD_INPUT = 2


def _parser(extra_commands: dict[str, str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="demixer",
        description="Split music into stems with htdemucs or Spleeter (onnxruntime).",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        help="where the weights live (default: $DEMIXER_MODELS_DIR, else ./var/models)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sep = sub.add_parser("separate", help="separate audio files into stems")
    sep.add_argument("files", nargs="+", type=Path, metavar="FILE")
    sep.add_argument("-o", "--out", type=Path, default=Path("separated"), help="output folder")
    sep.add_argument(
        "--model",
        default=registry.DEFAULT_MODEL,  # any name in `demixer models list` (imports included)
        help="; ".join(f"{spec.name}: {spec.stems_label}" for spec in registry.MODELS.values())
        + " (see `demixer models list`)",
    )
    sep.add_argument("--two-stems", metavar="STEM", help="STEM and no_STEM (e.g. vocals)")
    sep.add_argument("--format", choices=formats.NAMES, default=formats.WAV.name)
    sep.add_argument(
        "--bit-depth",
        type=int,
        choices=formats.BIT_DEPTHS,
        default=16,
        help="; ".join(_depths_text(fmt) for fmt in formats.FORMATS.values() if fmt.bit_depths),
    )
    sep.add_argument(
        "--bitrate",
        type=int,
        help="; ".join(
            f"{fmt.name} bitrate in kbps (default {fmt.default_kbps})"
            for fmt in formats.FORMATS.values()
            if not fmt.lossless
        ),
    )
    sep.add_argument("--clip-mode", choices=("rescale", "clamp", "none"), default="rescale")
    sep.add_argument(
        "--sample-rate",
        default="44100",
        help="output rate in Hz, or 'source' for the input file's own rate",
    )
    sep.add_argument(
        "--quality",
        choices=("default", "fast"),
        default="default",
        help="fast: int8 MatMul weights, ~15%% faster, slightly lower quality",
    )
    sep.add_argument("--overlap", type=float, default=0.25, help="htdemucs only")
    sep.add_argument(
        "--shifts", type=int, default=0, help="random time-shift averaging passes (htdemucs only)"
    )
    sep.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = auto)")
    sep.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    sep.add_argument(
        "--low-memory",
        action="store_true",
        help="stay under ~2 GB whatever the length, at some cost in speed",
    )
    sep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    fetch = sub.add_parser(
        "fetch-models", help="download and verify model weights (all built-in models by default)"
    )
    fetch.add_argument("--dir", type=Path, help="models folder (default: see --models-dir)")
    which = fetch.add_mutually_exclusive_group()
    which.add_argument(
        "--model",
        choices=(*registry.BUILT_IN, notes_model.NAME),
        help="only this model (basic-pitch: the note model that makes MIDI from a stem)",
    )
    which.add_argument("--all", action="store_true", help="every built-in model (the default)")

    models = sub.add_parser("models", help="the models demixer knows")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_sub.add_parser("list", help="name, stems, installed or not, licence, speed")
    imports = models_sub.add_parser(
        "import",
        help="import checkpoints: Demucs v4 (.th; a bag's .th files and its .yaml), "
        "BS-RoFormer, Mel-Band RoFormer, MDX23C or SCNet (an MSST .ckpt/.pth and its .yaml), "
        "or a UVR MDX-Net model (.onnx)",
        description="Export checkpoints to onnxruntime graphs, check them against PyTorch and "
        "register them. Architectures: htdemucs (Demucs v4 .th files, a bag's .yaml), "
        "bs_roformer, mel_band_roformer, mdx23c (TFC-TDF v3, e.g. DrumSep) and scnet (MSST / "
        "audio-separator .ckpt or .pth with its .yaml), mdx (a UVR MDX-Net .onnx with its "
        "parameters). Checkpoints are unpickled with torch's weights-only loader. "
        "Builds its own PyTorch environment on first use (see README).",
    )
    imports.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imports.add_argument("--name", help="the model's name (default: the .yaml's, else the .th's)")
    imports.add_argument("--force", action="store_true", help="replace an earlier import")
    mdx_cli.add_arguments(imports)
    ensemble_cli.add_parser(models_sub)
    recipe_cli.add_parser(models_sub)

    for name, description in (extra_commands or {}).items():
        sub.add_parser(name, help=description)  # listed in --help; run by demixer.cli
    return parser


def _depths_text(fmt: formats.OutputFormat) -> str:
    """'wav: 16, 24 or 32 (float)': a format's bit depths for the help."""
    *rest, last = [f"{d} (float)" if d == 32 else str(d) for d in fmt.bit_depths]
    return f"{fmt.name}: {', '.join(rest)} or {last}" if rest else f"{fmt.name}: {last}"


def _sample_rate(value: str) -> int | str | None:
    if value == "source":
        return "source"
    try:
        rate = int(value)
    except ValueError:
        raise EngineError(
            f"--sample-rate must be a number of Hz or 'source', not {value!r}"
        ) from None
    if not 8000 <= rate <= 192000:
        raise EngineError("--sample-rate must be between 8000 and 192000")
    return rate


class _ProgressBar:
    """A tqdm bar that appears with the first progress report, so not for undecodable files."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar: Any = None

    def __call__(self, progress: Progress) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100,
                desc=self.name,
                unit="%",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
            )
        self.bar.n = round(100 * progress.fraction)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _separate(args: argparse.Namespace) -> int:
    # onnxruntime and the importer: loaded by the command that runs them
    from demixer.engine.htdemucs import fast_check
    from demixer.engine.separate import OutputOptions, SeparationOptions, separate_file, write_stems
    from demixer.engine.sessions import load_model

    options = SeparationOptions(
        model=args.model,
        quality=args.quality,
        overlap=args.overlap,
        shifts=args.shifts,
        two_stems=args.two_stems,
        device=args.device,
        threads=args.threads,
        low_memory=args.low_memory,
    )
    options.validate()
    fmt = formats.get(args.format)
    if fmt.bit_depths and args.bit_depth not in fmt.bit_depths:
        others = [f.name for f in formats.FORMATS.values() if args.bit_depth in f.bit_depths]
        raise EngineError(
            f"{fmt.name} supports {' or '.join(map(str, fmt.bit_depths))} bits; "
            f"use --format {' or '.join(others)} for {args.bit_depth}-bit output"
        )
    sample_rate = _sample_rate(args.sample_rate)
    if isinstance(sample_rate, int):  # 'source' is checked per file, when it is written
        fmt.check_rate(sample_rate)
    output = OutputOptions(
        fmt=args.format,
        bit_depth=args.bit_depth,
        bitrate_kbps=args.bitrate,
        clip=args.clip_mode,
        sample_rate=sample_rate,
    )
    missing = [f for f in args.files if not f.is_file()]
    if missing:
        raise EngineError(f"{missing[0]}: file not found")
    config, verdict = fast_check.usable_config(options.session_config())
    if verdict is not None and not verdict.usable:
        print(f"demixer: {verdict.describe()}", file=sys.stderr)
        options = dataclasses.replace(options, quality=config.quality)
    model = load_model(config)  # one session for every file
    failures = 0
    for path in args.files:
        started = time.monotonic()
        bar = None if args.quiet else _ProgressBar(path.name)
        try:
            result = separate_file(path, options, model=model, progress=bar)
            paths = write_stems(result, args.out / path.stem, output)
        except EngineError as exc:
            print(f"demixer: {exc}", file=sys.stderr)
            failures += 1
            continue
        finally:
            if bar is not None:
                bar.close()
        if not args.quiet:
            names = ", ".join(p.name for p in paths.values())
            print(
                f"{path.name}: {result.source.duration:.1f} s in "
                f"{time.monotonic() - started:.1f} s -> {args.out / path.stem}/ ({names})"
            )
    return EXIT_BAD_INPUT if failures else 0


def _fetch_models(args: argparse.Namespace) -> int:
    """Fetch and prepare ``--model``, or every built-in model and the note model; stop at the
    first failure."""
    names = [args.model] if args.model else [*registry.BUILT_IN, notes_model.NAME]
    for name in names:
        if name == notes_model.NAME:
            print(f"{name} note model ready: {notes_model.fetch(args.dir)}")
            continue
        for role, path in registry.install(name, args.dir).items():
            print(f"{name} {role} ready: {path}")
    return 0


def _models_table() -> str:
    """``demixer models list``: one line a model, then each model's licence note."""
    rows = [("name", "stems", "installed", "time (htdemucs = 1)", "label")]
    for spec in registry.MODELS.values():
        installed = "yes" if registry.is_verified(spec) else "no"
        rows.append(
            (spec.name, ", ".join(spec.sources), installed, f"{spec.speed:.2f}", spec.label)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.append("")
    lines += [f"{spec.name} licence: {spec.licence}" for spec in registry.MODELS.values()]
    return "\n".join(lines)


def main(argv: list[str] | None = None, extra_commands: dict[str, str] | None = None) -> int:
    args = _parser(extra_commands).parse_args(argv)
    if args.models_dir is not None:
        registry.configure(args.models_dir)
    try:
        if args.command == "separate":
            return _separate(args)
        if args.command == "fetch-models":
            return _fetch_models(args)
        if (
            args.command == "models"
            and args.models_command == "import"
            and mdx_cli.is_mdx(args.files)
        ):
            # onnxruntime and the importer: loaded by the command that runs them
            from demixer.engine.mdx.importer import import_mdx

            given = mdx_cli.given(args)
            import_mdx(
                args.files,
                name=args.name,
                force=args.force,
                given=given,
                segment_size=args.segment_size,
            )
            return 0
        if args.command == "models" and args.models_command == "ensemble":
            ensemble_cli.create(args)
            return 0
        if args.command == "models" and args.models_command == "recipe":
            recipe_cli.create(args)
            return 0
        if args.command == "models" and args.models_command == "import":
            # onnxruntime and the importer: loaded by the command that runs them
            from demixer.engine.importer import roformer_import
            from demixer.engine.importer.run import import_checkpoints

            run = import_checkpoints
            if roformer_import.is_roformer_import(args.files):
                run = roformer_import.import_roformer
            run(args.files, name=args.name, force=args.force)
            return 0
        if args.command == "models":
            print(_models_table())
            return 0
    except EngineError as exc:
        print(f"demixer: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("demixer: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
