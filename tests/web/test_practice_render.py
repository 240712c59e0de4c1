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

from demixer.exports import conversions
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
    target = conversions.mix(masters, gains, tmp_path / "mix.wav", "wav", None, tempo, pitch)
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


def web_audio_pan(left: float, right: float, pan: float) -> tuple[float, float]:
    """The Web Audio specification's StereoPannerNode on a stereo input (its "equal-power"
    algorithm, written out sample by sample), what the player's pan runs in the browser."""
    x = (pan + 1 if pan <= 0 else pan) * np.pi / 2
    gain_l, gain_r = np.cos(x), np.sin(x)
    if pan <= 0:
        return left + right * gain_l, right * gain_r
    return left * gain_l, right + left * gain_r


@pytest.mark.parametrize("pan", [-1.0, -0.35, 0.0, 0.5, 1.0])
def test_the_pan_law_is_the_players(pan: float) -> None:
    rng = np.random.default_rng(3)
    block = rng.uniform(-0.5, 0.5, (2, 64)).astype(np.float32)
    expected = np.array([web_audio_pan(lv, rv, pan) for lv, rv in block.T]).T
    np.testing.assert_allclose(conversions.pan_stereo(block, pan), expected, atol=1e-6)


def test_the_mix_is_panned_as_the_player_pans_it(
    alice_client: Client, alice, make_done_separation, media_dir, tmp_path
) -> None:
    """Vocals hard left and drums half right in the player: the mix download holds the same."""
    job = make_done_separation(alice)
    stems = {name: master(media_dir, job, name) for name in ("vocals", "drums")}
    url = reverse("separation-mix", args=[job.id])
    data = {"gain_bass": "0", "gain_other": "0", "pan_vocals": "-1", "pan_drums": "0.5"}
    mixed, _ = decode_bytes(rendered(alice_client, alice_client.post(url, data)), tmp_path, ".wav")
    item = Render.objects.get(kind=RenderKind.MIX)
    assert item.params["pans"] == {"vocals": -1.0, "drums": 0.5}
    expected = sum(
        conversions.pan_stereo(stems[n], p) for n, p in (("vocals", -1.0), ("drums", 0.5))
    )
    expected *= 1.0 / max(1.01 * float(np.abs(expected).max()), 1.0)  # as the mix rescales
    n = min(mixed.shape[1], expected.shape[1])
    assert np.abs(mixed[:, :n] - expected[:, :n]).max() < 1e-3  # 16-bit WAV
    unpanned = stems["vocals"] + stems["drums"]
    assert np.abs(mixed[:, :n] - unpanned[:, :n]).max() > 0.05  # the pan made a difference
    # a centred pan is no pan: the same file as before pans existed
    alice_client.post(url, {"gain_bass": "0", "gain_other": "0", "pan_vocals": "0"})
    assert "pans" not in Render.objects.exclude(id=item.id).get(kind=RenderKind.MIX).params
    run_worker()


@pytest.mark.parametrize(("field", "value"), [("pan_vocals", "2"), ("pan_drums", "left")])
def test_a_pan_out_of_range_is_refused(alice_client, alice, make_done_separation, field, value):
    job = make_done_separation(alice)
    response = alice_client.post(reverse("separation-mix", args=[job.id]), {field: value})
    assert response.status_code == 400 and field.split("_")[1] in response.content.decode()


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
