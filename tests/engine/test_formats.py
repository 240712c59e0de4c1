"""The output-format table (``demixer/engine/formats.py``) is the one place formats are listed:
every row encodes and decodes back through the engine's encoder with the options it declares,
and nothing else in the package names an output format by hand."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from demixer.engine import audio, formats
from demixer.engine.cli import _parser
from demixer.engine.errors import AudioEncodeError

RATE = 44100
PACKAGE = Path(__file__).resolve().parents[2] / "demixer"
# the table itself; and the decoder's input kinds that the tests and benches write (wav16,
# ogg, opus, ...: what the product accepts, a different list from what it writes)
EXEMPT = {PACKAGE / "engine" / "formats.py", PACKAGE / "testing" / "files.py"}


def tone(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    left = 0.4 * np.sin(2 * np.pi * 440 * t)
    right = 0.3 * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right]).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[-1], b.shape[-1])
    return float(np.corrcoef(a[..., :n].ravel(), b[..., :n].ravel())[0, 1])


def _encodings() -> list[tuple[str, int]]:
    """Every (format, bit depth) the table declares; a lossy format once, at its bitrate."""
    return [
        (fmt.name, depth) for fmt in formats.FORMATS.values() for depth in (fmt.bit_depths or (0,))
    ]


@pytest.mark.parametrize(("name", "depth"), _encodings())
def test_every_row_round_trips_through_the_encoder_with_its_options(
    name: str, depth: int, tmp_path: Path
) -> None:
    fmt = formats.get(name)
    x = tone()
    path = audio.encode(x, tmp_path / f"stem{fmt.extension}", fmt=name, bit_depth=depth or 16)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        if fmt.writer == "soundfile":
            assert sf.info(path).format == fmt.container
            # written at the declared depth: quantised to half its step at most (float: exact)
            back, _ = sf.read(path, dtype="float32", always_2d=True)
            assert np.abs(back.T - x).max() <= 2.0 ** -(min(depth, 24) - 1)
        else:  # written by FFmpeg's encoder into the declared container, at the default bitrate
            assert container.format.name == fmt.container
            assert fmt.codec.removeprefix("lib").startswith(stream.codec_context.name[:3])
            assert stream.bit_rate == pytest.approx(fmt.default_kbps * 1000, rel=0.05)
    decoded = audio.decode(path)
    assert decoded.rate == RATE and decoded.samples.shape[0] == 2
    assert correlation(decoded.samples, x) > (0.9999 if fmt.lossless else 0.98)


def test_an_unknown_format_is_refused_in_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(AudioEncodeError, match="use wav, flac or mp3"):
        audio.encode(tone(), tmp_path / "stem.ogg", fmt="ogg")
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a partial file


def test_the_cli_offers_the_table() -> None:
    separate = next(
        action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction)
    ).choices["separate"]
    options = {a.dest: a for a in separate._actions}
    assert tuple(options["format"].choices) == formats.NAMES
    assert set(options["bit_depth"].choices) == {
        d for fmt in formats.FORMATS.values() for d in fmt.bit_depths
    }


# ---- nothing else lists formats ---------------------------------------------------------------

NAMES = "|".join(formats.NAMES)
# a format's name as a word or an extension ("mp3", ".flac", "<slug:name>.mp3"), not "wav16"
NAME = re.compile(rf"(?<![\w-])\.?({NAMES})(?![\w-])")
MIME = re.compile("|".join(re.escape(fmt.mime) for fmt in formats.FORMATS.values()))
LABELS = {fmt.label for fmt in formats.FORMATS.values()}


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def hard_coded(source: str) -> list[tuple[int, str]]:
    """The string literals of Python ``source`` (docstrings aside: prose) that name an output
    format, its extension, label or MIME type."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in prose
        and (node.value in LABELS or NAME.search(node.value) or MIME.search(node.value))
    ]


def test_the_scan_finds_what_it_looks_for() -> None:
    """The scanner itself: each way the package used to list formats is caught."""
    caught = [
        'FORMATS = ("wav", "flac", "mp3")',
        'if fmt == "flac":\n    pass',
        'CONTENT_TYPES = {".mp3": "audio/mpeg"}',
        'path("preview/<slug:name>.mp3", view)',
        'name = f"{stem}.flac"',
        'choices = [("mp3", "MP3")]',
    ]
    missed = ['"""A stem as wav, flac or mp3."""', 'KINDS = ("wav16", "wavfloat")', "x = 1"]
    assert all(hard_coded(code) for code in caught)
    assert not any(hard_coded(code) for code in missed)


def test_no_module_but_the_table_lists_output_formats() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {value!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in EXEMPT and "migrations" not in path.parts
        for line, value in hard_coded(path.read_text())
    ]
    assert found == [], "read demixer.engine.formats instead:\n" + "\n".join(found)


def test_no_template_or_script_lists_output_formats() -> None:
    """Choices, links and MIME types on the pages come from the view's context (the table);
    prose for people ("download each one as WAV, FLAC or MP3") is upper case and allowed."""
    pages = [*PACKAGE.rglob("templates/**/*.html"), *PACKAGE.rglob("static/**/*.js")]
    found = [
        f"{path.relative_to(PACKAGE.parent)}: {match.group(0)!r}"
        for path in sorted(pages)
        for match in [*NAME.finditer(path.read_text()), *MIME.finditer(path.read_text())]
    ]
    assert found == [], "\n".join(found)


def test_mp3_takes_no_rate_above_48_khz(tmp_path) -> None:
    """libmp3lame refuses 88.2/96 kHz: the table says so and the encoder refuses it in one line,
    before writing anything."""
    assert formats.MP3.takes_rate(48000) and not formats.MP3.takes_rate(96000)
    assert formats.WAV.takes_rate(96000) and formats.FLAC.takes_rate(192000)
    with pytest.raises(formats.UnknownFormat, match="at most 48000 Hz"):
        audio.encode(np.zeros((2, 100), np.float32), tmp_path / "x.mp3", rate=96000, fmt="mp3")
    assert list(tmp_path.iterdir()) == []
