"""A lever measured and not adopted: htdemucs in bfloat16 through onnxruntime's OpenVINO provider.

CPUs with AVX512_BF16 or AMX (this project's AMD EPYC hosts have AVX512_BF16) multiply in
bfloat16 at about twice the float32 rate. onnxruntime's own CPU provider has no bfloat16 kernels
on x86, but the ``onnxruntime-openvino`` wheel (a build of onnxruntime with OpenVINO inside)
does, with ``INFERENCE_PRECISION_HINT=bf16``. This script separates the same generated songs as
``bench/quality.py`` plus the two vocal-heavy ones (seeds 2 and 4) with:

- ``default``: the project's default mode (fused fp32 graph, CPU provider);
- ``fast``: the project's fast mode (int8 MatMul weights, CPU provider);
- ``ov-bf16``: the verified fp32 weights on the OpenVINO provider in bfloat16;
- ``ov-fp32``: the same in float32 (OpenVINO's own kernels, no bfloat16);

and prints SDR against the true stems and the steady-state real-time factor of each. It prints,
never asserts. ``onnxruntime-openvino`` replaces the ``onnxruntime`` module, so it runs in a
bench-only environment (Python >= 3.12), never the project's::

    python3.12 -m venv var/peers/ov-venv
    var/peers/ov-venv/bin/pip install onnxruntime-openvino==1.24.1 numpy scipy onnx av \\
        soundfile soxr tqdm
    var/peers/ov-venv/bin/pip install --no-deps -e .
    var/peers/ov-venv/bin/python bench/openvino_bf16.py

Why it is not the fast mode (yet): see the README's speed section (figures of 2026-11-29).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
from quality import separate_songs, songs

from demixer.engine import registry
from demixer.engine.htdemucs.model import SegmentModel, SessionConfig
from demixer.engine.separate import SeparationOptions
from demixer.testing import signals


class OpenVinoModel(SegmentModel):
    """The project's SegmentModel (same host DSP, same buffers) on the OpenVINO provider."""

    def __init__(self, precision: str, threads: int) -> None:
        self.precision, self.threads = precision, threads
        # the verified export, not the default mode's fused graph: OpenVINO has no kernel for
        # com.microsoft.MultiHeadAttention (those nodes would fall back to the CPU provider in
        # float32) and fuses attention itself
        super().__init__(SessionConfig(), path=registry.weights_path())
        if "OpenVINOExecutionProvider" not in self.session.get_providers():
            raise SystemExit("the OpenVINO provider did not load (see the docstring's setup)")

    def _new_session(self, weights: Path) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        provider = {
            "device_type": "CPU",
            "num_of_threads": str(self.threads),
            "load_config": json.dumps({"CPU": {"INFERENCE_PRECISION_HINT": self.precision}}),
        }
        return ort.InferenceSession(
            str(weights), options, providers=[("OpenVINOExecutionProvider", provider)]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="default,fast,ov-bf16,ov-fp32")
    args = parser.parse_args()
    material = songs(args.songs, args.seconds)
    audio_seconds = sum(mix.shape[-1] for _, _, mix in material) / signals.RATE
    print(f"onnxruntime {ort.__version__}; {len(material)} songs, {audio_seconds:.0f} s of audio")
    print(f"{'mode':10s} " + " ".join(f"{n:>14s}" for n, _, _ in material) + "   mean    RTF")
    base: np.ndarray | None = None
    for mode in args.modes.split(","):
        if mode.startswith("ov-"):
            model: SegmentModel = OpenVinoModel(mode[3:], args.threads)
            quality = "default"
        else:
            model = SegmentModel(SessionConfig(quality=mode, threads=args.threads))
            quality = mode
        model.warm_up(2)
        table, elapsed = separate_songs(model, SeparationOptions(quality=quality), material)
        sdrs = table.mean(axis=1)
        base = sdrs if base is None else base
        cells = " ".join(
            f"{v:.2f} ({v - b:+.2f})".rjust(14) for v, b in zip(sdrs, base, strict=True)
        )
        print(f"{mode:10s} {cells} {sdrs.mean():6.2f} {elapsed / audio_seconds:6.3f}", flush=True)
    print("cells: mean SDR over the four stems (dB), then the change from the first mode")


if __name__ == "__main__":
    main()
