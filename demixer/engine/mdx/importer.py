"""``demixer models import MODEL.onnx``: register a UVR MDX-Net file as it is (no PyTorch).

The file is recognised by its extension and its graph's one input, float32 (batch, 4, dim_f,
dim_t); its parameters come from the operator (``--params PARAMS.yaml`` or flags), else from the
table of UVR's well-known files (:func:`demixer.engine.mdx.params.known`), and must agree with the
graph's shape. Before it is registered it runs one chunk through onnxruntime, so a file that
cannot run is refused here rather than in a user's job. Then ``imported/<name>/`` gets the file
and a manifest with its SHA-256 and parameters, moved into place in one rename.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from demixer.engine import registry
from demixer.engine.importer import manifest as imported
from demixer.engine.importer.run import ImportFailed, _check_name
from demixer.engine.mdx import graph, manifest, params
from demixer.engine.model_files import checked, models_dir, sha256_of

GRAPH = "model.onnx"


def graph_shape(path: Path) -> tuple[int | None, int | None]:
    """(dim_f, dim_t) of the graph's input (None where the graph leaves it open), or
    :class:`ImportFailed` when the file is no graph of MDX-Net's shape."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises its own DecodeError and plain ones
        raise ImportFailed(f"{path.name}: not an ONNX model ({type(exc).__name__})") from None
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ImportFailed(f"{path.name}: an MDX-Net graph has one input, this has {len(inputs)}")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in _dims(inputs[0])]
    if len(dims) != 4 or dims[1] != 4:
        raise ImportFailed(
            f"{path.name}: its input has shape {dims}; an MDX-Net graph takes "
            "(batch, 4, dim_f, dim_t) spectrogram chunks"
        )
    return dims[2], dims[3]


def _dims(value: Any) -> list[Any]:
    return list(value.type.tensor_type.shape.dim)


def resolve(path: Path, given: params.MdxParams | None) -> params.MdxParams:
    """The parameters to run ``path`` with: the operator's, else the well-known table's; checked
    against the graph's shape."""
    found = given or params.known(path)
    if found is None:
        raise ImportFailed(
            f"{path.name} is not one of UVR's well-known MDX-Net files (hash "
            f"{params.uvr_hash(path)}); give its parameters with --params PARAMS.yaml or "
            "--n-fft, --dim-f, --dim-t, --compensate and --primary-stem"
        )
    dim_f, dim_t = graph_shape(path)
    if dim_f is not None and dim_f != found.dim_f:
        raise ImportFailed(f"{path.name}: the graph takes dim_f {dim_f}, not {found.dim_f}")
    if dim_t is not None and dim_t != found.dim_t:
        raise ImportFailed(f"{path.name}: the graph takes dim_t {dim_t}, not {found.dim_t}")
    return found


def import_mdx(
    files: list[Path],
    *,
    name: str | None = None,
    force: bool = False,
    given: params.MdxParams | None = None,
    segment_size: int | None = None,
    directory: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> registry.ModelSpec:
    """Import one MDX-Net ``.onnx`` file under ``name`` (default: the file's name), run at
    ``segment_size`` frames a chunk when given (else its parameters' own, by default 256)."""
    say = log or (lambda line: print(line, file=sys.stderr))
    directory = directory or models_dir()
    if len(files) != 1:
        raise ImportFailed("import one MDX-Net .onnx file at a time")
    path = Path(files[0]).resolve()
    if not path.is_file():
        raise ImportFailed(f"{path}: file not found")
    name = name or params.stem_name(path.stem).replace("_", "-")[:40].strip("-")
    _check_name(name, directory, force)
    found = resolve(path, given.check() if given else None)
    if segment_size is not None:
        found = dataclasses.replace(found, segment_size=segment_size).check()
    with imported.staging(directory) as work:
        work.mkdir()
        shutil.copyfile(path, work / GRAPH)
        _try(work / GRAPH, found, path.name)
        data: dict[str, Any] = {
            "format": manifest.FORMAT,
            "architecture": manifest.ARCHITECTURE,
            "name": name,
            "graph": GRAPH,
            "sha256": sha256_of(work / GRAPH),
            "file": path.name,
            "uvr_hash": params.uvr_hash(path),
            "params": found.to_dict(),
            "licence": manifest.LICENCE,
        }
        spec = registry.mdx_spec(manifest.parse(data, name))
        target = imported.install(work, directory, name, data)
    for relative, sha in spec.files:
        checked(directory / relative, sha)  # stamp, so the first job does not hash it again
    say(f"imported {name}: MDX-Net, {', '.join(spec.sources)} in {target}")
    return spec


def _try(path: Path, found: params.MdxParams, label: str) -> None:
    """One silent chunk through onnxruntime at the segment size it will run at: the graph must
    run and give the input's shape."""
    import onnxruntime as ort

    try:
        loaded = graph.source(path, found)
        session = ort.InferenceSession(loaded, providers=["CPUExecutionProvider"])
        feed = np.zeros((1, 4, found.dim_f, found.segment_size), dtype=np.float32)
        (out,) = session.run(None, {session.get_inputs()[0].name: feed})[:1]
    except Exception as exc:  # onnxruntime's errors have no common base
        raise ImportFailed(f"{label}: onnxruntime cannot run it ({exc})") from None
    if np.shape(out) != feed.shape:
        raise ImportFailed(
            f"{label}: the graph gives shape {np.shape(out)} for an input of {feed.shape}"
        )
