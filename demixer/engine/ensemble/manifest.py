"""An ensemble on disk: ``imported/<name>/manifest.json`` with ``"architecture": "ensemble"``,
its members' names and weights (``demixer models ensemble NAME a b ... [--weights ...]``).

Light (json and pathlib): the registry reads these in every process. The folder is the
importer's (:mod:`demixer.engine.importer.manifest`), so an ensemble's name is taken like an
imported model's; creating one writes the manifest in one rename.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demixer.engine.importer import manifest as imported

logger = logging.getLogger(__name__)

ARCHITECTURE = "ensemble"
FORMAT = 1
ALGORITHM = "avg_wave"  # audio-separator's: the weighted average of the waveforms


@dataclass(frozen=True)
class Ensemble:
    name: str
    members: tuple[str, ...]
    weights: tuple[float, ...]  # one per member


def parse(data: dict[str, Any], name: str) -> Ensemble:
    if data.get("format") != FORMAT or data.get("name") != name:
        raise ValueError("unknown format or a name that is not its folder's")
    if data.get("architecture") != ARCHITECTURE or data.get("algorithm") != ALGORITHM:
        raise ValueError("not an avg_wave ensemble")
    members = tuple(str(m) for m in data["members"])
    weights = tuple(float(w) for w in data["weights"])
    if len(members) < 2 or len(weights) != len(members) or min(weights) <= 0:
        raise ValueError("an ensemble needs two members or more, each with a positive weight")
    return Ensemble(name=name, members=members, weights=weights)


def read(directory: Path, name: str) -> Ensemble:
    path = imported.folder(directory, name) / imported.FILENAME
    return parse(json.loads(path.read_text()), name)


def read_all(directory: Path) -> list[Ensemble]:
    """Every readable ensemble under ``directory``; a broken one is logged and skipped."""
    found = []
    for path in imported.manifests(directory):
        try:
            data = json.loads(path.read_text())
            if data.get("architecture") == ARCHITECTURE:
                found.append(parse(data, path.parent.name))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring %s: %s", path, exc)
    return found


def write(directory: Path, ensemble: Ensemble) -> Path:
    """Write the ensemble's manifest (replacing an earlier one whole); returns its folder."""
    data = {
        "format": FORMAT,
        "architecture": ARCHITECTURE,
        "algorithm": ALGORITHM,
        "name": ensemble.name,
        "members": list(ensemble.members),
        "weights": list(ensemble.weights),
    }
    root = directory / imported.FOLDER
    root.mkdir(parents=True, exist_ok=True)
    target = imported.folder(directory, ensemble.name)
    with tempfile.TemporaryDirectory(prefix=".ensemble-", dir=root) as tmp:
        work = Path(tmp) / "model"
        work.mkdir()
        (work / imported.FILENAME).write_text(json.dumps(data, indent=2) + "\n")
        if target.exists():
            import shutil

            shutil.rmtree(target)  # --force: an earlier import or ensemble of that name
        os.replace(work, target)
    return target
