"""An imported MDX-Net model on disk: ``imported/<name>/`` holds the ``.onnx`` file as given and a
``manifest.json`` with ``"architecture": "mdx"``, its SHA-256 and its parameters.

Light (json and pathlib): the registry reads these in every process to list the models. The
folder is the Demucs importer's (:mod:`demixer.engine.importer.manifest`), so names are shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demixer.engine.importer import manifest as imported
from demixer.engine.mdx.params import MdxParams, ParamsError, from_mapping

ARCHITECTURE = "mdx"
FORMAT = 1
LICENCE = (
    "An MDX-Net model file as provided by the operator; UVR's models are published without a "
    "stated licence for most of them: see where the file came from."
)


@dataclass(frozen=True)
class MdxImport:
    name: str
    graph: str  # relative to the models folder
    sha256: str
    source_file: str  # the .onnx file's name when it was imported
    params: MdxParams


def parse(data: dict[str, Any], name: str) -> MdxImport:
    if data.get("format") != FORMAT or data.get("name") != name:
        raise ValueError("unknown format or a name that is not its folder's")
    if data.get("architecture") != ARCHITECTURE:
        raise ValueError("not an MDX-Net import")
    try:
        params = from_mapping(data["params"], "manifest")
    except ParamsError as exc:
        raise ValueError(str(exc)) from None
    return MdxImport(
        name=name,
        graph=f"{imported.FOLDER}/{name}/{data['graph']}",
        sha256=str(data["sha256"]),
        source_file=str(data["file"]),
        params=params,
    )


def read(directory: Path, name: str) -> MdxImport:
    return imported.read(directory, name, parse)


def read_all(directory: Path) -> list[MdxImport]:
    """Every readable MDX-Net import under ``directory``; a broken one is logged and skipped."""
    return imported.read_kind(directory, (ARCHITECTURE,), parse)
