"""The attention rewrite: the export's arithmetic, on small graphs and on htdemucs itself."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from demixer.engine import registry
from demixer.engine.htdemucs.fusion import fuse_attention
from demixer.engine.htdemucs.model import SegmentModel, SessionConfig
from demixer.testing import signals


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])


def exported_attention(length: int, kv_length: int, hidden: int, heads: int, batch: int = 1):
    """``nn.MultiheadAttention``'s core as torch exports it: sequence-major (L, B, E) q/k/v,
    head split, both sides scaled by sqrt(1/sqrt(head_dim)), softmax, head merge, out_proj."""
    head = hidden // heads
    rng = np.random.default_rng(3)
    weight = (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(np.float32)
    bias = rng.standard_normal(hidden).astype(np.float32)
    consts = {
        "split_q": [length, batch * heads, head],
        "split_kv": [kv_length, batch * heads, head],
        "bhld_q": [batch, heads, length, head],
        "bhld_kv": [batch, heads, kv_length, head],
        "rows": [length * batch, hidden],
    }
    inits = [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in consts.items()]
    inits += [
        numpy_helper.from_array(np.array(head**-0.25, np.float32), "root_scale"),
        numpy_helper.from_array(weight, "out_w"),
        numpy_helper.from_array(bias, "out_b"),
    ]
    nodes = []
    roles = (("q", "split_q", "bhld_q"), ("k", "split_kv", "bhld_kv"), ("v", "split_kv", "bhld_kv"))
    for role, split, bhld in roles:
        nodes += [
            helper.make_node("Reshape", [role, split], [f"{role}3"]),
            helper.make_node("Transpose", [f"{role}3"], [f"{role}t"], perm=[1, 0, 2]),
            helper.make_node("Reshape", [f"{role}t", bhld], [f"{role}4"]),
        ]
    nodes += [
        helper.make_node("Mul", ["q4", "root_scale"], ["qs"]),
        helper.make_node("Transpose", ["k4"], ["kT"], perm=[0, 1, 3, 2]),
        helper.make_node("Mul", ["kT", "root_scale"], ["ks"]),
        helper.make_node("MatMul", ["qs", "ks"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["weights"], axis=-1),
        helper.make_node("MatMul", ["weights", "v4"], ["mixed"]),
        helper.make_node("Transpose", ["mixed"], ["merged_t"], perm=[2, 0, 1, 3]),
        helper.make_node("Reshape", ["merged_t", "rows"], ["merged"]),
        helper.make_node("Gemm", ["merged", "out_w", "out_b"], ["out"], transB=1),
    ]
    inputs = [
        helper.make_tensor_value_info("q", TensorProto.FLOAT, [length, batch, hidden]),
        helper.make_tensor_value_info("k", TensorProto.FLOAT, [kv_length, batch, hidden]),
        helper.make_tensor_value_info("v", TensorProto.FLOAT, [kv_length, batch, hidden]),
    ]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, [length * batch, hidden])
    graph = helper.make_graph(nodes, "attention", inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    feeds = {
        "q": rng.standard_normal((length, batch, hidden)).astype(np.float32),
        "k": rng.standard_normal((kv_length, batch, hidden)).astype(np.float32),
        "v": rng.standard_normal((kv_length, batch, hidden)).astype(np.float32),
    }
    return model, feeds


@pytest.mark.parametrize(
    "length,kv_length,hidden,heads,batch",
    [(7, 7, 16, 2, 1), (5, 11, 24, 3, 1), (6, 3, 16, 4, 2)],
)
def test_fused_block_computes_what_the_export_computes(length, kv_length, hidden, heads, batch):
    model, feeds = exported_attention(length, kv_length, hidden, heads, batch)
    expected = _session(model).run(None, feeds)[0]
    assert fuse_attention(model) == 1
    ops = [node.op_type for node in model.graph.node]
    assert "Softmax" not in ops and ops.count("MultiHeadAttention") == 1
    assert "MatMul" not in ops and ops.count("Reshape") == 1  # split and merge went with it
    np.testing.assert_allclose(_session(model).run(None, feeds)[0], expected, rtol=0, atol=1e-5)


def test_graphs_it_does_not_know_are_left_alone() -> None:
    plain, _ = exported_attention(4, 4, 8, 2)
    softmax = next(node for node in plain.graph.node if node.op_type == "Softmax")
    softmax.output[0] = "elsewhere"  # the pattern broken: nothing may be half-rewritten
    plain.graph.output.append(helper.make_tensor_value_info("elsewhere", TensorProto.FLOAT, None))
    before = plain.SerializeToString()
    assert fuse_attention(plain) == 0
    assert plain.SerializeToString() == before


@pytest.mark.model
def test_htdemucs_default_graph_has_every_attention_fused_and_is_reproducible() -> None:
    """The file setup made equals a fresh rewrite of the verified weights, byte for byte."""
    fresh = onnx.load(str(registry.weights_path()))
    assert fuse_attention(fresh) == 10  # 5 layers x (spectral, temporal) branch
    ops = [node.op_type for node in fresh.graph.node]
    assert ops.count("MultiHeadAttention") == 10 and "Softmax" not in ops
    on_disk = registry.model_path(quality="default")
    assert hashlib.sha256(fresh.SerializeToString()).hexdigest() == registry.sha256_of(on_disk)


def test_htdemucs_fused_equals_the_original_graph(model: SegmentModel) -> None:
    """Measured 117 dB (spectral) and 135 dB (temporal output) on such a segment: only float
    rounding differs. 90 dB still means the same arithmetic on any CPU's kernels."""
    original = SegmentModel(SessionConfig(), path=registry.weights_path())
    mix = signals.mix(signals.song(model.segment / 44100, seed=2))[:, : model.segment]
    feeds = model.prepare(mix)
    fused_out = [out.copy() for out in model.infer(feeds)]
    original_out = original.infer(feeds)
    for ours, reference in zip(fused_out, original_out, strict=True):
        assert signals.sdr(reference, ours) > 90
