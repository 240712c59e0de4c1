"""How much disk a separation or a render will need, from the model's stems and the formats
the files are written in: what the disk guard (:mod:`demixer.ops.disk`) checks before an
upload is accepted, a job claimed or a render started.

Per stem and minute of audio (stereo at the stems' 44.1 kHz), on the storage:

- live pieces, raw float32, kept until the job ends: 21.2 MB
- the FLAC master, 24-bit (bounded by its PCM size): 15.9 MB
- the MP3 preview, 192 kbps: 1.4 MB
- renders, one 24-bit WAV of the stem (the default lossless download): 15.9 MB

and in the temporary folder the master and preview encoded before they are stored (17.3 MB),
plus, for a track past ``DEMIXER_LOW_MEMORY_MINUTES``, the separated audio as float32 (21.2 MB).
With an object store the original is copied to the temporary folder for the engine.
"""

from __future__ import annotations

from django.conf import settings

from demixer.engine import formats, registry
from demixer.ops import disk
from demixer.separation import masters

CHANNELS = 2
FLOAT_BYTES = 4
MINUTE = 60


def stem_count(model: str, two_stems: str = "") -> int:
    """The stems a job makes: the model's sources, or two (``--two-stems``)."""
    if two_stems:
        return 2
    return len(registry.get_spec(model).sources)


def _per_stem_second(rate: int = masters.STORED_RATE) -> dict[str, float]:
    frames = rate * CHANNELS
    return {
        "live": frames * FLOAT_BYTES,
        "master": frames * masters.MASTER_BIT_DEPTH / 8,
        "preview": masters.PREVIEW_KBPS * 1000 / 8,
        "render": frames * masters.MASTER_BIT_DEPTH / 8,  # a download at the masters' depth
    }


def per_minute(model: str, two_stems: str = "") -> dict[str, int]:
    """Bytes per minute of audio by role (``storage``, ``temp``) for a short track."""
    size = {k: v * MINUTE * stem_count(model, two_stems) for k, v in _per_stem_second().items()}
    return {
        "storage": int(size["live"] + size["master"] + size["preview"] + size["render"]),
        "temp": int(size["master"] + size["preview"]),
    }


def separation_needs(
    model: str, two_stems: str, seconds: float, input_bytes: int, *, stored: bool
) -> dict[str, int]:
    """Bytes by role a job on a track of ``seconds`` needs; ``stored`` when its original
    (``input_bytes``) is already in storage (a claim), not when it is being uploaded."""
    minutes = max(0.0, seconds) / MINUTE
    rates = per_minute(model, two_stems)
    needs = {role: int(n * minutes) for role, n in rates.items()}
    if seconds > settings.SEPARATION_LOW_MEMORY_MINUTES * MINUTE:
        live = _per_stem_second()["live"] * stem_count(model, two_stems)
        needs["temp"] += int(live * seconds)
    if not stored:
        needs["storage"] += input_bytes
    if disk.storage_root() is None:
        needs["temp"] += input_bytes  # the engine reads a local copy of the stored original
    return needs


def render_needs(
    stems: int, seconds: float, fmt: str, rate: int | None, bit_depth: int, tempo: float = 1.0
) -> dict[str, int]:
    """Bytes by role a render of ``stems`` files (a zip's stems, or one stem, instrumental or
    mix: 1) needs: encoded in the temporary folder, then copied into storage."""
    frames = (rate or masters.STORED_RATE) * CHANNELS
    spec = formats.get(fmt)  # a lossy one at its highest bitrate; lossless ones by their PCM size
    kbps = spec.default_kbps or 0
    per_second = kbps * 1000 / 8 if not spec.lossless else frames * max(bit_depth, 16) / 8
    size = int(per_second * max(0.0, seconds) / max(tempo, 0.1) * stems)
    return {"storage": size, "temp": size}
