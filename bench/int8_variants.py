"""The fast mode's int8 arithmetic on this CPU: which graph and kernels are both right and fast.

Sessions compared, each on the same segments of a generated song with a strong vocal:
  default      the fused fp32 graph (the default mode)
  fast         the shipped int8 graph with this host's kernel choice (demixer.engine.htdemucs.cpu)
  fast-exact   the shipped int8 graph, u8 x u8 kernels forced (session.x64quantprecision=1)
  fast-plain   the shipped int8 graph, u8 x s8 kernels forced (saturate without VNNI)
  fast-7bit    the fused graph quantized with 7-bit weights (quantize_dynamic reduce_range):
               u8 x s7 products cannot saturate vpmaddubsw's 16-bit sums, so the fast u8 x s8
               kernels stay exact on CPUs without VNNI

Per-segment time is the median of interleaved runs (one of each in turn, so a load that comes
and goes hits all alike); SNR of each stem against the default session's. Prints; never asserts.

    .venv/bin/python bench/int8_variants.py [--runs 5]
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demixer.engine import registry
from demixer.engine.htdemucs import cpu
from demixer.engine.htdemucs.model import SegmentModel, _session_options
from demixer.engine.options import SessionConfig
from demixer.testing import signals


def seven_bit_graph() -> Path:
    """The fused graph with 7-bit per-channel MatMul weights, made once under var/bench/."""
    target = Path("var/bench/htdemucs.fused-v1-int8pc-7bit.onnx")
    if target.is_file():
        return target
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger().setLevel(logging.ERROR)
    quantize_dynamic(
        registry.ensure_fused("htdemucs"),
        target,
        op_types_to_quantize=["MatMul"],
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )
    return target


class Variant(SegmentModel):
    """A SegmentModel on a given graph with the int8 kernel choice forced one way or the other."""

    def __init__(self, config: SessionConfig, path: Path, exact: bool | None) -> None:
        self.exact = exact
        super().__init__(config, path)

    def _new_session(self, weights: Path) -> ort.InferenceSession:
        options = _session_options(self.config)
        if self.exact is not None:
            options.add_session_config_entry(
                "session.x64quantprecision", "1" if self.exact else "0"
            )
        return ort.InferenceSession(str(weights), options, providers=["CPUExecutionProvider"])


def snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return 10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / max(noise, 1e-20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    registry.configure(None)
    fast = registry.ensure_quantized("htdemucs")
    fused = registry.ensure_fused("htdemucs")
    quick = SessionConfig(quality="fast")
    models = {
        "default": Variant(SessionConfig(), fused, None),
        "fast": Variant(quick, fast, cpu.exact_int8()),
        "fast-exact": Variant(quick, fast, True),
        "fast-plain": Variant(quick, fast, False),
        "fast-7bit": Variant(quick, seven_bit_graph(), False),
    }
    segment = models["default"].segment
    song = signals.song(segment / signals.RATE, seed=2)
    wave = signals.mix(song)
    print(
        f"CPU: {cpu.cpu_class()}; host kernels for the fast mode: "
        f"{'u8 x u8 (exact)' if cpu.exact_int8() else 'u8 x s8'}"
    )
    outputs = {name: model(wave).copy() for name, model in models.items()}  # also warms up
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.runs):
        for name, model in models.items():
            start = time.perf_counter()
            model(wave)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["default"])
    print(f"\none 7.8 s segment, median of {args.runs} interleaved runs\n")
    print(
        "| session | s per segment | x default | SNR vs default: "
        + " / ".join(signals.STEMS)
        + " |"
    )
    print("| --- | --- | --- | --- |")
    for name in models:
        median = statistics.median(times[name])
        dbs = " / ".join(
            "—" if name == "default" else f"{snr(outputs['default'][i], outputs[name][i]):.1f}"
            for i in range(len(signals.STEMS))
        )
        print(f"| {name} | {median:.2f} | {base / median:.2f}x | {dbs} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:.0f} MiB (five sessions)")


if __name__ == "__main__":
    main()
