"""Decoding every input format, channel/rate handling, encoding round trips, bad input."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from demixer.engine import audio
from demixer.engine.errors import AudioDecodeError, AudioEncodeError
from demixer.testing.files import INPUT_FORMATS, write_audio

RATE = 44100
LOSSLESS = {"wav16", "wav24", "wavfloat", "flac", "aiff"}


def tone(seconds: float = 1.5, rate: int = RATE, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t)
    right = 0.2 * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right][:channels] if channels <= 2 else [left] * channels).astype(
        np.float32
    )


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[-1], b.shape[-1])
    a, b = a[..., :n].ravel(), b[..., :n].ravel()
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


@pytest.mark.parametrize("kind", list(INPUT_FORMATS))
def test_every_input_format_decodes_to_stereo_44k(kind: str, tmp_path: Path) -> None:
    x = tone()
    path = write_audio(
        tmp_path / f"in{INPUT_FORMATS[kind]}",
        x,
        RATE,
        kind,
        tags={"title": "Song", "artist": "Band"},
    )
    decoded = audio.decode(path)
    assert decoded.rate == RATE
    assert decoded.samples.dtype == np.float32
    assert decoded.samples.shape[0] == 2
    assert abs(decoded.samples.shape[-1] - x.shape[-1]) < 0.05 * RATE  # codec padding aside
    if kind in LOSSLESS:
        np.testing.assert_allclose(decoded.samples, x, atol=1e-4)
    else:  # lossy: the right tone on the right side
        for channel, hz in ((0, 440), (1, 660)):
            spectrum = np.abs(np.fft.rfft(decoded.samples[channel]))
            assert np.argmax(spectrum) * RATE / decoded.samples.shape[-1] == pytest.approx(
                hz, abs=2
            )
    assert decoded.tags.get("title") == "Song"
    assert audio.validate(path).duration == pytest.approx(
        decoded.source_rate and x.shape[-1] / RATE, abs=0.05
    )


def test_mono_is_duplicated_to_both_channels(tmp_path: Path) -> None:
    x = tone(channels=1)
    path = write_audio(tmp_path / "mono.wav", x, RATE, "wavfloat")
    decoded = audio.decode(path)
    assert decoded.source_channels == 1
    np.testing.assert_allclose(decoded.samples[0], x[0], atol=1e-6)
    np.testing.assert_allclose(decoded.samples[1], x[0], atol=1e-6)


def test_surround_is_downmixed_to_stereo(tmp_path: Path) -> None:
    x = tone(channels=6)
    path = tmp_path / "surround.wav"
    sf.write(path, x.T, RATE, subtype="FLOAT")
    decoded = audio.decode(path)
    assert decoded.source_channels == 6
    assert decoded.samples.shape == (2, x.shape[-1])
    assert correlation(decoded.samples[0], x[0]) > 0.99  # same tone, mixed down


@pytest.mark.parametrize("rate", [8000, 22050, 48000, 96000])
def test_any_rate_is_resampled_to_44k(rate: int, tmp_path: Path) -> None:
    x = tone(2.0, rate=rate)
    path = write_audio(tmp_path / "r.wav", x, rate, "wavfloat")
    decoded = audio.decode(path)
    assert decoded.source_rate == rate
    assert decoded.samples.shape[-1] == pytest.approx(2.0 * RATE, abs=2)
    spectrum = np.abs(np.fft.rfft(decoded.samples[0]))
    peak_hz = np.argmax(spectrum) * RATE / decoded.samples.shape[-1]
    assert peak_hz == pytest.approx(440, abs=2)


@pytest.mark.parametrize(
    ("fmt", "depth", "subtype"),
    [
        ("wav", 16, "PCM_16"),
        ("wav", 24, "PCM_24"),
        ("wav", 32, "FLOAT"),
        ("flac", 16, "PCM_16"),
        ("flac", 24, "PCM_24"),
    ],
)
def test_lossless_outputs_round_trip(fmt: str, depth: int, subtype: str, tmp_path: Path) -> None:
    x = tone()
    path = audio.encode(
        x, tmp_path / f"s.{fmt}", fmt=fmt, bit_depth=depth, tags={"title": "Song", "artist": "Band"}
    )
    info = sf.info(path)
    assert info.subtype == subtype and info.samplerate == RATE
    back, _ = sf.read(path, dtype="float32", always_2d=True)
    np.testing.assert_allclose(back.T, x, atol=2.0 ** -(min(depth, 24) - 2))
    assert audio.probe(path).tags == {"title": "Song", "artist": "Band"}
    assert not list(tmp_path.glob(".*part"))  # written under a temporary name, then renamed


@pytest.mark.parametrize("kbps", [128, 320])
def test_mp3_output_round_trips_with_bitrate_and_tags(kbps: int, tmp_path: Path) -> None:
    x = tone(3.0)
    path = audio.encode(
        x,
        tmp_path / "s.mp3",
        fmt="mp3",
        bitrate_kbps=kbps,
        tags={"title": "Song", "artist": "Band"},
    )
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name.startswith("mp3")
        assert stream.bit_rate == pytest.approx(kbps * 1000, rel=0.05)
    decoded = audio.decode(path)
    assert correlation(decoded.samples, x) > 0.98
    assert decoded.tags == {"title": "Song", "artist": "Band"}


def test_clip_modes_follow_the_reference() -> None:
    loud = np.array([[2.0, -4.0, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(audio.prevent_clip(loud, "rescale"), loud / (1.01 * 4.0))
    np.testing.assert_allclose(audio.prevent_clip(loud, "clamp"), [[0.99, -0.99, 0.5]])
    quiet = np.array([[0.5, -0.25]], dtype=np.float32)
    np.testing.assert_array_equal(audio.prevent_clip(quiet, "rescale"), quiet)


def test_unsupported_bit_depth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioEncodeError, match="32-bit"):
        audio.encode(tone(), tmp_path / "s.flac", fmt="flac", bit_depth=32)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"%PDF-1.4 this is not audio at all" * 200), "not a recognised"),
        (lambda p: p.write_text("hello, world\n" * 1000), "not a recognised"),
        (lambda p: p.write_bytes(np.random.default_rng(0).bytes(50_000)), "not a recognised"),
    ],
    ids=["empty", "pdf", "text", "random-bytes"],
)
def test_bad_input_gets_a_clear_error(make, message: str, tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"  # the extension promises audio; the content decides
    make(path)
    with pytest.raises(AudioDecodeError, match=message):
        audio.decode(path)
    with pytest.raises(AudioDecodeError, match=message):
        audio.validate(path)


@pytest.mark.parametrize("kind", ["wav16", "aiff", "flac", "mp3"])
def test_truncated_file_is_refused(kind: str, tmp_path: Path) -> None:
    whole = write_audio(tmp_path / f"whole{INPUT_FORMATS[kind]}", tone(10.0), RATE, kind)
    cut = tmp_path / f"cut{INPUT_FORMATS[kind]}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    with pytest.raises(AudioDecodeError, match=r"truncated|corrupt"):
        audio.validate(cut)
    with pytest.raises(AudioDecodeError, match=r"truncated|corrupt"):
        audio.decode(cut)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="not found"):
        audio.decode(tmp_path / "nope.wav")
    with pytest.raises(AudioDecodeError, match="directory"):
        audio.decode(tmp_path)


def test_too_long_is_refused(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.wav", tone(3.0), RATE, "wav16")
    with pytest.raises(AudioDecodeError, match="limit"):
        audio.validate(path, max_seconds=1.0)
    assert audio.validate(path, max_seconds=5.0).duration == pytest.approx(3.0)
