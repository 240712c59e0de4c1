"""An MDX-Net graph as onnxruntime loads it: as given, or with its frame axis left open.

audio-separator runs a graph at its segment size (256 frames by default); where that is not the
graph's declared dim_t it converts the graph to PyTorch (onnx2torch), which ignores the declared
shapes, and runs it on the segment's frames. onnxruntime holds a graph to its declared input
shape, so for such a segment size the graph is loaded with the frame axis of its input and
output named instead of fixed (and the intermediate shapes the exporter recorded dropped, for
onnxruntime to infer): the same operators and weights, the file on disk untouched (its SHA-256
is the one its import recorded). A graph whose operators depend on the frame count (a reshape
to a constant shape) fails its first chunk at import, and is refused there.
"""

from __future__ import annotations

from pathlib import Path

from demixer.engine.mdx.params import MdxParams


def source(path: Path, params: MdxParams) -> str | bytes:
    """What to hand ``ort.InferenceSession`` for ``path`` run at ``params.segment_size``
    frames: the file's path, or the serialized graph with its frame axis open."""
    if params.segment_size == params.dim_t:
        return str(path)
    import onnx

    model = onnx.load(str(path))
    initializers = {i.name for i in model.graph.initializer}
    for value in (*model.graph.input, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if value.name not in initializers and len(dims) == 4:
            dims[3].dim_param = "frames"  # replaces the fixed dim_value (one of the two)
    del model.graph.value_info[:]
    return model.SerializeToString()
