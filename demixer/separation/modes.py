"""What people choose to separate: a model, and all its stems or two, as one form value.

The upload form, the library's "separate again", the job page's retry and the API all offer
these; each names the model that will run (:data:`demixer.engine.registry.MODELS`) and the
``two_stems`` the job row gets. Light: no onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass

from demixer.engine import registry, stems


@dataclass(frozen=True)
class Mode:
    value: str  # what the form sends
    model: str
    two_stems: str  # "" for every stem of the model
    label: str

    @property
    def qualities(self) -> tuple[str, ...]:
        return registry.get_spec(self.model).qualities

    @property
    def installed(self) -> bool:
        return registry.is_installed(self.model)


def _quick_label() -> str:
    spec = registry.SPLEETER
    return f"Quick: {' / '.join(spec.sources)} (Spleeter, about {1 / spec.speed:.0f}x faster)"


def _two_stems_label(stem: str) -> str:
    """'2 stems: vocals and instrumental'."""
    kept, rest = (stems.label(name).lower() for name in stems.two_stem_names(stem))
    return f"2 stems: {kept} and {rest}"


# the first two labels are what people (and the browser tests) look for: keep "4 stems" and
# "2 stems" out of the others
BUILT_IN: tuple[Mode, ...] = (
    Mode("4", registry.HTDEMUCS.name, "", registry.HTDEMUCS.stems_label),
    Mode("2", registry.HTDEMUCS.name, "vocals", _two_stems_label("vocals")),
    Mode("spleeter", registry.SPLEETER.name, "", _quick_label()),
)
DEFAULT = BUILT_IN[0]


def all_modes() -> tuple[Mode, ...]:
    """The built-in choices, then one per model imported into the models folder (all its
    stems; its form value is its name), read afresh so an import shows without a restart."""
    imported = (
        Mode(spec.name, spec.name, "", f"{spec.label}: {spec.stems_label}")
        for name, spec in registry.MODELS.items()
        if name not in registry.BUILT_IN
    )
    return (*BUILT_IN, *imported)


def choices() -> list[tuple[str, str]]:
    """The form's choices (a callable, so Django asks again for each form)."""
    return [(mode.value, mode.label) for mode in all_modes()]


def by_value(value: object) -> Mode:
    """The mode a form value names; anything else is the default (4 stems), as before."""
    return next((mode for mode in all_modes() if mode.value == value), DEFAULT)


def value_of(model: str, two_stems: str) -> str:
    """The form value of a job's options (to separate it again the same way)."""
    for mode in all_modes():
        if mode.model == model and mode.two_stems == two_stems:
            return mode.value
    return DEFAULT.value
