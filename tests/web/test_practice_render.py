"""The player's practice tools on the server: a custom mix rendered at the player's tempo and
pitch (Signalsmith Stretch through python-stretch, the algorithm the browser runs), the uploaded
original served for "compare with the original", and the result page's policy that lets the
stretcher's AudioWorklet compile its WebAssembly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.test import Client
from django.urls import reverse

from demixer.separation import render
from demixer.separation.models import Render, RenderKind
from tests.web.conftest import body, decode_bytes, run_worker
from tests.web.test_csp import policy
from tests.web.test_downloads import rendered
from tests.web.test_files import master

pytestmark = pytest.mark.django_db(transaction=True)  # renders are enqueued on commit

RATE = 44100
STEMS = ("drums", "bass", "other", "vocals")


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> float:
    """The strongest frequency of the middle of a (C, N) signal (its edges trimmed: the
    stretcher fades in and out), to 1/4 Hz (zero-padded FFT)."""
    mono = samples.mean(axis=0)
    middle = mono[len(mono) // 5 : -len(mono) // 5]
    n = 4 * rate
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), n))
    return float(np.argmax(spectrum) * rate / n)


def tone_masters(folder: Path, hz: float = 440.0, seconds: float = 2.0) -> dict[str, Path]:
    """Four 24-bit FLAC masters: the tone in ``vocals``, the others silent."""
    t = np.arange(int(seconds * RATE)) / RATE
    tone = (0.4 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    out = {}
    for name in STEMS:
        wav = tone if name == "vocals" else np.zeros_like(tone)
        out[name] = folder / f"{name}.flac"
        sf.write(out[name], np.stack([wav, wav]).T, RATE, subtype="PCM_24")
    return out


@pytest.mark.parametrize(
    ("tempo", "pitch", "length_factor", "hz"),
    [(0.5, 0.0, 2.0, 440.0), (1.0, 12.0, 1.0, 880.0), (1.5, 0.0, 1 / 1.5, 440.0)],
)
def test_a_mix_at_a_tempo_and_pitch(tmp_path, tempo, pitch, length_factor, hz) -> None:
    masters = tone_masters(tmp_path)
    gains = dict.fromkeys(STEMS, 1.0)
    target = render.mix(masters, gains, tmp_path / "mix.wav", "wav", None, tempo, pitch)
    out, rate = sf.read(target, dtype="float32", always_2d=True)
    assert rate == RATE and out.shape[1] == 2
    expected = 2.0 * RATE * length_factor
    assert abs(out.shape[0] - expected) <= 0.01 * RATE, (out.shape[0], expected)
    assert abs(dominant_hz(out.T) - hz) <= 3.0, dominant_hz(out.T)
    assert 0.2 < float(np.abs(out).max()) <= 1.0  # the tone is there, and not clipped
    assert not list(tmp_path.glob("*.stretched.wav"))  # the scratch file is gone


def test_the_player_sends_tempo_and_pitch_and_the_worker_applies_them(
    alice_client: Client, alice, make_done_separation, media_dir, tmp_path
) -> None:
    job = make_done_separation(alice)
    vocals = master(media_dir, job, "vocals")
    url = reverse("separation-mix", args=[job.id])
    data = {"gain_drums": "0", "gain_bass": "0", "gain_other": "0", "gain_vocals": "1"}
    data.update(format="wav", tempo="0.5", pitch="3")
    response = alice_client.post(url, data)
    slow, rate = decode_bytes(rendered(alice_client, response), tmp_path, ".wav")
    assert rate == RATE
    assert abs(slow.shape[1] - 2 * vocals.shape[1]) <= 0.01 * RATE
    item = Render.objects.get(kind=RenderKind.MIX)
    assert item.params == {
        "gains": {"drums": 0.0, "bass": 0.0, "other": 0.0, "vocals": 1.0},
        "tempo": 0.5,
        "pitch": 3.0,
    }
    # the same gains at the normal tempo is another file, of the stems' own length
    plain = {k: v for k, v in data.items() if k not in ("tempo", "pitch")}
    same, _ = decode_bytes(rendered(alice_client, alice_client.post(url, plain)), tmp_path, ".wav")
    assert same.shape[1] == vocals.shape[1]
    assert Render.objects.filter(kind=RenderKind.MIX).count() == 2
    run_worker()  # nothing left queued


@pytest.mark.parametrize(
    ("tempo", "pitch"), [("0.3", "0"), ("1", "7"), ("fast", "0"), ("1", "nan")]
)
def test_tempo_and_pitch_out_of_range_are_refused(
    alice_client, alice, make_done_separation, tempo, pitch
) -> None:
    job = make_done_separation(alice)
    data = {"format": "wav", "tempo": tempo, "pitch": pitch}
    response = alice_client.post(reverse("separation-mix", args=[job.id]), data)
    assert response.status_code == 400


def test_the_original_is_served_to_its_owner_only_with_ranges(
    alice_client, bob_client, alice, make_done_separation, media_dir
) -> None:
    job = make_done_separation(alice)
    url = reverse("separation-original", args=[job.id])
    stored = (media_dir / job.track.original.name).read_bytes()
    whole = alice_client.get(url)
    assert whole.status_code == 200 and body(whole) == stored
    assert whole["Content-Type"] == "audio/flac"
    assert whole["Accept-Ranges"] == "bytes"
    assert not whole["Content-Disposition"].startswith("attachment")
    part = alice_client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and body(part) == stored[10:20]
    assert bob_client.get(url).status_code == 404


def test_only_the_player_page_lets_webassembly_compile(alice_client, alice, make_done_separation):
    job = make_done_separation(alice)
    player = policy(alice_client.get(reverse("separation-detail", args=[job.id])))
    assert player["script-src"].split() == ["'self'", "'wasm-unsafe-eval'"]
    assert player["default-src"] == "'self'" and player["object-src"] == "'none'"
    library = policy(alice_client.get(reverse("library")))
    assert "wasm" not in library["script-src"]
