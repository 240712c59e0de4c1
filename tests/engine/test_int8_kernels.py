"""The fast mode's int8 arithmetic on a CPU without VNNI, emulated with qemu-user as a Haswell
(AVX2 only): there onnxruntime's u8 x s8 kernels saturate, and the session options the fast
mode uses on such CPUs (``session.x64quantprecision``, see :mod:`demixer.engine.htdemucs.cpu`) make
the result the same as on a VNNI host. One quantized MatMul whose weights pair up the way that
overflows the 16-bit intermediate stands in for the model's ~40 (the whole model under
emulation would take hours); the cpu-class detection is tested on known flag sets."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from demixer.engine.htdemucs import cpu
from demixer.testing.signals import sdr

QEMU = shutil.which("qemu-x86_64")
x86_only = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 int8 kernels")

RUN = """
import os, sys
import numpy as np, onnxruntime as ort
from demixer.engine.htdemucs.model import SessionConfig, _session_options
graph, feed, out = sys.argv[1:4]
x = np.load(feed)
results = {}
for forced in ("0", "1"):
    os.environ["DEMIXER_EXACT_INT8"] = forced
    options = _session_options(SessionConfig(quality="fast", threads=1))
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    results["exact" if forced == "1" else "plain"] = session.run(None, {"x": x})[0]
np.savez(out, **results)
"""


@pytest.fixture(scope="module")
def quantized_matmul(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    """An int8 MatMul as the fast graph has them (per-channel QInt8 weights, dynamic u8
    activations): (graph, input .npy, the float32 product it approximates)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = tmp_path_factory.mktemp("int8")
    rng = np.random.default_rng(0)
    inner, outer = 256, 64
    weights = np.abs(rng.uniform(-1, 1, (inner, outer))).astype(np.float32)  # same-sign pairs
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, inner])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, outer])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "float.onnx"))
    quantize_dynamic(
        folder / "float.onnx",
        folder / "int8.onnx",
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )
    x = rng.uniform(0.8, 1.0, (32, inner)).astype(np.float32)  # activations quantize near 255
    x[:, 0] = -0.01
    np.save(folder / "x.npy", x)
    return folder / "int8.onnx", folder / "x.npy", x @ weights


def _run(graph: Path, feed: Path, out: Path, emulate: str | None) -> dict[str, np.ndarray]:
    prefix = [QEMU, "-cpu", emulate] if emulate and QEMU else []
    subprocess.run(
        [*prefix, sys.executable, "-c", RUN, str(graph), str(feed), str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with np.load(out) as data:
        return {name: data[name] for name in data.files}


@x86_only
def test_this_cpu_gets_exact_int8_either_way(quantized_matmul, tmp_path: Path) -> None:
    graph, feed, product = quantized_matmul
    native = _run(graph, feed, tmp_path / "native.npz", emulate=None)
    assert sdr(product, native["exact"]) > 60
    if cpu.has_vnni():
        assert np.array_equal(native["plain"], native["exact"])  # VNNI kernels never saturate


@x86_only
@pytest.mark.slow  # onnxruntime in a child process under qemu's emulation
@pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed (make test installs it)")
def test_without_vnni_only_the_exact_kernels_are_right(quantized_matmul, tmp_path: Path) -> None:
    graph, feed, product = quantized_matmul
    haswell = _run(graph, feed, tmp_path / "haswell.npz", emulate="Haswell")
    native = _run(graph, feed, tmp_path / "native.npz", emulate=None)
    assert sdr(product, haswell["plain"]) < 30  # the saturation the fast mode hit on AVX2 hosts
    assert sdr(product, haswell["exact"]) > 60
    assert sdr(native["exact"], haswell["exact"]) > 100  # the same arithmetic as this host's


@pytest.mark.parametrize(
    "flags,arch,label,saturates",
    [
        ({"avx2", "fma"}, "x86_64", "x86-64 AVX2 without VNNI", True),
        ({"avx2", "avx512f", "avx512bw"}, "x86_64", "x86-64 AVX-512 without VNNI", True),
        ({"avx2", "avx512f", "avx512_vnni"}, "x86_64", "x86-64 AVX-512 VNNI", False),
        ({"avx2", "avx_vnni"}, "x86_64", "x86-64 AVX-VNNI", False),
        ({"avx2", "avx512f", "avx512_vnni", "amx_int8"}, "x86_64", "x86-64 AMX", False),
        ({"asimd", "asimddp"}, "aarch64", "aarch64 dotprod", False),
    ],
)
def test_cpu_classes(flags: set[str], arch: str, label: str, saturates: bool) -> None:
    assert cpu.cpu_class(frozenset(flags), arch) == label
    assert cpu.int8_saturates(frozenset(flags), arch) is saturates


def test_flags_are_read_from_cpuinfo_lines() -> None:
    x86 = "processor\t: 0\nflags\t\t: fpu avx2 avx512_vnni\nbugs\t\t: spectre\n"
    arm = "processor\t: 0\nFeatures\t: fp asimd asimddp\n"
    assert cpu._flags(x86) == {"fpu", "avx2", "avx512_vnni"}
    assert cpu._flags(arm) == {"fp", "asimd", "asimddp"}
