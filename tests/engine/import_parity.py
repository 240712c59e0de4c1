"""What the import parity tests share: the ``demixer models`` CLI and the SNR of a stem against
the reference's (every import test), and for the MSST ones (tests/engine/test_import_roformer.py,
tests/engine/test_import_spectral.py) the random-weight checkpoints and the reference's whole-song
inference made by a helper script run with the importer environment's Python
(``roformer_reference.py``, ``spectral_reference.py``: both take ``make OUT [--flagship]`` and
``demix CONFIG CHECKPOINT MIX.npy OUT.npy``), a generated song, and the per-stem comparison of
demixer's whole path with the reference's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from demixer.engine import registry
from demixer.engine.importer import environment
from demixer.engine.options import SeparationOptions
from demixer.engine.roformer.demix import plan
from demixer.engine.separate import separate_file
from demixer.engine.sessions import load_model
from demixer.testing import signals

CLI = [sys.executable, "-m", "demixer.engine.cli"]
MIN_SNR_DB = 40.0


def models_cli(folder: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """``demixer --models-dir FOLDER models ARGS...``, its output captured, never raising."""
    return subprocess.run(
        [*CLI, "--models-dir", str(folder), "models", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "DEMIXER_IMPORTER_ENV": str(environment.location())},
        check=False,
    )


def import_checkpoint(folder: Path, checkpoints: Path, name: str) -> None:
    """``models import NAME.ckpt NAME.yaml`` from ``checkpoints``; fails the test if refused."""
    files = [str(checkpoints / f"{name}.ckpt"), str(checkpoints / f"{name}.yaml")]
    result = models_cli(folder, "import", *files)
    assert result.returncode == 0, result.stderr


def make_checkpoints(python: Path, helper: Path, out: Path, *flags: str) -> Path:
    """The helper's random-weight checkpoints and configs, written to ``out``."""
    subprocess.run([str(python), str(helper), "make", str(out), *flags], check=True, timeout=1800)
    return out


def write_song(folder: Path, seconds: float, seed: int) -> tuple[Path, Path]:
    """Generated music as float WAVs (decoded exactly): stereo, and its left channel alone."""
    mix = signals.mix(signals.song(seconds, seed=seed))
    sf.write(folder / "stereo.wav", mix.T, 44100, subtype="FLOAT")
    sf.write(folder / "mono.wav", mix[0], 44100, subtype="FLOAT")
    return folder / "stereo.wav", folder / "mono.wav"


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = np.sum((reference.astype(np.float64) - estimate) ** 2)
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / noise))


@dataclass(frozen=True)
class Reference:
    """How to run the reference on a test's checkpoints."""

    python: Path  # the importer environment's
    helper: Path  # roformer_reference.py or spectral_reference.py
    checkpoints: Path

    def demix(self, name: str, mix: np.ndarray, tmp: Path, *, exact: bool = False) -> np.ndarray:
        """The reference's whole-song inference on float32 (2, N): float32 (S, 2, N); with
        ``exact``, the same computed in float64 throughout (float64 (S, 2, N))."""
        np.save(tmp / "mix.npy", mix)
        command = [str(self.python), str(self.helper), "demix"]
        command += [str(self.checkpoints / f"{name}.yaml"), str(self.checkpoints / f"{name}.ckpt")]
        command += [str(tmp / "mix.npy"), str(tmp / "ref.npy"), *(["--float64"] if exact else [])]
        subprocess.run(command, check=True)
        return np.load(tmp / "ref.npy")


@dataclass(frozen=True)
class Comparison:
    mix: np.ndarray  # float32 (2, N): the decoded file (a mono file's channel twice, as MSST)
    ours: np.ndarray  # float32 (S, 2, N), the registry's sources in order
    theirs: np.ndarray

    @property
    def snrs(self) -> list[float]:
        return [snr_db(self.theirs[k], self.ours[k]) for k in range(len(self.ours))]


def compare(name: str, path: Path, reference: Reference, tmp: Path) -> Comparison:
    """Separate the file through the reference and then through demixer's whole path (the
    model's session, decode, MSST's chunks, fades, two borders and a partial last chunk:
    checked), on the same samples; the reference first, so the two never hold their memory at
    once (several GB each at the published sizes)."""
    spec = registry.get_spec(name)
    decoded, _ = sf.read(path, dtype="float32", always_2d=True)
    mix = np.ascontiguousarray(np.repeat(decoded.T, 2 // decoded.shape[1], axis=0))
    settings = dict(spec.settings)
    chunks = plan(mix.shape[-1], settings["chunk_size"], settings["num_overlap"])
    assert chunks.border > 0 and chunks.chunks[-1].length < settings["chunk_size"]
    theirs = reference.demix(name, mix, tmp)
    options = SeparationOptions(model=name)
    separated = separate_file(path, options, model=load_model(options))
    ours = np.stack([separated.stems[s] for s in spec.sources])
    assert ours.shape == theirs.shape
    return Comparison(mix=mix, ours=ours, theirs=theirs)
