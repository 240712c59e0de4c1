"""The ``demucs-onnx`` peer of ``bench/engine_speed.py``: its graph, made by its own exporter, and
its command line, run offline on that graph.

PyPI ``demucs-onnx`` (0.3.4, MIT) runs htdemucs as one ONNX graph (waveform in, stems out: the
STFT/iSTFT are Conv1d layers inside the graph) on onnxruntime with numpy host code, no PyTorch.
Its graphs normally come from a model hub; here nothing is fetched: its exporter
(``demucs_onnx.export.export_to_onnx``) turns a random-weight htdemucs built with Demucs's own
class and the official hyper-parameters into ``var/peers/demucs-onnx/htdemucs-random.onnx``, and
its CLI separates with that file. Same architecture and size as demixer's shipped
``htdemucs.onnx`` (the child checks the 41,984,456 parameters), so the same arithmetic; the
weight values do not change the speed. demixer's own graph cannot stand in on demucs-onnx's side:
its contract differs (inputs waveform + host spectrogram, outputs the spectral and time branches
before the iSTFT; demucs-onnx feeds ``mix`` (1, 2, 343980) and reads ``stems`` (1, 4, 2, 343980)).

Two roles, each in its own bench-only environment (outside the project's dependencies)::

    # the exporter's side: PyTorch CPU + demucs (the torch peer's venv, plus onnx and
    # demucs-onnx without its 'export' extra, which pins torch<2.5 and demucs==4.0.1)
    python3.11 -m venv var/peers/torch-venv
    var/peers/torch-venv/bin/pip install torch==2.13.0 demucs==4.1.0 numpy onnx onnxscript \\
        onnxruntime==1.32.0 soundfile soxr tqdm
    var/peers/torch-venv/bin/pip install --no-deps demucs-onnx==0.3.4
    var/peers/torch-venv/bin/python bench/peers_demucs_onnx.py export

    # the runtime side, as its users run it: numpy + onnxruntime, no torch
    python3.11 -m venv var/peers/demucs-onnx-venv
    var/peers/demucs-onnx-venv/bin/pip install demucs-onnx==0.3.4 onnxruntime==1.32.0

``export`` writes, under ``var/peers/demucs-onnx/``: ``htdemucs-random.th`` (the checkpoint as
Demucs serializes a model: ``{klass, args, kwargs, state (half), training_args}``, the form
``demixer models import`` takes), ``htdemucs-random.onnx`` (its export, from the same model
pickled whole, the form its exporter loads from a path; with its own parity checks against
PyTorch) and ``export.json``. About 10 minutes on 2 cores (most of it the exporter's tracing and
its two parity runs).

``separate CLIP OUTDIR`` runs ``demucs-onnx separate CLIP OUTDIR --model htdemucs --providers
cpu -q`` through its own ``cli.main``, with ``HF_HUB_OFFLINE=1`` and its hub download of the
htdemucs file replaced by the local export (any other download raises): the work is its own
code (decode, resample check, chunking with overlap 0.25, onnxruntime with its session options,
overlap-add, WAV writing).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_DIR = ROOT / "var" / "peers" / "demucs-onnx"
CHECKPOINT = PEER_DIR / "htdemucs-random.th"
PICKLED = PEER_DIR / "htdemucs-random.model.th"
GRAPH = PEER_DIR / "htdemucs-random.onnx"
REPORT = PEER_DIR / "export.json"
HTDEMUCS_PARAMS = 41_984_456
MARK = "BENCH-RESULT "


def export() -> None:
    """Random-weight htdemucs -> Demucs package -> demucs-onnx's exporter -> ONNX."""
    from fractions import Fraction

    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state, load_model
    from demucs_onnx import __version__ as peer_version
    from demucs_onnx.export import export_to_onnx

    PEER_DIR.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    # htdemucs' hyper-parameters (Demucs' conf + the mmi grid's final model): dconv_mode 3,
    # bottom_channels 512, segment 39/5 s; the rest are HTDemucs' defaults
    model = HTDemucs(
        sources=["drums", "bass", "other", "vocals"],
        samplerate=44100,
        segment=Fraction(39, 5),
        bottom_channels=512,
        dconv_mode=3,
    ).eval()
    params = sum(p.numel() for p in model.parameters())
    args, kwargs = model._init_args_kwargs
    package = {
        "klass": HTDemucs,
        "args": args,
        "kwargs": kwargs,
        "state": get_state(model, None, half=True),
        "training_args": {},
    }
    torch.save(package, CHECKPOINT)
    # demucs-onnx's exporter loads a path with torch.load and wants the model object itself
    # (a Demucs package dict is refused: "Don't know how to handle checkpoint object: dict"),
    # so the package is loaded with Demucs' own loader and pickled whole
    torch.save(load_model(str(CHECKPOINT)), PICKLED)
    started = time.perf_counter()
    export_to_onnx(PICKLED, GRAPH, opset=17, parity_check=True, verbose=True)
    PICKLED.unlink()  # an intermediate (168 MB)
    report = {
        "demucs_onnx": peer_version,
        "torch": torch.__version__,
        "params": params,
        "export_s": time.perf_counter() - started,
        "graph_mb": GRAPH.stat().st_size / 1e6,
    }
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(MARK + json.dumps(report), flush=True)


def separate(clip: str, outdir: str) -> None:
    """demucs-onnx's own CLI on the local export; no hub access."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    if not GRAPH.exists():
        sys.exit(f"no {GRAPH.relative_to(ROOT)}: run the 'export' step first (see --help)")
    import demucs_onnx.inference as inference
    from demucs_onnx import cli

    def local_single_model(name: str, **_: object) -> Path:
        if inference.resolve_model_name(name) != "htdemucs":
            raise RuntimeError(f"bench: no local graph for {name!r}")
        return GRAPH

    def no_download(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("bench: demucs-onnx tried to download a model")

    inference.download_single_model = local_single_model
    inference.download_stem_model = no_download
    argv = ["separate", clip, outdir, "--model", "htdemucs", "--providers", "cpu", "-q"]
    code = cli.main(argv)
    written = sorted(p.name for p in Path(outdir).iterdir())
    print(MARK + json.dumps({"exit": code, "stems": written}), flush=True)
    sys.exit(code)


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "export":
        export()
    elif len(sys.argv) == 4 and sys.argv[1] == "separate":
        separate(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
