"""How a stem is shown to people: its label and its colour, one row per stem name.

The names themselves come from the model registry (each ``ModelSpec.sources``, plus
``no_<stem>`` for a two-stem job); this table is the one place the CLI, the forms, the
``Stem`` rows, the templates and the player read labels and colours from. Light: imports
nothing, so a web process reads it freely.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

REST_PREFIX = "no_"  # a two-stem job's second stem: everything but the first


@dataclass(frozen=True)
class StemStyle:
    label: str  # "Drums"
    colour: str  # the player's waveform and dot, a CSS hex colour


# every source of every model in demixer.engine.registry (htdemucs_6s' guitar and piano too),
# each with a colour of its own; tests/engine/test_stems.py checks both
STYLES: dict[str, StemStyle] = {
    "drums": StemStyle("Drums", "#fbbf24"),
    "bass": StemStyle("Bass", "#a78bfa"),
    "other": StemStyle("Other", "#2dd4bf"),
    "vocals": StemStyle("Vocals", "#f472b6"),
    "guitar": StemStyle("Guitar", "#fb923c"),
    "piano": StemStyle("Piano", "#a3e635"),
    "no_vocals": StemStyle("Instrumental", "#60a5fa"),
    "accompaniment": StemStyle("Accompaniment", "#7dd3fc"),
}
# for a name the table lacks (a new model's source, no_drums): picked by the name, so the same
# stem has the same colour on every page
SPARE_COLOURS = ("#f87171", "#34d399", "#e879f9", "#facc15", "#38bdf8", "#c084fc", "#fda4af")


def style(name: str) -> StemStyle:
    """The stem's label and colour; a readable fallback for a name the table lacks."""
    known = STYLES.get(name)
    if known is not None:
        return known
    spare = SPARE_COLOURS[zlib.crc32(name.encode()) % len(SPARE_COLOURS)]
    return StemStyle(name.replace("_", " ").capitalize(), spare)


def label(name: str) -> str:
    return style(name).label


def colour(name: str) -> str:
    return style(name).colour


# stems that hold the same part of the song under two models' names: paired when two
# separations of a track are compared (Spleeter's accompaniment is everything but the vocals,
# as a two-stem htdemucs job's no_vocals is)
SAME_PART: dict[str, str] = {"accompaniment": f"{REST_PREFIX}vocals"}


def part(name: str) -> str:
    """The name a stem is paired by across separations: its own, or its counterpart's."""
    return SAME_PART.get(name, name)


def two_stem_names(stem: str) -> tuple[str, str]:
    """The stems of a two-stem job that keeps ``stem``: it and the rest (``no_<stem>``)."""
    return stem, f"{REST_PREFIX}{stem}"
