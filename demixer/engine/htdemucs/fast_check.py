"""Is the int8 fast mode right on this CPU? Checked once per host against the default mode.

int8 kernels differ between CPUs (see :mod:`.cpu`): the fast graph that is within
0.1 dB of the default mode on one host gave 0 dB vocals on another. So before a process first
uses the fast mode, both sessions separate one built-in segment (a generated song with a strong
vocal, where int8 errors show first) and every fast stem must be within ``BOUND_DB`` of the
default one. The verdict is kept in ``fast-check.json`` beside the weights, keyed by what decides
the arithmetic (CPU features, onnxruntime version, the fast graph's checksum, the int8 kernel
choice), so the ~6 s check runs once per host and again only when one of those changes.
A refused fast mode is switched off with one log line; jobs asking for it run in default mode.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from demixer.engine import registry
from demixer.engine.htdemucs import cpu

if TYPE_CHECKING:
    import numpy as np

    from demixer.engine.htdemucs.model import SegmentModel, SessionConfig

logger = logging.getLogger("demixer.engine")

BOUND_DB = 25.0
CLIP_SEED = 2  # signals.song seed 2 has a strong vocal: the stem int8 hurts most
VERDICTS = "fast-check.json"
UNAVAILABLE = "fast mode is not available on this CPU"


@dataclass(frozen=True)
class FastCheck:
    """The verdict: every stem's SNR (dB) of the fast mode against the default mode."""

    usable: bool
    snr_db: dict[str, float]
    cpu_class: str
    checked: float  # unix time
    # each session's time on the clip: whether the fast mode is faster here is for the operator
    # to read (u8 x u8 kernels on CPUs without VNNI are slower than u8 x s8 ones)
    default_seconds: float = 0.0
    fast_seconds: float = 0.0

    @property
    def worst(self) -> tuple[str, float]:
        name = min(self.snr_db, key=self.snr_db.__getitem__)
        return name, self.snr_db[name]

    def describe(self) -> str:
        name, db = self.worst
        if self.usable:
            speed = ""
            if self.default_seconds and self.fast_seconds:
                ratio = self.default_seconds / self.fast_seconds
                speed = f"; {ratio:.2f}x the default mode's speed on the check clip"
            return (
                f"fast mode checked on this CPU ({self.cpu_class}): its worst stem is {db:.1f} dB "
                f"from the default mode's (at least {BOUND_DB:.0f} dB needed){speed}"
            )
        return (
            f"{UNAVAILABLE} ({self.cpu_class}): its {name} stem was {db:.1f} dB from the default "
            f"mode's on the check clip (at least {BOUND_DB:.0f} dB needed); running in default mode"
        )


def check_clip(samples: int) -> np.ndarray:
    """The built-in clip: float32 (2, samples) at 44.1 kHz, a generated song with vocals."""
    from demixer.engine import synthetic  # scipy: loaded in the worker only, when it checks

    stems = synthetic.song(samples / synthetic.RATE + 0.01, seed=CLIP_SEED)
    return synthetic.mix(stems)[:, :samples]


def check(default: SegmentModel, fast: SegmentModel) -> FastCheck:
    """Separate the check clip with both sessions and compare stem by stem (~6 s on 2 cores)."""
    from demixer.engine import synthetic  # scipy: loaded in the worker only, when it checks

    clip = check_clip(default.segment)
    started = time.perf_counter()
    reference = default(clip).copy()
    default_seconds = time.perf_counter() - started
    started = time.perf_counter()
    estimate = fast(clip)
    fast_seconds = time.perf_counter() - started
    snr = {
        name: round(float(synthetic.sdr(reference[i], estimate[i])), 2)
        for i, name in enumerate(fast.sources)
    }
    usable = bool(min(snr.values()) >= BOUND_DB)
    return FastCheck(
        usable,
        snr,
        cpu.cpu_class(),
        time.time(),
        round(default_seconds, 3),
        round(fast_seconds, 3),
    )


def _onnxruntime_version() -> str:
    for dist in ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def _key(model: str, device: str, directory: Path | None) -> str | None:
    """What the verdict depends on; None while the fast graph has no recorded checksum."""
    graph = registry.quantized_path(registry.get_spec(model), directory)
    checksum = registry.recorded_checksum(graph)
    if checksum is None:
        return None
    exact = "exact-int8" if cpu.exact_int8() else "vnni-int8"
    return f"{cpu.signature()}|onnxruntime {_onnxruntime_version()}|{device}|{exact}|{checksum}"


def _verdicts_path(directory: Path | None) -> Path:
    return (directory or registry.models_dir()) / VERDICTS


def _load(directory: Path | None) -> dict[str, dict]:
    try:
        data = json.loads(_verdicts_path(directory).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached(
    model: str = "htdemucs", device: str = "cpu", directory: Path | None = None
) -> FastCheck | None:
    """The recorded verdict for this host, or None if none was made. Imports no onnxruntime,
    so the web process can ask it."""
    key = _key(model, device, directory)
    entry = _load(directory).get(key) if key else None
    if not isinstance(entry, dict):
        return None
    try:
        return FastCheck(
            bool(entry["usable"]),
            {str(k): float(v) for k, v in entry["snr_db"].items()},
            str(entry["cpu_class"]),
            float(entry["checked"]),
            float(entry.get("default_seconds", 0.0)),
            float(entry.get("fast_seconds", 0.0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def record(
    result: FastCheck, model: str = "htdemucs", device: str = "cpu", directory: Path | None = None
) -> None:
    """Keep ``result`` as this host's verdict on the current fast graph of ``model``."""
    key = _key(model, device, directory)
    if key is None:
        return  # no checksum recorded for the graph yet: nothing to tie the verdict to
    path = _verdicts_path(directory)
    data = _load(directory)
    data[key] = dataclasses.asdict(result)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(partial, path)  # readers see the old file or the new one, never half of one


def verdict(
    config: SessionConfig,
    *,
    default: SegmentModel | None = None,
    fast: SegmentModel | None = None,
) -> FastCheck:
    """This host's verdict on the fast mode of ``config``: recorded, or checked now.

    ``default`` and ``fast`` are sessions the caller already has (the worker's); missing ones
    are built for the check (the fast one through the shared cache, since it will be used).
    """
    # onnxruntime: loaded in the worker only, when it checks
    from demixer.engine.htdemucs.model import SegmentModel, shared_model

    fast_config = dataclasses.replace(config, quality="fast")
    registry.ensure_quantized(config.model)  # records the graph's checksum
    known = cached(config.model, config.device)
    if known is not None:
        return known
    fast = fast or shared_model(fast_config)
    default = default or SegmentModel(dataclasses.replace(config, quality="default"))
    result = check(default, fast)
    record(result, config.model, config.device)
    log = logger.info if result.usable else logger.warning
    log("%s", result.describe())
    return result


def usable_config(
    config: SessionConfig, *, default: SegmentModel | None = None
) -> tuple[SessionConfig, FastCheck | None]:
    """``config``, or its default-mode twin where the fast mode was refused on this host."""
    if config.quality != "fast":
        return config, None
    result = verdict(config, default=default)
    if result.usable:
        return config, result
    return dataclasses.replace(config, quality="default"), result
