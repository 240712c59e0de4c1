"""What an MDX-Net ``.onnx`` file needs besides its weights, and where it comes from.

An MDX-Net graph maps a spectrogram chunk float32 (batch, 4, dim_f, dim_t) to the same shape; the
FFT size, how many bins it sees, the chunk's frames, the primary stem's name and the compensation
of the complementary stem are not in the file. UVR and python-audio-separator look them up by a
hash of the file (:func:`uvr_hash`) in a table (``known_models.json``: UVR's rows, MIT); an
operator with another file gives them in a small YAML or on the command line. Light: json,
hashlib and yaml only, so the registry reads it anywhere.

The frames a chunk runs at are audio-separator's segment size (256 by default, whatever the
graph's dim_t: the reference then runs the graph converted to PyTorch, which does not hold it to
its declared shape; demixer leaves that axis open in onnxruntime, :mod:`demixer.engine.mdx.graph`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from demixer.engine.errors import EngineError

HOP = 1024  # audio-separator's default hop_length (UVR hard-codes it)
SEGMENT = 256  # audio-separator's default segment_size: the frames each chunk runs at
HASHED_BYTES = 10000 * 1024  # audio-separator hashes the last 10,240,000 bytes of the file
KNOWN = Path(__file__).with_name("known_models.json")
KEYS = ("n_fft", "dim_f", "dim_t", "compensate", "primary_stem")
OPTIONAL = ("hop", "segment_size")
# audio-separator's STEM_PAIR_MAPPER: the complementary stem of these is named, not "No X"
PAIRS = {"Vocals": "Instrumental", "Instrumental": "Vocals"}


class ParamsError(EngineError):
    """An MDX-Net model's parameters are missing or make no sense; the message says which."""


@dataclass(frozen=True)
class MdxParams:
    n_fft: int
    dim_f: int  # bins the graph sees (the rest of the n_fft // 2 + 1 are cut, then zeros)
    dim_t: int  # frames per chunk the graph was made for
    compensate: float  # the complementary stem is mix - compensate * primary
    primary_stem: str  # as UVR names it ("Vocals", "Instrumental", "No Crowd")
    hop: int = HOP
    segment_size: int = SEGMENT  # frames per chunk it runs at (audio-separator's segment_size)

    @property
    def sources(self) -> tuple[str, str]:
        """Stem names for demixer: the primary, then the complementary stem (lower case)."""
        return stem_name(self.primary_stem), stem_name(secondary_stem(self.primary_stem))

    def check(self) -> MdxParams:
        if self.n_fft <= 0 or self.n_fft % 2 or self.hop > self.n_fft:
            raise ParamsError(f"n_fft must be even and at least {self.hop} (got {self.n_fft})")
        if not 0 < self.dim_f <= self.n_fft // 2 + 1:
            raise ParamsError(f"dim_f must be between 1 and n_fft / 2 + 1 (got {self.dim_f})")
        if self.dim_t < 2 or self.segment_size < 2:
            raise ParamsError(
                f"dim_t and segment_size must be at least 2 frames (got {self.dim_t}, "
                f"{self.segment_size})"
            )
        if self.hop * (self.segment_size - 1) <= self.n_fft:
            raise ParamsError(
                f"segment_size {self.segment_size}: a chunk of {self.segment_size} frames must be "
                f"longer than n_fft ({self.n_fft})"
            )
        if not 0 < self.compensate < 10:
            raise ParamsError(f"compensate must be a positive factor (got {self.compensate})")
        if not self.primary_stem.strip():
            raise ParamsError("primary_stem must name the model's stem (e.g. Vocals)")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def secondary_stem(primary: str) -> str:
    """audio-separator's name for the complementary stem ("Vocals" -> "Instrumental",
    "No Crowd" -> "Crowd", "Drums" -> "No Drums")."""
    if primary in PAIRS:
        return PAIRS[primary]
    return primary.replace("No ", "") if "No " in primary else f"No {primary}"


def stem_name(label: str) -> str:
    """A UVR stem label as a demixer stem name: "No Drums" -> "no_drums"."""
    name = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return name or "stem"


def uvr_hash(path: Path) -> str:
    """The MD5 audio-separator keys its table with: of the last :data:`HASHED_BYTES` bytes, or of
    the whole file when it is smaller."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - HASHED_BYTES))
        return hashlib.md5(fh.read(), usedforsecurity=False).hexdigest()


def known(path: Path) -> MdxParams | None:
    """The well-known file's parameters, or None when its hash is not in the table."""
    row = json.loads(KNOWN.read_text())["models"].get(uvr_hash(path))
    return None if row is None else from_mapping(row, KNOWN.name)


def from_mapping(data: Any, where: str) -> MdxParams:
    """Parameters from a mapping with :data:`KEYS` (and any of :data:`OPTIONAL`); an unknown key
    is refused."""
    if not isinstance(data, dict):
        raise ParamsError(f"{where}: expected a mapping of {', '.join(KEYS)}")
    unknown = sorted(set(data) - {*KEYS, *OPTIONAL})
    if unknown:
        known_keys = ", ".join((*KEYS, *OPTIONAL))
        raise ParamsError(f"{where}: unknown key {unknown[0]!r} (known: {known_keys})")
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise ParamsError(f"{where}: {missing[0]} is missing")
    try:
        return MdxParams(
            n_fft=int(data["n_fft"]),
            dim_f=int(data["dim_f"]),
            dim_t=int(data["dim_t"]),
            compensate=float(data["compensate"]),
            primary_stem=str(data["primary_stem"]),
            hop=int(data.get("hop", HOP)),
            segment_size=int(data.get("segment_size", SEGMENT)),
        ).check()
    except (TypeError, ValueError) as exc:
        raise ParamsError(f"{where}: {exc}") from None


def from_yaml(path: Path) -> MdxParams:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path.name}: not a readable YAML file ({exc})") from None
    return from_mapping(data, path.name)
