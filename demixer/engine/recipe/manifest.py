"""A recipe on disk: ``imported/<name>/manifest.json`` with ``"architecture": "recipe"``: the
first model, the second, and what the second runs on (one of the first's stems, or the mix
minus it). ``demixer models recipe NAME --first A --then B --on STEM``.

Its stems: the first model's, less the one split further (all but ``STEM`` when the second runs
on the rest), then the second's, named ``<input>_<stem>`` (``drums_kick``) when it runs on a
stem, and by their own names when it runs on the rest (``no_vocals_<stem>`` only where a name
is already taken: htdemucs' vocals on an instrumental is what the first step left behind).

Light (json and pathlib): the registry reads these in every process. The folder is the
importer's (:mod:`demixer.engine.importer.manifest`), so a recipe's name is taken like an
imported model's; creating one writes the manifest in one rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demixer.engine.importer import manifest as imported
from demixer.engine.stems import REST_PREFIX

ARCHITECTURE = "recipe"
FORMAT = 1


@dataclass(frozen=True)
class Output:
    """One stem of the recipe: its name, the step that makes it (1 or 2), that step's stem."""

    name: str
    step: int
    source: str


@dataclass(frozen=True)
class Recipe:
    name: str
    first: str
    then: str
    on: str  # a stem of the first model
    complement: bool = False  # the second runs on the mix minus ``on``, not on ``on``

    @property
    def input_name(self) -> str:
        """What the second model is given: ``drums``, or ``no_vocals`` (the mix minus them)."""
        return f"{REST_PREFIX}{self.on}" if self.complement else self.on

    def outputs(self, first: tuple[str, ...], second: tuple[str, ...]) -> tuple[Output, ...]:
        """The recipe's stems from its models' (``ValueError`` when ``on`` is not a stem of the
        first, or two stems would share a name)."""
        if self.on not in first:
            raise ValueError(f"{self.first} has no stem {self.on!r} (it has {', '.join(first)})")
        if self.complement:
            kept = [Output(self.on, 1, self.on)]
        else:
            kept = [Output(s, 1, s) for s in first if s != self.on]
        taken = {o.name for o in kept}
        for stem in second:
            name = stem if self.complement and stem not in taken else f"{self.input_name}_{stem}"
            kept.append(Output(name, 2, stem))
        names = [o.name for o in kept]
        if len(set(names)) != len(names):
            raise ValueError(f"two stems would be called the same: {', '.join(names)}")
        return tuple(kept)


def parse(data: dict[str, Any], name: str) -> Recipe:
    if data.get("format") != FORMAT or data.get("name") != name:
        raise ValueError("unknown format or a name that is not its folder's")
    if data.get("architecture") != ARCHITECTURE:
        raise ValueError("not a recipe")
    recipe = Recipe(
        name=name,
        first=str(data["first"]),
        then=str(data["then"]),
        on=str(data["on"]),
        complement=bool(data.get("complement", False)),
    )
    if not (recipe.first and recipe.then and recipe.on):
        raise ValueError("a recipe names two models and a stem")
    return recipe


def read(directory: Path, name: str) -> Recipe:
    return imported.read(directory, name, parse)


def read_all(directory: Path) -> list[Recipe]:
    """Every readable recipe under ``directory``; a broken one is logged and skipped."""
    return imported.read_kind(directory, (ARCHITECTURE,), parse)


def write(directory: Path, recipe: Recipe) -> Path:
    """Write the recipe's manifest (replacing an earlier one whole); returns its folder."""
    data = {
        "format": FORMAT,
        "architecture": ARCHITECTURE,
        "name": recipe.name,
        "first": recipe.first,
        "then": recipe.then,
        "on": recipe.on,
        "complement": recipe.complement,
    }
    return imported.write(directory, recipe.name, data)
