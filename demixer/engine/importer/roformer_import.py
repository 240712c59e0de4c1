"""``demixer models import CHECKPOINT.ckpt CONFIG.yaml``: an MSST BS-RoFormer, Mel-Band RoFormer,
MDX23C or SCNet (the last two: :mod:`demixer.engine.msst`, exported by ``export_spectral.py``).

``export_roformer.py`` runs with the importer environment's Python (PyTorch and pymss-core's
classes stay out of this process) and writes the network as one graph plus a test chunk with
the reference's forward pass on it. Back here the engine's own :class:`RoformerModel` (host
STFT, graph, host iSTFT) runs that chunk and must agree with the reference to
:data:`~demixer.engine.importer.run.MIN_AGREEMENT_DB` on every output; then
``imported/<name>/`` gets the graph and a manifest (its SHA-256, the host settings), moved into
place in one rename.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from demixer.engine import registry
from demixer.engine.importer import manifest
from demixer.engine.importer.run import (
    MIN_AGREEMENT_DB,
    ImportFailed,
    _check_name,
    _export,
    _snr,
    digests,
    prepare,
)
from demixer.engine.model_files import checked, models_dir, sha256_of
from demixer.engine.msst.settings import ARCHITECTURES as SPECTRAL
from demixer.engine.msst.settings import SpectralSettings
from demixer.engine.roformer.settings import RoformerSettings

EXPORT_SCRIPT = Path(__file__).with_name("export_roformer.py")
CHECKPOINTS = (".ckpt", ".pth", ".pt")
LICENCE = (
    "Imported from a checkpoint the operator provided; the weights' licence is their "
    "author's (often unstated: see where they were published)."
)


def is_roformer_import(files: list[Path]) -> bool:
    """Whether ``files`` are an MSST checkpoint and config (not Demucs ``.th`` files)."""
    return any(Path(f).suffix.lower() in CHECKPOINTS for f in files)


def import_roformer(
    files: list[Path],
    *,
    name: str | None = None,
    force: bool = False,
    directory: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> registry.ModelSpec:
    """Import one checkpoint with its ``.yaml`` under ``name`` (default: the checkpoint's name)."""
    say = log or (lambda line: print(line, file=sys.stderr))
    directory = directory or models_dir()
    files, python = prepare(files, name, directory, force, say)
    with manifest.staging(directory) as work:
        say("exporting the checkpoint with PyTorch ...")
        report = _export(python, files, work, EXPORT_SCRIPT)
        name = name or _default_name(str(report["name"]))
        _check_name(name, directory, force)
        data = _manifest(report, name, work, digests(files))
        spec = registry.imported_spec(manifest.parse(data, name))
        say(f"checking {report['graph']} against PyTorch ...")
        data["members"][0]["agreement_db"] = _verify(spec, work, report)
        for leftover in ("report.json", str(report["check"])):
            (work / leftover).unlink(missing_ok=True)
        target = manifest.install(work, directory, name, data)
    for relative, sha in spec.files:
        checked(directory / relative, sha)
    say(f"imported {name}: {', '.join(spec.sources)} ({report['model_type']}) in {target}")
    return registry.get_spec(name) if directory == models_dir() else spec


def _default_name(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-." else "-" for c in stem.lower())
    return cleaned.strip("-_.")[:40] or "roformer"


def _manifest(
    report: dict[str, Any], name: str, work: Path, hashes: dict[str, str]
) -> dict[str, Any]:
    spectral = report["model_type"] in SPECTRAL
    fields = (SpectralSettings if spectral else RoformerSettings).__dataclass_fields__
    settings = {key: report[key] for key in fields if key != "outputs"}
    settings["outputs"] = len(report["outputs"])
    sources = report["sources"]
    return {
        "format": manifest.FORMAT,
        "name": name,
        "architecture": report["model_type"],
        "sources": sources,
        "samplerate": report["samplerate"],
        "channels": report["channels"],
        "segment_samples": report["chunk_size"],
        "members": [
            {
                "graph": report["graph"],
                "sha256": sha256_of(work / report["graph"]),
                "checkpoint": report["checkpoint"],
                "checkpoint_sha256": hashes[report["checkpoint"]],
                "config": report["config"],
                "config_sha256": hashes[report["config"]],
                "weights": [1.0] * len(sources),
            }
        ],
        ("msst" if spectral else "roformer"): settings,
        "licence": LICENCE,
        "exported_with": {"torch": report["torch"], "pymss-core": report["pymss_core"]},
    }


def _verify(spec: registry.ModelSpec, work: Path, report: dict[str, Any]) -> float:
    """The engine's chunk (host STFT, graph, host iSTFT) against the reference's forward: worst
    output's SNR, dB."""
    # onnxruntime: only for the check after the export
    from demixer.engine.msst.model import SpectralModel
    from demixer.engine.options import SessionConfig
    from demixer.engine.roformer.model import RoformerModel

    check = np.load(work / report["check"])
    network = SpectralModel if report["model_type"] in SPECTRAL else RoformerModel
    model = network(SessionConfig(model=spec.name), spec=spec, path=work / report["graph"])
    ours = model(check["mix"])
    reference = check["reference"]
    worst = min(_snr(reference[k], ours[k]) for k in range(reference.shape[0]))
    if worst < MIN_AGREEMENT_DB:
        raise ImportFailed(
            f"{report['checkpoint']}: the exported graph agrees with PyTorch to {worst:.1f} dB "
            f"only (needs {MIN_AGREEMENT_DB:.0f} dB); not imported"
        )
    return round(worst, 1)
