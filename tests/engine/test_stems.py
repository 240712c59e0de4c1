"""Stem labels and colours come from one table (``demixer/engine/stems.py``) keyed by the names
the model registry gives: every model's stems, six-source ones too, get a label and a colour
of their own."""

from __future__ import annotations

import dataclasses
import re

import pytest

from demixer.engine import registry, stems

HEX = re.compile(r"^#[0-9a-f]{6}$")
SIX = dataclasses.replace(
    registry.HTDEMUCS,
    name="htdemucs_6s",
    sources=("drums", "bass", "other", "vocals", "guitar", "piano"),
)


def shown(sources: tuple[str, ...]) -> list[stems.StemStyle]:
    return [stems.style(name) for name in sources]


@pytest.mark.parametrize("spec", [*registry.MODELS.values(), SIX], ids=lambda s: s.name)
def test_every_models_stems_have_a_label_and_a_colour_of_their_own(spec) -> None:
    names = spec.sources
    if len(names) > 2:  # the two-stem choice: a stem and the rest
        names = (*names, *stems.two_stem_names("vocals"))
    styles = shown(names)
    assert all(name in stems.STYLES for name in names), "a source without a row in the table"
    assert all(HEX.match(s.colour) for s in styles)
    assert len({s.colour for s in styles}) == len(set(names)), "two stems share a colour"
    assert len({s.label for s in styles}) == len(set(names))


def test_the_labels_people_read() -> None:
    assert [stems.label(n) for n in registry.HTDEMUCS.sources] == [
        "Drums",
        "Bass",
        "Other",
        "Vocals",
    ]
    assert stems.label("no_vocals") == "Instrumental"
    assert [stems.label(n) for n in SIX.sources[4:]] == ["Guitar", "Piano"]


def test_a_name_the_table_lacks_reads_well_and_keeps_its_colour() -> None:
    style = stems.style("no_drums")
    assert style.label == "No drums"
    assert style.colour in stems.SPARE_COLOURS
    assert stems.style("no_drums") == style  # the same on every page and every process
