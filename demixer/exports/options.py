"""The options a download takes: its sample rate and bit depth, and a custom mix's gains, pans,
tempo and pitch, checked and turned into render params (one cached file per setting).

A value not offered raises :class:`BadOption`, whose message is one sentence for the client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from demixer.engine import formats
from demixer.exports.conversions import DOWNLOAD_BIT_DEPTH, download_rates
from demixer.exports.tempo import PITCH_RANGE, TEMPO_RANGE, is_identity
from demixer.separation.masters import STORED_RATE
from demixer.separation.models import Separation


class BadOption(ValueError):
    """A download option that is not one of its choices; the message is one sentence for the
    client, ``code`` the API's error code."""

    def __init__(self, message: str, code: str = "invalid_option") -> None:
        super().__init__(message)
        self.code = code


def _number(name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}", value):
        return int(value)
    raise BadOption(f"{name} must be a whole number.")


def _choices(values: Iterable[int]) -> str:
    *rest, last = [str(value) for value in values]
    return f"{', '.join(rest)} or {last}" if rest else last


def download_options(job: Separation, fmt: str, rate: object, bit_depth: object) -> dict[str, int]:
    """The render params for a download's optional sample rate (Hz) and bit depth, as a query,
    a form or the API gives them (None or "": the default). Left out when they are the default
    (the stored rate, 24 bits), so that asking for the default explicitly finds the same file;
    different settings are different renders and files. Raises :class:`BadOption`."""
    spec = formats.get(fmt)
    params: dict[str, int] = {}
    if rate is not None and rate != "":
        rates = download_rates(job.track.sample_rate, spec.name)
        hz = _number("rate", rate)
        if hz not in rates:
            raise BadOption(f"rate must be {_choices(rates)} (Hz) for {spec.name}.")
        if hz != STORED_RATE:
            params["rate"] = hz
    if bit_depth is not None and bit_depth != "":
        if not spec.bit_depths:
            raise BadOption(f"{spec.name} has no bit depth (it is lossy): leave bit_depth out.")
        bits = _number("bit_depth", bit_depth)
        if bits not in spec.bit_depths:
            raise BadOption(f"bit_depth must be {_choices(spec.bit_depths)} for {spec.name}.")
        if bits != DOWNLOAD_BIT_DEPTH:
            params["bit_depth"] = bits
    return params


def mix_params(
    stems: Iterable[str],
    gains: Mapping[str, float],
    pans: Mapping[str, float],
    tempo: float = 1.0,
    pitch: float = 0.0,
) -> dict[str, object]:
    """A custom mix's render params, as the player sets it: a gain per stem (0..2, missing: 1),
    a pan (-1..1, missing: centre), the tempo and the pitch. Rounded to the player's precision
    (one cached file per setting); pans, tempo and pitch only when not neutral, so a mix
    without them keeps the file it had before they existed. Raises :class:`BadOption`."""
    names = list(stems)
    unknown = sorted((set(gains) | set(pans)) - set(names))
    if unknown:
        raise BadOption(
            f"There is no stem {unknown[0]!r}; the stems are {', '.join(names)}.", "unknown_stem"
        )
    levels: dict[str, float] = {}
    panned: dict[str, float] = {}
    for name in names:
        gain, pan = float(gains.get(name, 1.0)), float(pans.get(name, 0.0))
        if not 0.0 <= gain <= 2.0:  # also refuses nan
            raise BadOption(f"The gain of {name} must be between 0 and 2.", "invalid_gain")
        if not -1.0 <= pan <= 1.0:
            raise BadOption(
                f"The pan of {name} must be between -1 (left) and 1 (right).", "invalid_pan"
            )
        levels[name] = round(gain, 3)
        if round(pan, 2) != 0.0:
            panned[name] = round(pan, 2)
    params: dict[str, object] = {"gains": levels}
    if panned:
        params["pans"] = panned
    tempo, pitch = round(float(tempo), 2), round(float(pitch), 2)
    in_range = (
        TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1] and PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]
    )
    if not in_range:  # also refuses nan
        raise BadOption(
            f"The tempo must be in {TEMPO_RANGE[0]}..{TEMPO_RANGE[1]}, "
            f"the pitch in {PITCH_RANGE[0]:g}..{PITCH_RANGE[1]:g} semitones.",
            "invalid_tempo",
        )
    if not is_identity(tempo, pitch):
        params.update(tempo=tempo, pitch=pitch)
    return params
