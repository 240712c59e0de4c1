"""What an import leaves in the models folder: ``imported/<name>/manifest.json`` beside its graphs.

Light (json and pathlib only): the registry reads these in every process, web included, to list
imported models and tell whether they are installed. The manifest records each graph's SHA-256,
checked before the graph is loaded (:func:`demixer.engine.registry.member_paths`).

The folder and its manifest file are every architecture's (MDX-Net files, ensembles and recipes
too: one name space): each module parses its own kind, and reads and writes them through
:func:`read`, :func:`read_kind`, :func:`staging` and :func:`install` here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
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
DEMUCS = "htdemucs"  # the architecture of a manifest that names none (the first imports)

# an architecture's reader: (a manifest's content, its folder's name) -> its entry
type Parse[T] = Callable[[dict[str, Any], str], T]


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
    architecture = str(data.get("architecture", DEMUCS))
    settings: tuple[tuple[str, Any], ...] = ()
    if architecture in ROFORMERS:
        settings = RoformerSettings.parse(data["roformer"]).items()
    elif architecture in SPECTRAL:
        settings = SpectralSettings.parse(data["msst"]).items()
    elif architecture != DEMUCS:
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


def read[T](directory: Path, name: str, parse: Parse[T]) -> T:
    """The manifest of ``imported/<name>`` through its architecture's ``parse``."""
    return parse(json.loads((folder(directory, name) / FILENAME).read_text()), name)


def read_kind[T](directory: Path, architectures: Collection[str], parse: Parse[T]) -> list[T]:
    """Every readable manifest under ``directory`` whose architecture is one of
    ``architectures``, by name, through ``parse``; a broken one is skipped (and logged), never
    fatal to listing the others."""
    found = []
    for path in manifests(directory):
        try:
            data = json.loads(path.read_text())
            if data.get("architecture", DEMUCS) in architectures:
                found.append(parse(data, path.parent.name))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring %s: %s", path, exc)
    return found


def read_all(directory: Path) -> list[ImportedModel]:
    """Every readable Demucs, RoFormer, MDX23C or SCNet import under ``directory``, by name.
    Manifests that name another ``architecture`` (MDX-Net files, ensembles, recipes) are their
    own modules' to read."""
    return read_kind(directory, (DEMUCS, *ROFORMERS, *SPECTRAL), parse)


@contextmanager
def staging(directory: Path) -> Iterator[Path]:
    """A path for a new model's folder (not yet made) inside ``imported/``, on the same
    filesystem as its final place; whatever is left there is removed after the block."""
    root = directory / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".import-", dir=root) as tmp:
        yield Path(tmp) / "model"


def install(work: Path, directory: Path, name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` as the manifest of the folder ``work`` (from :func:`staging`), then put
    that folder in place of ``imported/<name>`` in one rename, an earlier one of that name
    (``--force``) removed only now that the new one is complete. Returns its place."""
    (work / FILENAME).write_text(json.dumps(data, indent=2) + "\n")
    target = folder(directory, name)
    if target.exists():
        shutil.rmtree(target)
    os.replace(work, target)
    return target


def write(directory: Path, name: str, data: dict[str, Any]) -> Path:
    """A model that is a manifest alone (an ensemble, a recipe) as ``imported/<name>``."""
    with staging(directory) as work:
        work.mkdir()
        return install(work, directory, name, data)
