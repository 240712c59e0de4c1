"""The bounded path for long tracks (``low_memory``): the mix and the stems on disk, released
behind the work, pieces of bounded size, the same samples as in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.engine import audio, buffers, separate
from demixer.engine.options import SeparationOptions, SessionConfig
from demixer.engine.registry import get_spec
from demixer.engine.spleeter.model import shared_spleeter


def _resident_bytes(array: np.ndarray) -> int:
    """Resident bytes of the mapping that holds ``array`` (from /proc/self/smaps)."""
    address = array.__array_interface__["data"][0]
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and ":" not in head:
            lo, hi = (int(x, 16) for x in head.split("-"))
            inside = lo <= address < hi
        elif inside and head == "Rss:":
            return int(line.split()[1]) * 1024
    raise AssertionError("no mapping holds the array")


def test_release_drops_a_piece_of_every_stem_and_keeps_its_samples() -> None:
    n = 1 << 20
    out = buffers.disk_array((3, 2, n))
    out[...] = np.arange(n, dtype=np.float32)
    piece = out[..., 1000 : n - 1000]  # rows not contiguous: one piece of every stem
    assert _resident_bytes(out) >= out.nbytes - (1 << 16)
    buffers.release(piece, 0, piece.shape[-1])
    assert _resident_bytes(out) < out.nbytes / 50
    np.testing.assert_array_equal(piece[2, 1], np.arange(1000, n - 1000, dtype=np.float32))


@pytest.mark.parametrize(("channels", "rate"), [(1, 44100), (2, 48000), (6, 96000)])
def test_decoding_to_disk_gives_the_same_samples(tmp_path: Path, channels: int, rate: int) -> None:
    path = tmp_path / "in.flac"
    rng = np.random.default_rng(channels)
    sf.write(path, 0.1 * rng.standard_normal((rate * 3, channels)), rate, subtype="PCM_16")
    in_memory = audio.decode(path).samples
    on_disk = audio.decode(path, on_disk=True).samples
    assert buffers.on_disk(on_disk) and not buffers.on_disk(in_memory)
    np.testing.assert_array_equal(on_disk, in_memory)


def test_two_stems_summed_on_disk_are_the_ones_summed_in_memory() -> None:
    rng = np.random.default_rng(3)
    n = 3 * audio.BLOCK + 17
    estimates = rng.standard_normal((4, 2, n)).astype(np.float32)
    names = ("drums", "bass", "other", "vocals")
    on_disk = buffers.disk_array(estimates.shape)
    on_disk[...] = estimates
    got = separate.select_stems(on_disk, names, "vocals", on_disk=True)
    assert buffers.on_disk(got["no_vocals"])
    expected = estimates[0] + estimates[1] + estimates[2]
    np.testing.assert_array_equal(got["no_vocals"], expected)
    np.testing.assert_array_equal(got["vocals"], estimates[3])


class _AllAtOnce:
    """A session that tells nothing early (a model family that finishes the track at once)."""

    def __init__(self) -> None:
        self.config = SessionConfig(model="spleeter")
        self.spec = get_spec("spleeter")
        self.sources, self.samplerate = self.spec.sources, self.spec.samplerate

    def warm_up(self) -> None:
        pass

    def separate(self, mix, options, *, progress=None, cancel=None, out=None, on_ready=None):
        out = np.zeros((2, *mix.shape), np.float32) if out is None else out
        out[0], out[1] = mix * 0.25, mix * 0.75
        return out


@pytest.mark.parametrize("low_memory", [False, True])
def test_a_session_that_tells_nothing_early_hands_over_bounded_pieces(
    tmp_path: Path, low_memory: bool
) -> None:
    path = tmp_path / "in.wav"
    sf.write(path, np.full((separate.LATE_PIECE * 2 + 500, 2), 0.5), 44100, subtype="FLOAT")
    seen: list[separate.Piece] = []
    options = SeparationOptions(model="spleeter", low_memory=low_memory)
    result = separate.separate_file(path, options, model=_AllAtOnce(), on_ready=seen.append)
    assert [(s.start, s.end) for s in seen] == [
        (0, separate.LATE_PIECE),
        (separate.LATE_PIECE, 2 * separate.LATE_PIECE),
        (2 * separate.LATE_PIECE, 2 * separate.LATE_PIECE + 500),
    ]
    assert buffers.on_disk(result.source.samples) == low_memory
    joined = np.concatenate([s.stems["accompaniment"] for s in seen], axis=-1)
    np.testing.assert_array_equal(joined, result.stems["accompaniment"])


@pytest.mark.model
def test_spleeter_hands_over_final_pieces_and_disk_changes_nothing() -> None:
    spleeter = shared_spleeter()
    rng = np.random.default_rng(5)
    mix = (0.1 * rng.standard_normal((2, 1_300_000))).astype(np.float32)  # three blocks
    in_memory = spleeter.separate(mix)
    on_disk_mix = buffers.disk_array(mix.shape)
    on_disk_mix[...] = mix
    pieces: list[tuple[int, int, np.ndarray]] = []
    out = spleeter.separate(
        on_disk_mix,
        out=buffers.disk_array(in_memory.shape),
        on_ready=lambda a, b, block: pieces.append((a, b, np.array(block))),
    )
    np.testing.assert_array_equal(out, in_memory)
    assert [a for a, _, _ in pieces] == [0] + [b for _, b, _ in pieces[:-1]]
    assert pieces[-1][1] == mix.shape[-1] and len(pieces) == 3
    np.testing.assert_array_equal(np.concatenate([s for *_, s in pieces], -1), in_memory)
