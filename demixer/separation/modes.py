"""What people choose to separate: a model, and all its stems or two, as one form value.

The upload form, the library's "separate again", the job page's retry and the API all offer
these; each names the model that will run (:data:`demixer.engine.registry.MODELS`) and the
``two_stems`` the job row gets. Light: no onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass

from demixer.engine import registry


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
    return f"Quick: vocals / accompaniment (Spleeter, about {1 / spec.speed:.0f}x faster)"


# the first two labels are what people (and the browser tests) look for: keep "4 stems" and
# "2 stems" out of the others
MODES: tuple[Mode, ...] = (
    Mode("4", registry.HTDEMUCS.name, "", "4 stems: drums, bass, other, vocals"),
    Mode("2", registry.HTDEMUCS.name, "vocals", "2 stems: vocals and instrumental"),
    Mode("spleeter", registry.SPLEETER.name, "", _quick_label()),
)
DEFAULT = MODES[0]
CHOICES = [(mode.value, mode.label) for mode in MODES]


def by_value(value: object) -> Mode:
    """The mode a form value names; anything else is the default (4 stems), as before."""
    return next((mode for mode in MODES if mode.value == value), DEFAULT)


def value_of(model: str, two_stems: str) -> str:
    """The form value of a job's options (to separate it again the same way)."""
    for mode in MODES:
        if mode.model == model and mode.two_stems == two_stems:
            return mode.value
    return DEFAULT.value
