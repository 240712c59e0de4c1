"""An ensemble on disk: ``imported/<name>/manifest.json`` with ``"architecture": "ensemble"``,
its members' names and weights (``demixer models ensemble NAME a b ... [--weights ...]``).

Light (json and pathlib): the registry reads these in every process. The folder is the
importer's (:mod:`demixer.engine.importer.manifest`), so an ensemble's name is taken like an
imported model's; creating one writes the manifest in one rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demixer.engine.importer import manifest as imported

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
    return imported.read(directory, name, parse)


def read_all(directory: Path) -> list[Ensemble]:
    """Every readable ensemble under ``directory``; a broken one is logged and skipped."""
    return imported.read_kind(directory, (ARCHITECTURE,), parse)


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
    return imported.write(directory, ensemble.name, data)
