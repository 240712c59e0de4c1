"""``demixer models import``: export Demucs checkpoints, check the graphs, stamp and register them.

The export runs ``export_demucs.py`` with the importer environment's Python (PyTorch stays out of
this process). Back here, each graph's attention blocks are fused as the built-in graph's are,
then each graph runs through the engine's own :class:`SegmentModel` (host
STFT, graph, host iSTFT) on the export's test segment and must agree with PyTorch's forward pass
to :data:`MIN_AGREEMENT_DB`; then ``imported/<name>/`` gets the graphs and a manifest with their
SHA-256s, moved into place in one rename, and the registry lists the model from then on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from demixer.engine import registry
from demixer.engine.errors import EngineError
from demixer.engine.importer import environment, manifest
from demixer.engine.model_files import checked, models_dir, sha256_of

EXPORT_SCRIPT = Path(__file__).with_name("export_demucs.py")
EXPORT_TIMEOUT = 7200
# onnxruntime against PyTorch on the same segment, per stem; a faithful export gives ~90 dB
MIN_AGREEMENT_DB = 40.0


class ImportFailed(EngineError):
    """The checkpoints could not be imported; the message says why."""


def import_checkpoints(
    files: list[Path],
    *,
    name: str | None = None,
    force: bool = False,
    directory: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> registry.ModelSpec:
    """Import one Demucs v4 model (``FILE.th``) or a bag (its ``.th`` files and ``.yaml``) under
    ``name`` (default: the YAML's name, else the checkpoint's signature); return its entry."""
    say = log or (lambda line: print(line, file=sys.stderr))
    directory = directory or models_dir()
    files, python = prepare(files, name, directory, force, say)
    with manifest.staging(directory) as work:
        say(f"exporting {len(files)} file(s) with PyTorch (minutes per model) ...")
        report = _export(python, files, work)
        for member in report["members"]:
            fused = _fuse(work / member["graph"])
            say(f"{member['graph']}: {fused} attention blocks fused")
        name = name or str(report["name"]).lower()
        _check_name(name, directory, force)
        data = _manifest(report, name, work, digests(files))
        model = manifest.parse(data, name)
        spec = registry.imported_spec(model)
        for member, entry in zip(report["members"], data["members"], strict=True):
            say(f"checking {member['graph']} against PyTorch ...")
            entry["agreement_db"] = _verify(spec, work / member["graph"], work, member)
        for leftover in ("report.json", str(report["check"])):
            (work / leftover).unlink(missing_ok=True)
        target = manifest.install(work, directory, name, data)
    for relative, sha in spec.files:
        checked(directory / relative, sha)  # stamp, so the first job does not hash them again
    say(f"imported {name}: {', '.join(spec.sources)} ({len(spec.files)} graph(s)) in {target}")
    return registry.get_spec(name) if directory == models_dir() else spec


def prepare(
    files: list[Path], name: str | None, directory: Path, force: bool, say: Callable[[str], None]
) -> tuple[list[Path], Path]:
    """The checkpoint files as absolute paths and the importer environment's Python (built on
    first use), once every file is there and ``name``, when given, may be taken."""
    files = [Path(f).resolve() for f in files]
    for path in files:
        if not path.is_file():
            raise ImportFailed(f"{path}: file not found")
    if name is not None:
        _check_name(name, directory, force)
    return files, environment.ensure(say)


def _check_name(name: str, directory: Path, force: bool) -> None:
    if not manifest.NAME.match(name):
        raise ImportFailed(
            f"model name {name!r}: use 1-40 lower-case letters, digits, '_', '-' or '.'"
        )
    if name in registry.BUILT_IN:
        raise ImportFailed(f"{name} is a built-in model; choose another name with --name")
    if manifest.folder(directory, name).exists() and not force:
        raise ImportFailed(f"{name} is already imported; pass --force to replace it")


def _export(
    python: Path, files: list[Path], work: Path, script: Path = EXPORT_SCRIPT
) -> dict[str, Any]:
    """Run an export script; its report, or :class:`ImportFailed` with its one-line reason."""
    command = [str(python), str(script), "--out", str(work), *map(str, files)]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=EXPORT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ImportFailed(f"the export took longer than {EXPORT_TIMEOUT} s") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reasons = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
        detail = reasons[-1] if reasons else (lines[-1] if lines else f"exit {result.returncode}")
        raise ImportFailed(f"import refused: {detail}")
    report: dict[str, Any] = json.loads((work / "report.json").read_text())
    return report


def _fuse(graph: Path) -> int:
    """Rewrite the export's attention blocks as onnxruntime's fused attention, in place, as the
    built-in htdemucs graph is (:mod:`~demixer.engine.htdemucs.fusion`: the same arithmetic,
    without writing out the attention matrices; see docs/performance.md for what it saves);
    before the check against PyTorch and the checksum. Returns how many were fused."""
    import onnx

    # onnx and onnxruntime: only for the fusion and the check after the export
    from demixer.engine.htdemucs.fusion import fuse_attention

    model = onnx.load(str(graph))
    fused = fuse_attention(model)
    if fused:
        onnx.save(model, str(graph))
    return fused


def digests(files: list[Path]) -> dict[str, str]:
    """The SHA-256 of each given file by its name, as the export's report names them (hashed
    here, so the export scripts need no copy of it)."""
    return {path.name: sha256_of(path) for path in files}


def _manifest(
    report: dict[str, Any], name: str, work: Path, hashes: dict[str, str]
) -> dict[str, Any]:
    members = report["members"]
    weights = np.array([m["weights"] for m in members], dtype=np.float64)
    if (weights < 0).any() or (weights.sum(axis=0) <= 0).any():
        raise ImportFailed("every source needs a positive total weight in the bag")
    return {
        "format": manifest.FORMAT,
        "name": name,
        "sources": report["sources"],
        "samplerate": report["samplerate"],
        "channels": report["channels"],
        "segment_samples": report["segment_samples"],
        "members": [
            {
                "graph": m["graph"],
                "sha256": sha256_of(work / m["graph"]),
                "checkpoint": m["checkpoint"],
                "checkpoint_sha256": hashes[m["checkpoint"]],
                "weights": m["weights"],
            }
            for m in members
        ],
        "licence": manifest.LICENCE,
        "exported_with": {"torch": report.get("torch", ""), "demucs": "4.1.0"},
    }


def _verify(spec: registry.ModelSpec, graph: Path, work: Path, member: dict[str, Any]) -> float:
    """The engine's forward pass on the test segment against PyTorch's: worst stem SNR, dB."""
    # onnx and onnxruntime: only for the fusion and the check after the export
    from demixer.engine.htdemucs.model import SegmentModel
    from demixer.engine.options import SessionConfig

    check = np.load(work / "check.npz")
    model = SegmentModel(SessionConfig(model=spec.name), path=graph, spec=spec)
    ours = model(check["mix"])
    reference = check[graph.stem]
    worst = min(_snr(reference[k], ours[k]) for k in range(len(spec.sources)))
    if worst < MIN_AGREEMENT_DB:
        raise ImportFailed(
            f"{member['checkpoint']}: the exported graph agrees with PyTorch to {worst:.1f} dB "
            f"only (needs {MIN_AGREEMENT_DB:.0f} dB); not imported"
        )
    return round(worst, 1)


def _snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    return 10 * np.log10(signal / noise) if noise > 0 else float("inf")
