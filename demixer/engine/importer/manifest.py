"""What an import leaves in the models folder: ``imported/<name>/manifest.json`` beside its graphs.

Light (json and pathlib only): the registry reads these in every process, web included, to list
imported models and tell whether they are installed. The manifest records each graph's SHA-256,
checked before the graph is loaded (:func:`demixer.engine.registry.member_paths`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demixer.engine.msst.settings import ARCHITECTURES as SPECTRAL
from demixer.engine.msst.settings import SpectralSettings
from demixer.engine.roformer.settings import ARCHITECTURES as ROFORMERS
from demixer.engine.roformer.settings import RoformerSettings

logger = logging.getLogger(__name__)

FOLDER = "imported"
FILENAME = "manifest.json"
FORMAT = 1
LICENCE = (
    "Imported from checkpoint files as provided by the operator; Meta's Demucs weights: see "
    "their licence."
)
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class Member:
    """One model of an import (a bag has several): its graph and its weight per source."""

    path: str  # relative to the models folder
    sha256: str
    checkpoint: str  # the .th file it was exported from
    weights: tuple[float, ...]


@dataclass(frozen=True)
class ImportedModel:
    name: str
    sources: tuple[str, ...]
    samplerate: int
    channels: int
    segment_samples: int
    members: tuple[Member, ...]
    # or one of demixer.engine.roformer.settings.ARCHITECTURES, demixer.engine.msst.settings's
    architecture: str = "htdemucs"
    settings: tuple[tuple[str, Any], ...] = ()  # a RoFormer's / MDX23C's / SCNet's host settings
    licence: str = LICENCE


def folder(directory: Path, name: str) -> Path:
    return directory / FOLDER / name


def parse(data: dict[str, Any], name: str) -> ImportedModel:
    """A manifest's content as an :class:`ImportedModel` (``KeyError``/``ValueError`` if bad)."""
    if data.get("format") != FORMAT or data.get("name") != name:
        raise ValueError("unknown format or a name that is not its folder's")
    members = tuple(
        Member(
            path=f"{FOLDER}/{name}/{m['graph']}",
            sha256=str(m["sha256"]),
            checkpoint=str(m["checkpoint"]),
            weights=tuple(float(w) for w in m["weights"]),
        )
        for m in data["members"]
    )
    sources = tuple(str(s) for s in data["sources"])
    if not members or any(len(m.weights) != len(sources) for m in members):
        raise ValueError("members and weights do not match the sources")
    architecture = str(data.get("architecture", "htdemucs"))
    settings: tuple[tuple[str, Any], ...] = ()
    if architecture in ROFORMERS:
        settings = RoformerSettings.parse(data["roformer"]).items()
    elif architecture in SPECTRAL:
        settings = SpectralSettings.parse(data["msst"]).items()
    elif architecture != "htdemucs":
        raise ValueError(f"unknown architecture {architecture}")
    return ImportedModel(
        architecture=architecture,
        settings=settings,
        licence=str(data.get("licence", LICENCE)),
        name=name,
        sources=sources,
        samplerate=int(data["samplerate"]),
        channels=int(data["channels"]),
        segment_samples=int(data["segment_samples"]),
        members=members,
    )


def manifests(directory: Path) -> list[Path]:
    """The manifest files of every import under ``directory`` (any architecture), by name."""
    root = directory / FOLDER
    if not root.is_dir():
        return []
    # a folder whose name is not a model's is e.g. an import in progress (".import-...")
    return [p for p in sorted(root.glob(f"*/{FILENAME}")) if NAME.match(p.parent.name)]


def read_all(directory: Path) -> list[ImportedModel]:
    """Every readable Demucs, RoFormer, MDX23C or SCNet import under ``directory``, by name; a
    broken manifest is skipped (and logged), never fatal to listing the others. Manifests that
    name another ``architecture`` (MDX-Net files, ensembles) are their own modules' to read."""
    found = []
    for path in manifests(directory):
        name = path.parent.name
        try:
            data = json.loads(path.read_text())
            if data.get("architecture", "htdemucs") not in ("htdemucs", *ROFORMERS, *SPECTRAL):
                continue
            found.append(parse(data, name))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring %s: %s", path, exc)
    return found
