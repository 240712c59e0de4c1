"""A 6-stem job in a real browser against the real server and worker: a random-weight
htdemucs_6s checkpoint made with demucs' own classes and imported with ``demixer models import``
(the session fixture ``six_stem_import``) is offered by the upload form, separated by the worker
with the imported graph, and shown as six rows in the player; the zip holds six files and the
instrumental is the five stems that are not vocals.

This module runs a live app of its own whose models folder holds only that import (linked, not
copied), so the other browser tests keep the shared app and its warm-up.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demixer.engine.importer import manifest
from tests.e2e.conftest import generated_clip, separate_and_open, serving_models

pytestmark = [pytest.mark.e2e, pytest.mark.model]

MODEL = "htdemucs_6s"
# the model's sources in its own order, which is the order of the rows, the zip and the API
SIX = ("drums", "bass", "other", "vocals", "guitar", "piano")
RATE = 44100
SECONDS = 5.0


@pytest.fixture(scope="module")
def live_app(six_stem_import: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """`demixer serve` whose models folder holds the imported htdemucs_6s alone: other imports
    of the session (a bag of four) would only lengthen the worker's warm-up."""

    def fill(models: Path) -> None:
        (models / manifest.FOLDER).mkdir()
        (models / manifest.FOLDER / MODEL).symlink_to(manifest.folder(six_stem_import, MODEL))

    with serving_models(tmp_path_factory, "six-stems", fill) as app:
        yield app


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five seconds of generated music (one segment of the model)."""
    return generated_clip(tmp_path_factory.mktemp("six"), "six-part-groove", SECONDS, seed=8)


def read(data: bytes) -> np.ndarray:
    """A lossless file's samples: float64 (N, C)."""
    samples, rate = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    assert rate == RATE
    return samples


def test_a_six_stem_job_in_the_browser(
    page, player, sign_up, live_app, clip, screenshot_dir
) -> None:
    sign_up("hexa")

    # the built-in models are not installed on this app: the form offers the import alone
    offered = page.eval_on_selector_all("input[name='mode']", "els => els.map(e => e.value)")
    assert offered == [MODEL], offered
    page.set_input_files("input[type='file']", str(clip))
    choice = page.get_by_label(re.compile("6 stems: drums, bass, other, vocals, guitar, piano"))
    choice.check()
    separate_and_open(page)  # the job page turns into the finished page by itself

    # ---- the finished page: six rows, in the model's order, and a player holding six stems
    assert "6 stems" in page.text_content("[data-role='kicker']")
    rows = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.stem)")
    assert tuple(rows) == SIX
    labels = page.eval_on_selector_all(".stem[data-stem]", "rows => rows.map(r => r.dataset.label)")
    assert [label.lower() for label in labels] == list(SIX)
    assert page.locator(".stem[data-stem] canvas.wave").count() == 6
    assert player.evaluate("p => p.gains()") == dict.fromkeys(SIX, 1)
    assert abs(player.evaluate("p => p.duration()") - SECONDS) < 0.1
    page.click("[data-action='play']")
    player.wait_for("p => p.playing() && p.position() > 0.2")
    sources = player.evaluate("p => p.sources()")
    assert sorted(s["stem"] for s in sources) == sorted(SIX)
    assert len({(s["startTime"], s["offset"]) for s in sources}) == 1, sources  # one clock
    page.click(".stem[data-stem='guitar'] [data-action='solo']")
    assert player.evaluate("p => p.gains()") == {n: int(n == "guitar") for n in SIX}
    page.click(".stem[data-stem='guitar'] [data-action='solo']")
    page.click("[data-action='play']")  # pause
    page.screenshot(path=str(screenshot_dir / "09-result-six-stems.png"), full_page=True)

    # ---- the zip: six FLAC masters, one per stem --------------------------------------------
    with page.expect_download() as info:
        page.locator(".player-zip").click()
    archive = zipfile.ZipFile(info.value.path())
    members = [n for n in archive.namelist() if not n.endswith("/")]
    assert len(members) == 6, members
    stems: dict[str, np.ndarray] = {}
    for name in members:
        stem = re.search(r"\((\w+)\)\.flac$", name)
        assert stem is not None, name
        stems[stem.group(1)] = read(archive.read(name))
    assert set(stems) == set(SIX)
    for name, samples in stems.items():
        assert abs(samples.shape[0] - SECONDS * RATE) <= RATE * 0.01, (name, samples.shape)
        assert np.abs(samples).max() > 1e-4, f"{name} is silent"

    # ---- the instrumental: the five stems that are not vocals, summed ------------------------
    with page.expect_download() as info:  # rendered by the worker: the link asks, polls, gets
        page.locator(".exports a", has_text="Instrumental").click()
    instrumental = read(Path(info.value.path()).read_bytes())
    summed = sum(stems[name].astype(np.float32) for name in SIX if name != "vocals")
    assert isinstance(summed, np.ndarray)
    # rescaled only where the sum would clip (as the server's mix does); both files are 24-bit
    scale = np.float32(1.0 / max(1.01 * float(np.abs(summed).max()), 1.0))
    expected = (summed * scale).astype(np.float64)
    assert instrumental.shape == expected.shape
    assert np.abs(instrumental - expected).max() < 4 / 2**23
    with_vocals = expected + stems["vocals"] * float(scale)
    assert np.abs(instrumental - with_vocals).max() > 1e-3  # the vocals are left out
    assert page.errors == []
