"""Decoding every input format, channel/rate handling, encoding round trips, bad input."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from demixer.engine import audio
from demixer.engine.errors import AudioDecodeError, AudioEncodeError, AudioTooLargeError
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


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_a_whole_number_of_seconds_is_measured_exactly(tmp_path: Path, suffix: str) -> None:
    """Frame lengths summed in floats came out short (24 s as 23.999999999999876 s)."""
    path = tmp_path / f"24s{suffix}"
    sf.write(path, np.zeros((24 * 44_100, 2), dtype=np.float32), 44_100)
    assert audio.validate(path).duration == 24.0
    assert audio.duration_text(audio.validate(path).duration) == "0:24"


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


# --- limits and bounded memory ------------------------------------------------------------


class CountingContainer:
    """Wraps PyAV's container to count the samples it decodes."""

    def __init__(self, inner: av.container.InputContainer) -> None:
        self.inner = inner
        self.samples = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def __enter__(self) -> CountingContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()

    def decode(self, *args: object, **kwargs: object):
        for frame in self.inner.decode(*args, **kwargs):
            self.samples += frame.samples
            yield frame


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[CountingContainer]:
    """Every container the engine opens from now on, counting what it decodes."""
    containers: list[CountingContainer] = []
    real_open = av.open

    def counting_open(*args: object, **kwargs: object) -> CountingContainer:
        containers.append(CountingContainer(real_open(*args, **kwargs)))
        return containers[-1]

    monkeypatch.setattr(av, "open", counting_open)
    return containers


def quiet_noise(seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    return (
        0.1 * np.random.default_rng(seed).standard_normal((channels, int(seconds * rate)))
    ).astype(np.float32)


def test_a_sample_rate_over_the_limit_is_refused_before_decoding(
    tmp_path: Path, opened: list[CountingContainer]
) -> None:
    # the report's upload in small: 384 kHz 7.1 (the report's lasted 19.5 minutes)
    path = write_audio(tmp_path / "bomb.flac", np.zeros((8, 384_000)), 384_000, "flac")
    for check in (audio.validate, audio.decode):
        with pytest.raises(
            AudioTooLargeError, match=r"^bomb\.flac: sample rate 384 kHz, the limit is 192 kHz$"
        ):
            check(path, max_rate=192_000)
    assert [c.samples for c in opened] == [0, 0]
    assert audio.validate(path, max_rate=384_000, max_channels=8).duration == pytest.approx(1.0)


def test_too_many_channels_are_refused_before_decoding(
    tmp_path: Path, opened: list[CountingContainer]
) -> None:
    path = tmp_path / "octo.wav"
    sf.write(path, tone(channels=8).T, RATE, subtype="FLOAT")
    for check in (audio.validate, audio.decode):
        with pytest.raises(AudioTooLargeError, match=r"^octo\.wav: 8 channels, the limit is 6$"):
            check(path, max_channels=6)
    assert [c.samples for c in opened] == [0, 0]
    assert audio.decode(path, max_channels=8).samples.shape == (2, tone().shape[-1])


def _flac_declaring(path: Path, total_samples: int) -> Path:
    """Rewrite the total length in a FLAC's STREAMINFO (0: unknown), as a crafted file would."""
    data = bytearray(path.read_bytes())
    field = int.from_bytes(data[21:26], "big")  # 4 bits of bits-per-sample, 36 of the length
    data[21:26] = ((field & ~((1 << 36) - 1)) | total_samples).to_bytes(5, "big")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("declared", "says"), [(RATE, 1.0), (0, 0.0)], ids=["lies", "says-nothing"]
)
def test_decoding_stops_at_the_duration_limit_whatever_the_header_says(
    declared: int, says: float, tmp_path: Path, opened: list[CountingContainer]
) -> None:
    path = write_audio(tmp_path / "long.flac", quiet_noise(30.0, RATE, 1), RATE, "flac")
    _flac_declaring(path, declared)
    assert audio.probe(path).duration == says  # the header's word: no limit is passed on it
    opened.clear()
    for check in (audio.validate, audio.decode):
        with pytest.raises(AudioTooLargeError, match=r"^long\.flac: longer than the limit"):
            check(path, max_seconds=2.0)
    # stopped within a frame of the limit (2 s and the 1 s of grace), not after 30 s
    assert [c.samples / RATE for c in opened] == [pytest.approx(3.0, abs=0.2)] * 2


@pytest.mark.parametrize(
    ("rate", "channels"), [(22050, 1), (48000, 2), (96000, 6), (384000, 8), (RATE, 2)]
)
def test_streamed_resampling_equals_one_shot_soxr(rate: int, channels: int, tmp_path: Path) -> None:
    # soxr's stream is exact: whatever the frame sizes, its output is bit for bit the one-shot
    # result (measured), so equality is asserted rather than a tolerance
    x = quiet_noise(2.5, rate, channels, seed=rate) + tone(2.5, rate, channels)
    path = write_audio(tmp_path / "in.flac", np.clip(x, -1, 1), rate, "flac")
    at_source = audio.decode(path, rate=None)
    assert at_source.rate == rate and at_source.samples.shape == (2, x.shape[-1])
    one_shot = audio.resample(at_source.samples, rate, RATE)
    streamed = audio.decode(path)
    assert streamed.rate == RATE and streamed.samples.dtype == np.float32
    np.testing.assert_array_equal(streamed.samples, one_shot)


def test_decoding_memory_does_not_grow_with_the_source_rate_or_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chunks of 64 Ki samples (0.5 MB) rather than 32 MiB, so 3 s of input can show the bound
    monkeypatch.setattr(audio, "CHUNK", 1 << 16, raising=False)
    seconds, rate = 3.0, 384_000
    path = write_audio(tmp_path / "hi.flac", quiet_noise(seconds, rate, 8), rate, "flac")
    one_copy_at_source_rate = 2 * int(seconds * rate) * 4  # stereo float32: 9.2 MB
    tracemalloc.start()
    try:
        decoded = audio.decode(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded.samples.shape == (2, int(seconds * RATE))  # 1.1 MB
    # streamed: the result, a chunk and a frame's blocks (2.6 MB measured); whole-file
    # decoding kept every block at the source rate, then joined them (18.5 MB measured)
    assert peak < one_copy_at_source_rate / 2
